// SAC's networks and its whole resumable state as torch modules: a tanh-squashed Gaussian actor,
// twin Q critics with Polyak-averaged targets and the entropy temperature (SacNetworks); the
// replay buffer in preallocated tensors (ReplayBuffer); and the collector's envs, observations
// and running episode statistics (CollectorState), so that one strict checkpoint resumes a run
// bit-identically. Actions are in normalised units [-1, 1] (env bounds map to them).
#pragma once

#include <cstdint>
#include <span>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace darkmatter::agents {

struct SacNetworkOptions {
  int64_t obs_dim = 4;  // observation size
  int64_t act_dim = 1;  // action size
  int64_t hidden = 256; // hidden units of every MLP (two ReLU layers each)
  double init_alpha = 1.0;  // initial entropy temperature
};

class SacNetworksImpl : public torch::nn::Module {
 public:
  // Networks for these sizes; bounds (act_dim each) set the env action scaling (infinite
  // bounds map to center 0, scale 1). Targets start as copies of the critics.
  SacNetworksImpl(const SacNetworkOptions& options, std::span<const double> action_low,
                  std::span<const double> action_high);

  // Squashed sample: actions tanh(mean + std * noise) (B x act_dim) and their log density (B)
  // for observations (B x obs_dim) and standard normal noise (B x act_dim).
  std::pair<torch::Tensor, torch::Tensor> Sample(const torch::Tensor& obs,
                                                 const torch::Tensor& noise);
  // Deterministic action tanh(mean) (B x act_dim), normalised units.
  torch::Tensor MeanAction(const torch::Tensor& obs);
  // Q values (B) of critic k (0, 1) for observations and normalised actions.
  torch::Tensor Q(int k, const torch::Tensor& obs, const torch::Tensor& actions);
  // Q values (B) of target critic k.
  torch::Tensor TargetQ(int k, const torch::Tensor& obs, const torch::Tensor& actions);
  // target <- tau * critic + (1 - tau) * target, for both critics.
  void UpdateTargets(double tau);
  // Normalised actions -> env units.
  torch::Tensor ToEnv(const torch::Tensor& actions) const;

  std::vector<torch::Tensor> ActorParameters() const;
  std::vector<torch::Tensor> CriticParameters() const;
  const torch::Tensor& log_alpha() const { return log_alpha_; }
  const SacNetworkOptions& options() const { return options_; }

 private:
  SacNetworkOptions options_;
  torch::nn::Sequential actor_{nullptr};  // obs -> (mean, log std) (2 x act_dim)
  torch::nn::Sequential q_[2] = {torch::nn::Sequential{nullptr}, torch::nn::Sequential{nullptr}};
  torch::nn::Sequential q_target_[2] = {torch::nn::Sequential{nullptr},
                                        torch::nn::Sequential{nullptr}};
  torch::Tensor log_alpha_;                     // () parameter
  torch::Tensor action_center_, action_scale_;  // (act_dim) buffers
};
TORCH_MODULE(SacNetworks);

// Transitions in preallocated tensors (a ring of `capacity` rows, float32 on the CPU).
class ReplayBufferImpl : public torch::nn::Module {
 public:
  ReplayBufferImpl(int64_t capacity, int64_t obs_dim, int64_t act_dim);
  // Appends one transition (overwriting the oldest when full).
  void Add(std::span<const double> obs, std::span<const float> action, double reward,
           std::span<const double> next_obs, bool terminated);
  // Rows held (<= capacity).
  int64_t Size() const;
  int64_t Capacity() const { return capacity_; }

  torch::Tensor obs, next_obs;  // (capacity x obs_dim)
  torch::Tensor actions;        // (capacity x act_dim) normalised units
  torch::Tensor rewards;        // (capacity) raw rewards
  torch::Tensor terminated;     // (capacity) 1 where the episode terminated (no bootstrap)
  torch::Tensor added;          // () int64: transitions added so far

 private:
  int64_t capacity_, obs_dim_, act_dim_;
};
TORCH_MODULE(ReplayBuffer);

// What the collector needs to continue exactly: each env's full state, the current raw
// observations and the running episode statistics (CPU buffers).
class CollectorStateImpl : public torch::nn::Module {
 public:
  CollectorStateImpl(int64_t num_envs, int64_t state_size, int64_t obs_dim);

  torch::Tensor physics;         // (N x state_size) float64: EnvState::physics
  torch::Tensor rng;             // (N x 4) int64: EnvState::rng (bit copies)
  torch::Tensor elapsed;         // (N) int64: EnvState::elapsed_steps
  torch::Tensor needs_reset;     // (N) int64: EnvState::needs_reset
  torch::Tensor current_obs;     // (N x obs_dim) float64: last observations
  torch::Tensor episode_return;  // (N) float64: running undiscounted return
  torch::Tensor episode_length;  // (N) int64: running control steps
  torch::Tensor episode_success; // (N) int64: info "success" seen this episode
  torch::Tensor update_credit;   // () float64: gradient updates owed (fractional UTD)
  torch::Tensor updates;         // () int64: gradient updates done
};
TORCH_MODULE(CollectorState);

// Everything a SAC checkpoint holds, under "nets.", "replay." and "collector.".
class SacStateImpl : public torch::nn::Module {
 public:
  SacStateImpl(const SacNetworkOptions& options, std::span<const double> action_low,
               std::span<const double> action_high, int64_t capacity, int64_t num_envs,
               int64_t state_size);
  SacNetworks nets{nullptr};
  ReplayBuffer replay{nullptr};
  CollectorState collector{nullptr};
};
TORCH_MODULE(SacState);

}  // namespace darkmatter::agents
