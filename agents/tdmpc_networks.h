// TD-MPC's networks and its whole resumable state as torch modules (Hansen et al. 2022,
// TD-MPC2 2024): an encoder of observations into a simplex-normalised latent, latent
// dynamics, a reward head, a termination head (TD-MPC2's, for episodic tasks), twin Q heads with Polyak-averaged targets and a tanh-squashed
// Gaussian policy prior, all over the latent (TdmpcNetworks); a replay of transitions that
// knows where episodes start, so training sequences never cross one (SequenceReplay); and
// the collector's state (CollectorState from sac_networks.h). Actions are in normalised
// units [-1, 1] (env bounds map to them).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "agents/sac_networks.h"

namespace darkmatter::agents {

struct TdmpcNetworkOptions {
  int64_t obs_dim = 4;   // observation size
  int64_t act_dim = 1;   // action size
  int64_t latent = 64;   // latent size (a multiple of kSimplexGroup)
  int64_t hidden = 256;  // hidden units of every MLP (LayerNorm + Mish layers)
};

// Latent values are softmax-normalised in groups of this many (TD-MPC2's SimNorm).
constexpr int64_t kSimplexGroup = 8;

class TdmpcNetworksImpl : public torch::nn::Module {
 public:
  // Networks for these sizes; bounds (act_dim each) set the env action scaling. Targets start
  // as copies of the Q heads.
  TdmpcNetworksImpl(const TdmpcNetworkOptions& options, std::span<const double> action_low,
                    std::span<const double> action_high);

  // Latents (B x latent) of observations (B x obs_dim).
  torch::Tensor Encode(const torch::Tensor& obs);
  // Next latents (B x latent) after normalised actions (B x act_dim).
  torch::Tensor Next(const torch::Tensor& z, const torch::Tensor& actions);
  // Predicted rewards (B).
  torch::Tensor Reward(const torch::Tensor& z, const torch::Tensor& actions);
  // Logits (B) of the probability that the episode terminates on this step.
  torch::Tensor Termination(const torch::Tensor& z, const torch::Tensor& actions);
  // Q values (B) of head k (0, 1); TargetQ of its Polyak-averaged copy.
  torch::Tensor Q(int k, const torch::Tensor& z, const torch::Tensor& actions);
  torch::Tensor TargetQ(int k, const torch::Tensor& z, const torch::Tensor& actions);
  // Squashed policy sample tanh(mean + std * noise) (B x act_dim) and its log density (B).
  std::pair<torch::Tensor, torch::Tensor> Sample(const torch::Tensor& z, const torch::Tensor& noise);
  // Deterministic policy action tanh(mean) (B x act_dim).
  torch::Tensor MeanAction(const torch::Tensor& z);
  // target <- tau * head + (1 - tau) * target, for both Q heads.
  void UpdateTargets(double tau);
  // Normalised actions -> env units.
  torch::Tensor ToEnv(const torch::Tensor& actions) const;

  // Encoder, dynamics, reward, termination and Q heads (the model loss trains these).
  std::vector<torch::Tensor> ModelParameters() const;
  // The policy prior (its own loss and optimiser).
  std::vector<torch::Tensor> PolicyParameters() const;
  const TdmpcNetworkOptions& options() const { return options_; }

  torch::Tensor q_scale;  // () running scale of |Q| that normalises the policy loss

 private:
  TdmpcNetworkOptions options_;
  torch::nn::Sequential encoder_{nullptr}, dynamics_{nullptr}, reward_{nullptr},
      termination_{nullptr}, policy_{nullptr};
  torch::nn::Sequential q_[2] = {torch::nn::Sequential{nullptr}, torch::nn::Sequential{nullptr}};
  torch::nn::Sequential q_target_[2] = {torch::nn::Sequential{nullptr},
                                        torch::nn::Sequential{nullptr}};
  torch::Tensor action_center_, action_scale_;  // (act_dim) buffers
};
TORCH_MODULE(TdmpcNetworks);

// Transitions of one env in preallocated tensors (a ring of `capacity` rows, float32, CPU);
// `first` marks the rows that start an episode.
class SequenceReplayImpl : public torch::nn::Module {
 public:
  SequenceReplayImpl(int64_t capacity, int64_t obs_dim, int64_t act_dim);
  // Appends one transition (overwriting the oldest when full).
  void Add(std::span<const double> obs, std::span<const float> action, double reward,
           std::span<const double> next_obs, bool terminated, bool first);
  // Rows held (<= capacity).
  int64_t Size() const;
  // Physical row of the chronological index c (0 = oldest held).
  int64_t Row(int64_t c) const;
  // True when rows Row(c) .. Row(c + length - 1) are consecutive steps of one episode.
  bool IsSequence(int64_t c, int64_t length) const;

  torch::Tensor obs, next_obs;  // (capacity x obs_dim)
  torch::Tensor actions;        // (capacity x act_dim) normalised units
  torch::Tensor rewards;        // (capacity) raw rewards
  torch::Tensor terminated;     // (capacity) 1 where the episode terminated (no bootstrap)
  torch::Tensor first;          // (capacity) int64: 1 where the row starts an episode
  torch::Tensor added;          // () int64: transitions added so far

 private:
  int64_t capacity_, obs_dim_, act_dim_;
};
TORCH_MODULE(SequenceReplay);

// Everything a TD-MPC checkpoint holds, under "nets.", "replay." and "collector."; `plan_mean`
// is the planner's warm start (horizon x act_dim).
class TdmpcStateImpl : public torch::nn::Module {
 public:
  TdmpcStateImpl(const TdmpcNetworkOptions& options, std::span<const double> action_low,
                 std::span<const double> action_high, int64_t capacity, int64_t state_size,
                 int64_t horizon);
  TdmpcNetworks nets{nullptr};
  SequenceReplay replay{nullptr};
  CollectorState collector{nullptr};
  torch::Tensor plan_mean;  // (horizon x act_dim) float32
};
TORCH_MODULE(TdmpcState);

}  // namespace darkmatter::agents
