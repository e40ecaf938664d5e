#include "agents/sac_networks.h"

#include <cmath>

#include <torch/torch.h>

#include "agents/gaussian_policy.h"

namespace darkmatter::agents {
namespace {

constexpr double kLogStdMin = -5.0, kLogStdMax = 2.0;  // CleanRL's squashed log-std range
constexpr double kHalfLog2Pi = 0.9189385332046727;     // log(2 pi) / 2

// Linear -> ReLU -> Linear -> ReLU -> Linear (PyTorch's default initialisation).
torch::nn::Sequential Mlp(int64_t in, int64_t hidden, int64_t out) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ReLU(),
                               torch::nn::Linear(hidden, hidden), torch::nn::ReLU(),
                               torch::nn::Linear(hidden, out));
}

void CopyParameters(const torch::nn::Sequential& from, torch::nn::Sequential& to) {
  torch::NoGradGuard no_grad;
  const auto source = from->parameters();
  auto target = to->parameters();
  for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
}

}  // namespace

SacNetworksImpl::SacNetworksImpl(const SacNetworkOptions& o, std::span<const double> action_low,
                                 std::span<const double> action_high)
    : options_(o) {
  actor_ = register_module("actor", Mlp(o.obs_dim, o.hidden, 2 * o.act_dim));
  for (int k = 0; k < 2; ++k) {
    q_[k] = register_module("q" + std::to_string(k + 1), Mlp(o.obs_dim + o.act_dim, o.hidden, 1));
    q_target_[k] = register_module("q" + std::to_string(k + 1) + "_target",
                                   Mlp(o.obs_dim + o.act_dim, o.hidden, 1));
    CopyParameters(q_[k], q_target_[k]);
    for (auto& p : q_target_[k]->parameters()) p.set_requires_grad(false);
  }
  log_alpha_ = register_parameter(
      "log_alpha", torch::full({}, std::log(o.init_alpha), torch::kFloat32));
  auto [center, scale] = ActionCenterScale(action_low, action_high, o.act_dim);
  action_center_ = register_buffer("action_center", center);
  action_scale_ = register_buffer("action_scale", scale);
}

std::pair<torch::Tensor, torch::Tensor> SacNetworksImpl::Sample(const torch::Tensor& obs,
                                                                const torch::Tensor& noise) {
  const auto out = actor_->forward(obs);
  const auto mean = out.slice(1, 0, options_.act_dim);
  const auto squashed = torch::tanh(out.slice(1, options_.act_dim, 2 * options_.act_dim));
  const auto log_std = kLogStdMin + 0.5 * (kLogStdMax - kLogStdMin) * (squashed + 1.0);
  const auto pre_tanh = mean + torch::exp(log_std) * noise;
  const auto action = torch::tanh(pre_tanh);
  const auto log_prob = (-0.5 * noise * noise - log_std - kHalfLog2Pi -
                         torch::log(1.0 - action * action + 1e-6))
                            .sum(-1);
  return {action, log_prob};
}

torch::Tensor SacNetworksImpl::MeanAction(const torch::Tensor& obs) {
  return torch::tanh(actor_->forward(obs).slice(1, 0, options_.act_dim));
}

torch::Tensor SacNetworksImpl::Q(int k, const torch::Tensor& obs, const torch::Tensor& actions) {
  return q_[k]->forward(torch::cat({obs, actions}, 1)).squeeze(-1);
}

torch::Tensor SacNetworksImpl::TargetQ(int k, const torch::Tensor& obs,
                                       const torch::Tensor& actions) {
  return q_target_[k]->forward(torch::cat({obs, actions}, 1)).squeeze(-1);
}

void SacNetworksImpl::UpdateTargets(double tau) {
  torch::NoGradGuard no_grad;
  for (int k = 0; k < 2; ++k) {
    const auto source = q_[k]->parameters();
    auto target = q_target_[k]->parameters();
    for (size_t i = 0; i < source.size(); ++i) target[i].mul_(1.0 - tau).add_(source[i], tau);
  }
}

