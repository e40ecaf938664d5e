#include "agents/tdmpc_networks.h"

#include <torch/torch.h>

#include "agents/gaussian_policy.h"
#include "sim/error.h"

namespace darkmatter::agents {
namespace {

constexpr double kLogStdMin = -5.0, kLogStdMax = 2.0;  // squashed log-std range (TD-MPC2)
constexpr double kHalfLog2Pi = 0.9189385332046727;     // log(2 pi) / 2

// Linear -> LayerNorm -> Mish, TD-MPC2's hidden layer.
void AddLayer(torch::nn::Sequential& net, int64_t in, int64_t out) {
  net->push_back(torch::nn::Linear(in, out));
  net->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({out})));
  net->push_back(torch::nn::Mish());
}

// `layers` hidden layers of `hidden` units, then a linear output of `out`.
torch::nn::Sequential Mlp(int64_t in, int64_t hidden, int64_t out, int layers) {
  torch::nn::Sequential net;
  for (int k = 0; k < layers; ++k) AddLayer(net, k == 0 ? in : hidden, hidden);
  net->push_back(torch::nn::Linear(hidden, out));
  return net;
}

// Softmax over consecutive groups of kSimplexGroup values (B x latent).
torch::Tensor SimplexNorm(const torch::Tensor& x) {
  const auto shape = x.sizes().vec();
  return torch::softmax(x.view({-1, kSimplexGroup}), -1).view(shape);
}

void CopyParameters(const torch::nn::Sequential& from, torch::nn::Sequential& to) {
  torch::NoGradGuard no_grad;
  const auto source = from->parameters();
  auto target = to->parameters();
  for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
}

void Append(std::vector<torch::Tensor>* out, const torch::nn::Sequential& net) {
  for (const auto& p : net->parameters()) out->push_back(p);
}

}  // namespace

TdmpcNetworksImpl::TdmpcNetworksImpl(const TdmpcNetworkOptions& o,
                                     std::span<const double> action_low,
                                     std::span<const double> action_high)
    : options_(o) {
  if (o.latent < kSimplexGroup || o.latent % kSimplexGroup != 0) {
    throw sim::BadInput("setting tdmpc.latent=" + std::to_string(o.latent) +
                        ": must be a positive multiple of " + std::to_string(kSimplexGroup));
  }
  const int64_t za = o.latent + o.act_dim;
  encoder_ = register_module("encoder", Mlp(o.obs_dim, o.hidden, o.latent, 1));
  dynamics_ = register_module("dynamics", Mlp(za, o.hidden, o.latent, 2));
  reward_ = register_module("reward", Mlp(za, o.hidden, 1, 2));
  termination_ = register_module("termination", Mlp(za, o.hidden, 1, 2));
  policy_ = register_module("policy", Mlp(o.latent, o.hidden, 2 * o.act_dim, 2));
  for (int k = 0; k < 2; ++k) {
    q_[k] = register_module("q" + std::to_string(k + 1), Mlp(za, o.hidden, 1, 2));
    q_target_[k] = register_module("q" + std::to_string(k + 1) + "_target", Mlp(za, o.hidden, 1, 2));
    CopyParameters(q_[k], q_target_[k]);
    for (auto& p : q_target_[k]->parameters()) p.set_requires_grad(false);
  }
  q_scale = register_buffer("q_scale", torch::ones({}, torch::kFloat32));
  auto [center, scale] = ActionCenterScale(action_low, action_high, o.act_dim);
  action_center_ = register_buffer("action_center", center);
  action_scale_ = register_buffer("action_scale", scale);
}

torch::Tensor TdmpcNetworksImpl::Encode(const torch::Tensor& obs) {
  return SimplexNorm(encoder_->forward(obs));
}

torch::Tensor TdmpcNetworksImpl::Next(const torch::Tensor& z, const torch::Tensor& actions) {
  return SimplexNorm(dynamics_->forward(torch::cat({z, actions}, -1)));
}

torch::Tensor TdmpcNetworksImpl::Reward(const torch::Tensor& z, const torch::Tensor& actions) {
  return reward_->forward(torch::cat({z, actions}, -1)).squeeze(-1);
}

torch::Tensor TdmpcNetworksImpl::Termination(const torch::Tensor& z,
                                             const torch::Tensor& actions) {
  return termination_->forward(torch::cat({z, actions}, -1)).squeeze(-1);
}

torch::Tensor TdmpcNetworksImpl::Q(int k, const torch::Tensor& z, const torch::Tensor& actions) {
  return q_[k]->forward(torch::cat({z, actions}, -1)).squeeze(-1);
}

torch::Tensor TdmpcNetworksImpl::TargetQ(int k, const torch::Tensor& z,
                                         const torch::Tensor& actions) {
  return q_target_[k]->forward(torch::cat({z, actions}, -1)).squeeze(-1);
}

