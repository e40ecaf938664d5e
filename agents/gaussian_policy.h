// GaussianPolicy: an MLP Gaussian policy (mean, state-independent log std) and an MLP value
// function over normalised inputs, with running (Welford) input normalisation whose count,
// mean and variance are buffers, so checkpoints carry them. The policy acts in a normalised
// action space: env action = action_center + action_scale * a (bounds map to [-1, 1]).
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace darkmatter::agents {

// The affine map from [-1, 1] onto the action bounds, per dimension: (centre, half-range),
// float32 (act_dim); a dimension without finite bounds keeps centre 0 and scale 1.
std::pair<torch::Tensor, torch::Tensor> ActionCenterScale(std::span<const double> low,
                                                          std::span<const double> high,
                                                          int64_t act_dim);

struct GaussianPolicyOptions {
  int64_t obs_dim = 4;         // input size (observation, or frozen feature size)
  int64_t act_dim = 1;         // action size
  int64_t hidden = 64;         // hidden units of both MLPs (two tanh layers each)
  double init_log_std = -0.5;  // initial log std (normalised action units)
};

class GaussianPolicyImpl : public torch::nn::Module {
 public:
  // Bounds (act_dim each) set the action scaling; infinite bounds map to center 0, scale 1.
  GaussianPolicyImpl(const GaussianPolicyOptions& options, std::span<const double> action_low,
                     std::span<const double> action_high);

  // Merges a batch of raw inputs (B x obs_dim) into the running mean and variance.
  void UpdateNormaliser(const torch::Tensor& inputs);
  // Sets the normaliser from a whole data set (B x obs_dim) at once.
  void FitNormaliser(const torch::Tensor& inputs);
  // (x - mean) / sqrt(var + 1e-8), clipped to [-10, 10], as float (B x obs_dim).
  torch::Tensor Normalise(const torch::Tensor& inputs) const;
  // Action mean in normalised action units (B x act_dim) of normalised inputs.
  torch::Tensor Mean(const torch::Tensor& normalised);
  // State value (B) of normalised inputs.
  torch::Tensor Value(const torch::Tensor& normalised);
  // Log density (B) of normalised-unit actions (B x act_dim) under N(mean, exp(log_std)^2).
  torch::Tensor LogProb(const torch::Tensor& mean, const torch::Tensor& actions) const;
  // Entropy of the Gaussian (scalar), summed over action dimensions.
  torch::Tensor Entropy() const;
  // Normalised-unit actions -> env units, and back.
  torch::Tensor ToEnv(const torch::Tensor& actions) const;
  torch::Tensor FromEnv(const torch::Tensor& env_actions) const;

  const GaussianPolicyOptions& options() const { return options_; }
  const torch::Tensor& log_std() const { return log_std_; }

 private:
  GaussianPolicyOptions options_;
  torch::nn::Sequential pi_{nullptr}, v_{nullptr};
  torch::Tensor log_std_;                       // (act_dim) parameter
  torch::Tensor obs_count_, obs_mean_, obs_var_;  // (), (obs_dim), (obs_dim) float64 buffers
  torch::Tensor action_center_, action_scale_;  // (act_dim) buffers
};
TORCH_MODULE(GaussianPolicy);

}  // namespace darkmatter::agents