torch::Tensor SacNetworksImpl::ToEnv(const torch::Tensor& actions) const {
  return action_center_ + action_scale_ * actions;
}

std::vector<torch::Tensor> SacNetworksImpl::ActorParameters() const {
  return actor_->parameters();
}

std::vector<torch::Tensor> SacNetworksImpl::CriticParameters() const {
  auto params = q_[0]->parameters();
  for (const auto& p : q_[1]->parameters()) params.push_back(p);
  return params;
}

ReplayBufferImpl::ReplayBufferImpl(int64_t capacity, int64_t obs_dim, int64_t act_dim)
    : capacity_(capacity), obs_dim_(obs_dim), act_dim_(act_dim) {
  obs = register_buffer("obs", torch::zeros({capacity, obs_dim}, torch::kFloat32));
  next_obs = register_buffer("next_obs", torch::zeros({capacity, obs_dim}, torch::kFloat32));
  actions = register_buffer("actions", torch::zeros({capacity, act_dim}, torch::kFloat32));
  rewards = register_buffer("rewards", torch::zeros({capacity}, torch::kFloat32));
  terminated = register_buffer("terminated", torch::zeros({capacity}, torch::kFloat32));
  added = register_buffer("added", torch::zeros({}, torch::kInt64));
}

void ReplayBufferImpl::Add(std::span<const double> o, std::span<const float> action,
                           double reward, std::span<const double> next, bool ended) {
  int64_t* count = added.data_ptr<int64_t>();
  const int64_t row = *count % capacity_;
  float* obs_row = obs.data_ptr<float>() + row * obs_dim_;
  float* next_row = next_obs.data_ptr<float>() + row * obs_dim_;
  for (int64_t j = 0; j < obs_dim_; ++j) {
    obs_row[j] = static_cast<float>(o[j]);
    next_row[j] = static_cast<float>(next[j]);
  }
  std::copy_n(action.data(), act_dim_, actions.data_ptr<float>() + row * act_dim_);
  rewards.data_ptr<float>()[row] = static_cast<float>(reward);
  terminated.data_ptr<float>()[row] = ended ? 1.0f : 0.0f;
  ++*count;
}

int64_t ReplayBufferImpl::Size() const {
  return std::min(added.item<int64_t>(), capacity_);
}

CollectorStateImpl::CollectorStateImpl(int64_t n, int64_t state_size, int64_t obs_dim) {
  physics = register_buffer("physics", torch::zeros({n, state_size}, torch::kFloat64));
  rng = register_buffer("rng", torch::zeros({n, 4}, torch::kInt64));
  elapsed = register_buffer("elapsed", torch::zeros({n}, torch::kInt64));
  needs_reset = register_buffer("needs_reset", torch::zeros({n}, torch::kInt64));
  current_obs = register_buffer("current_obs", torch::zeros({n, obs_dim}, torch::kFloat64));
  episode_return = register_buffer("episode_return", torch::zeros({n}, torch::kFloat64));
  episode_length = register_buffer("episode_length", torch::zeros({n}, torch::kInt64));
  episode_success = register_buffer("episode_success", torch::zeros({n}, torch::kInt64));
  update_credit = register_buffer("update_credit", torch::zeros({}, torch::kFloat64));
  updates = register_buffer("updates", torch::zeros({}, torch::kInt64));
}

SacStateImpl::SacStateImpl(const SacNetworkOptions& options, std::span<const double> action_low,
                           std::span<const double> action_high, int64_t capacity,
                           int64_t num_envs, int64_t state_size) {
  nets = register_module("nets", SacNetworks(options, action_low, action_high));
  replay = register_module("replay", ReplayBuffer(capacity, options.obs_dim, options.act_dim));
  collector = register_module("collector", CollectorState(num_envs, state_size, options.obs_dim));
}

}  // namespace darkmatter::agents