std::pair<torch::Tensor, torch::Tensor> TdmpcNetworksImpl::Sample(const torch::Tensor& z,
                                                                  const torch::Tensor& noise) {
  const auto out = policy_->forward(z);
  const auto mean = out.narrow(-1, 0, options_.act_dim);
  const auto log_std = kLogStdMin + 0.5 * (kLogStdMax - kLogStdMin) *
                                        (torch::tanh(out.narrow(-1, options_.act_dim,
                                                                options_.act_dim)) + 1.0);
  const auto pre = mean + log_std.exp() * noise;
  const auto action = torch::tanh(pre);
  // Gaussian log density of `pre`, minus the tanh Jacobian (stable form).
  const auto gaussian = (-0.5 * noise.pow(2) - log_std - kHalfLog2Pi).sum(-1);
  const auto jacobian =
      (2.0 * (std::log(2.0) - pre - torch::nn::functional::softplus(-2.0 * pre))).sum(-1);
  return {action, gaussian - jacobian};
}

torch::Tensor TdmpcNetworksImpl::MeanAction(const torch::Tensor& z) {
  return torch::tanh(policy_->forward(z).narrow(-1, 0, options_.act_dim));
}

void TdmpcNetworksImpl::UpdateTargets(double tau) {
  torch::NoGradGuard no_grad;
  for (int k = 0; k < 2; ++k) {
    const auto source = q_[k]->parameters();
    auto target = q_target_[k]->parameters();
    for (size_t i = 0; i < source.size(); ++i) target[i].mul_(1.0 - tau).add_(source[i], tau);
  }
}

torch::Tensor TdmpcNetworksImpl::ToEnv(const torch::Tensor& actions) const {
  return action_center_.to(actions.device()) + action_scale_.to(actions.device()) * actions;
}

std::vector<torch::Tensor> TdmpcNetworksImpl::ModelParameters() const {
  std::vector<torch::Tensor> out;
  for (const auto* net : {&encoder_, &dynamics_, &reward_, &termination_, &q_[0], &q_[1]}) {
    Append(&out, *net);
  }
  return out;
}

std::vector<torch::Tensor> TdmpcNetworksImpl::PolicyParameters() const {
  std::vector<torch::Tensor> out;
  Append(&out, policy_);
  return out;
}

SequenceReplayImpl::SequenceReplayImpl(int64_t capacity, int64_t obs_dim, int64_t act_dim)
    : capacity_(capacity), obs_dim_(obs_dim), act_dim_(act_dim) {
  obs = register_buffer("obs", torch::zeros({capacity, obs_dim}, torch::kFloat32));
  next_obs = register_buffer("next_obs", torch::zeros({capacity, obs_dim}, torch::kFloat32));
  actions = register_buffer("actions", torch::zeros({capacity, act_dim}, torch::kFloat32));
  rewards = register_buffer("rewards", torch::zeros({capacity}, torch::kFloat32));
  terminated = register_buffer("terminated", torch::zeros({capacity}, torch::kFloat32));
  first = register_buffer("first", torch::zeros({capacity}, torch::kInt64));
  added = register_buffer("added", torch::zeros({}, torch::kInt64));
}

void SequenceReplayImpl::Add(std::span<const double> o, std::span<const float> action,
                             double reward, std::span<const double> next, bool done,
                             bool starts) {
  int64_t& count = *added.data_ptr<int64_t>();
  const int64_t row = count % capacity_;
  float* obs_row = obs.data_ptr<float>() + row * obs_dim_;
  float* next_row = next_obs.data_ptr<float>() + row * obs_dim_;
  for (int64_t j = 0; j < obs_dim_; ++j) {
    obs_row[j] = static_cast<float>(o[j]);
    next_row[j] = static_cast<float>(next[j]);
  }
  std::copy_n(action.data(), act_dim_, actions.data_ptr<float>() + row * act_dim_);
  rewards.data_ptr<float>()[row] = static_cast<float>(reward);
  terminated.data_ptr<float>()[row] = done ? 1.0f : 0.0f;
  first.data_ptr<int64_t>()[row] = starts ? 1 : 0;
  ++count;
}

int64_t SequenceReplayImpl::Size() const {
  return std::min(*added.data_ptr<int64_t>(), capacity_);
}

int64_t SequenceReplayImpl::Row(int64_t c) const {
  const int64_t count = *added.data_ptr<int64_t>();
  const int64_t oldest = count > capacity_ ? count % capacity_ : 0;
  return (oldest + c) % capacity_;
}

bool SequenceReplayImpl::IsSequence(int64_t c, int64_t length) const {
  if (c < 0 || c + length > Size()) return false;
  const int64_t* starts = first.data_ptr<int64_t>();
  for (int64_t k = 1; k < length; ++k) {
    if (starts[Row(c + k)] != 0) return false;
  }
  return true;
}

TdmpcStateImpl::TdmpcStateImpl(const TdmpcNetworkOptions& options,
                               std::span<const double> action_low,
                               std::span<const double> action_high, int64_t capacity,
                               int64_t state_size, int64_t horizon) {
  nets = register_module("nets", TdmpcNetworks(options, action_low, action_high));
  replay = register_module("replay", SequenceReplay(capacity, options.obs_dim, options.act_dim));
  collector = register_module("collector", CollectorState(1, state_size, options.obs_dim));
  plan_mean = register_buffer("plan_mean", torch::zeros({horizon, options.act_dim}, torch::kFloat32));
}

}  // namespace darkmatter::agents
