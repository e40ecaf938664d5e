#include "agents/gaussian_policy.h"

#include <cmath>

#include <torch/torch.h>

namespace darkmatter::agents {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;  // log(2 pi)

// Linear -> tanh -> Linear -> tanh -> Linear, orthogonally initialised (gain sqrt 2 for the
// hidden layers, `out_gain` for the output layer), zero biases.
torch::nn::Sequential Mlp(int64_t in, int64_t hidden, int64_t out, double out_gain) {
  torch::nn::Sequential mlp(torch::nn::Linear(in, hidden), torch::nn::Tanh(),
                            torch::nn::Linear(hidden, hidden), torch::nn::Tanh(),
                            torch::nn::Linear(hidden, out));
  torch::NoGradGuard no_grad;
  const double gains[] = {std::sqrt(2.0), std::sqrt(2.0), out_gain};
  int k = 0;
  for (auto& module : mlp->children()) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      torch::nn::init::orthogonal_(linear->weight, gains[k++]);
      linear->bias.zero_();
    }
  }
  return mlp;
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> ActionCenterScale(std::span<const double> action_low,
                                                          std::span<const double> action_high,
                                                          int64_t act_dim) {
  auto center = torch::zeros({act_dim}, torch::kFloat32);
  auto scale = torch::ones({act_dim}, torch::kFloat32);
  for (int64_t i = 0; i < act_dim; ++i) {
    const double low = i < static_cast<int64_t>(action_low.size()) ? action_low[i] : -INFINITY;
    const double high = i < static_cast<int64_t>(action_high.size()) ? action_high[i] : INFINITY;
    if (std::isfinite(low) && std::isfinite(high) && high > low) {
      center[i] = 0.5 * (low + high);
      scale[i] = 0.5 * (high - low);
    }
  }
  return {center, scale};
}

GaussianPolicyImpl::GaussianPolicyImpl(const GaussianPolicyOptions& options,
                                       std::span<const double> action_low,
                                       std::span<const double> action_high)
    : options_(options) {
  pi_ = register_module("pi", Mlp(options.obs_dim, options.hidden, options.act_dim, 0.01));
  v_ = register_module("v", Mlp(options.obs_dim, options.hidden, 1, 1.0));
  log_std_ = register_parameter(
      "log_std", torch::full({options.act_dim}, options.init_log_std, torch::kFloat32));
  obs_count_ = register_buffer("obs_count", torch::zeros({}, torch::kFloat64));
  obs_mean_ = register_buffer("obs_mean", torch::zeros({options.obs_dim}, torch::kFloat64));
  obs_var_ = register_buffer("obs_var", torch::ones({options.obs_dim}, torch::kFloat64));
  auto [center, scale] = ActionCenterScale(action_low, action_high, options.act_dim);
  action_center_ = register_buffer("action_center", center);
  action_scale_ = register_buffer("action_scale", scale);
}

void GaussianPolicyImpl::UpdateNormaliser(const torch::Tensor& inputs) {
  torch::NoGradGuard no_grad;
  const auto x = inputs.to(obs_mean_.device(), torch::kFloat64).reshape({-1, options_.obs_dim});
  const double n_b = static_cast<double>(x.size(0));
  if (n_b == 0) return;
  const auto mean_b = x.mean(0);
  const auto var_b = x.var(0, /*unbiased=*/false);
  const double n_a = obs_count_.item<double>();
  const double total = n_a + n_b;
  const auto delta = mean_b - obs_mean_;
  const auto m2 = obs_var_ * n_a + var_b * n_b + delta * delta * (n_a * n_b / total);
  obs_mean_.add_(delta * (n_b / total));
  obs_var_.copy_(m2 / total);
  obs_count_.fill_(total);
}

void GaussianPolicyImpl::FitNormaliser(const torch::Tensor& inputs) {
  torch::NoGradGuard no_grad;
  obs_count_.zero_();
  obs_mean_.zero_();
  obs_var_.fill_(1.0);
  UpdateNormaliser(inputs);
}

torch::Tensor GaussianPolicyImpl::Normalise(const torch::Tensor& inputs) const {
  const auto x = inputs.to(obs_mean_.device(), torch::kFloat64);
  return ((x - obs_mean_) / torch::sqrt(obs_var_ + 1e-8)).clamp(-10.0, 10.0).to(torch::kFloat32);
}

torch::Tensor GaussianPolicyImpl::Mean(const torch::Tensor& normalised) {
  return pi_->forward(normalised);
}

torch::Tensor GaussianPolicyImpl::Value(const torch::Tensor& normalised) {
  return v_->forward(normalised).squeeze(-1);
}

torch::Tensor GaussianPolicyImpl::LogProb(const torch::Tensor& mean,
                                          const torch::Tensor& actions) const {
  const auto z = (actions - mean) * torch::exp(-log_std_);
  return (-0.5 * z * z - log_std_ - 0.5 * kLog2Pi).sum(-1);
}

torch::Tensor GaussianPolicyImpl::Entropy() const {
  return (log_std_ + 0.5 * (kLog2Pi + 1.0)).sum();
}

torch::Tensor GaussianPolicyImpl::ToEnv(const torch::Tensor& actions) const {
  return action_center_ + action_scale_ * actions;
}

torch::Tensor GaussianPolicyImpl::FromEnv(const torch::Tensor& env_actions) const {
  return (env_actions.to(action_center_.device(), torch::kFloat32) - action_center_) /
         action_scale_;
}

}  // namespace darkmatter::agents
