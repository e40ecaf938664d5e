#include "agents/world_model_dynamics.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <torch/torch.h>

#include "sim/error.h"
#include "worldmodel/latent_model.h"

namespace darkmatter::agents {

WorldModelDynamics::WorldModelDynamics(std::shared_ptr<worldmodel::WorldModelImpl> model,
                                       const sim::BoxSpec& action_spec, torch::Device device,
                                       const WorldModelCostSettings& settings)
    : model_(std::move(model)), spec_(action_spec), device_(device), settings_(settings) {
  const worldmodel::ModelOptions& o = model_->options();
  act_dim_ = spec_.Size();
  latent_dim_ = o.latent_dim;
  if (o.act_dim == 0 || o.act_dim != act_dim_) {
    throw sim::BadInput("world model plans need an action-conditioned model with " +
                        std::to_string(act_dim_) + " action values; this " + o.model +
                        " model has act_dim " + std::to_string(o.act_dim));
  }
  if (!(settings_.final_weight >= 0) || !std::isfinite(settings_.final_weight)) {
    throw sim::BadInput("plan.final_weight=" + std::to_string(settings_.final_weight) +
                        ": must be >= 0");
  }
  model_->eval();
  // The oneDNN path: CPU, a latent model whose predictor is Linear (GELU) ... Linear.
  if (auto* latent = dynamic_cast<worldmodel::LatentModelImpl*>(model_.get());
      latent != nullptr && device_.is_cpu() && at::hasMKLDNN()) {
    fast_ = true;
    for (const auto& child : latent->predictor()->children()) {
      if (auto* linear = dynamic_cast<torch::nn::LinearImpl*>(child.get())) {
        layers_.push_back(linear->weight);
        layers_.push_back(linear->bias);
        gelu_after_.push_back(false);
      } else if (dynamic_cast<torch::nn::GELUImpl*>(child.get()) != nullptr &&
                 !gelu_after_.empty() && !gelu_after_.back()) {
        gelu_after_.back() = true;
      } else {
        fast_ = false;
      }
    }
    if (layers_.empty() || !layers_[1].defined()) fast_ = false;
    noise_dim_ = fast_ ? layers_[0].size(1) - o.context * o.latent_dim - o.act_dim : 0;
    if (noise_dim_ < 0) fast_ = false;
  }
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  context_ = torch::zeros({1, o.context, latent_dim_}, options);
}

torch::Tensor WorldModelDynamics::StateTensor(std::span<const double> state) const {
  if (Pixels()) throw sim::BadInput("this world model reads pixels, not a state vector");
  if (static_cast<int64_t>(state.size()) != ObsDim()) {
    throw sim::BadInput("world model expects a state of " + std::to_string(ObsDim()) +
                        " values, got " + std::to_string(state.size()));
  }
  auto host = torch::empty({1, 1, ObsDim()}, torch::kFloat32);
  float* out = host.data_ptr<float>();
  for (size_t k = 0; k < state.size(); ++k) out[k] = static_cast<float>(state[k]);
  return host.to(device_);
}

torch::Tensor WorldModelDynamics::FrameTensor(std::span<const uint8_t> rgb) const {
  if (!Pixels()) throw sim::BadInput("this world model reads a state vector, not pixels");
  const int64_t s = FrameSize();
  if (static_cast<int64_t>(rgb.size()) != s * s * 3) {
    throw sim::BadInput("world model expects " + std::to_string(s) + "x" + std::to_string(s) +
                        " RGB frames (" + std::to_string(s * s * 3) + " bytes), got " +
                        std::to_string(rgb.size()) + " bytes");
  }
  // (H x W x 3) uint8 -> (1 x 1 x 3 x H x W) float in [0, 1], as worldmodel::EpisodeTensors.
  auto host = torch::from_blob(const_cast<uint8_t*>(rgb.data()), {s, s, 3}, torch::kUInt8);
  return host.to(device_).permute({2, 0, 1}).to(torch::kFloat32).div(255.0).reshape(
      {1, 1, 3, s, s});
}

void WorldModelDynamics::Push(const torch::Tensor& observation) {
  torch::NoGradGuard no_grad;
  auto z = model_->Encode(observation).reshape({1, 1, latent_dim_});
  ++encoder_calls_;
  const int64_t c = Context();
  if (!context_filled_) {
    context_.copy_(z.expand({1, c, latent_dim_}));
    context_filled_ = true;
    return;
  }
  // Shift the window left by one (a copy: source and destination overlap) and append.
  if (c > 1) context_.narrow(1, 0, c - 1).copy_(context_.narrow(1, 1, c - 1).clone());
  context_.narrow(1, c - 1, 1).copy_(z);
}

void WorldModelDynamics::PushObservation(std::span<const double> state) {
  Push(StateTensor(state));
}

void WorldModelDynamics::PushFrame(std::span<const uint8_t> rgb) { Push(FrameTensor(rgb)); }

void WorldModelDynamics::SetGoal(std::span<const double> state) {
  torch::NoGradGuard no_grad;
  goal_ = model_->EncodeTarget(StateTensor(state)).reshape({latent_dim_}).clone();
  ++encoder_calls_;
}

void WorldModelDynamics::SetGoalFrame(std::span<const uint8_t> rgb) {
  torch::NoGradGuard no_grad;
  goal_ = model_->EncodeTarget(FrameTensor(rgb)).reshape({latent_dim_}).clone();
  ++encoder_calls_;
}

double WorldModelDynamics::GoalDistance() const {
  if (!goal_.defined() || !context_filled_) return std::nan("");
  torch::NoGradGuard no_grad;
  return (context_.select(1, Context() - 1).reshape({latent_dim_}) - goal_)
      .abs()
      .mean()
      .item<double>();
}

void WorldModelDynamics::Reserve(int num_candidates, int horizon) {
  if (actions_host_.defined() && actions_host_.size(0) == num_candidates &&
      actions_host_.size(1) == horizon) {
    return;
  }
  actions_host_ = torch::empty({num_candidates, horizon, act_dim_}, torch::kFloat32);
  actions_ = device_.is_cpu() ? actions_host_
                              : torch::empty({num_candidates, horizon, act_dim_},
                                             actions_host_.options().device(device_));
  costs_host_ = torch::empty({num_candidates}, torch::kFloat32);
  // Each step's distance counts 1/H; the last one gets final_weight on top.
  auto weights = torch::full({horizon}, 1.0 / horizon, torch::kFloat32);
  weights[horizon - 1] += settings_.final_weight;
  // Divided by D so that the weighted sum over (H x D) gives mean absolute differences.
  step_weights_ = (weights / static_cast<double>(latent_dim_)).to(device_);
}

void WorldModelDynamics::PackWeights() {
  bool stale = packed_.size() != layers_.size();
  for (size_t k = 0; !stale && k < layers_.size(); ++k) {
    stale = layers_[k]._version() != versions_[k];
  }
  if (!stale) return;
  packed_.clear();
  versions_.clear();
  for (const torch::Tensor& tensor : layers_) {
    packed_.push_back(tensor.detach().contiguous().to_mkldnn());
    versions_.push_back(tensor._version());
  }
}

torch::Tensor WorldModelDynamics::FastRollout(const torch::Tensor& actions) {
  PackWeights();
  const int64_t n = actions.size(0), h = actions.size(1), c = Context(), d = latent_dim_;
  const int64_t width = c * d + act_dim_ + noise_dim_;
  if (!inputs_[0].defined() || inputs_[0].size(0) != n) {
    for (torch::Tensor& input : inputs_) input = torch::zeros({n, width}, torch::kFloat32);
  }
  if (!latents_.defined() || latents_.size(0) != n || latents_.size(1) != h) {
    latents_ = torch::empty({n, h, d}, torch::kFloat32);
  }
  // Input row: context latents (oldest first, C x D flattened), action, zero noise.
  inputs_[0].narrow(1, 0, c * d).copy_(context_.reshape({1, c * d}).expand({n, c * d}));
  for (int64_t t = 0; t < h; ++t) {
    torch::Tensor& input = inputs_[t % 2];
    input.narrow(1, c * d, act_dim_).copy_(actions.select(1, t));
    torch::Tensor x = input.to_mkldnn();
    for (size_t k = 0; k < gelu_after_.size(); ++k) {
      x = at::mkldnn_linear(x, packed_[2 * k], packed_[2 * k + 1]);
      if (gelu_after_[k]) x = at::gelu(x);
    }
    // Residual: z' = last context latent + predicted change.
    torch::Tensor next = latents_.select(1, t);
    at::add_out(next, input.narrow(1, (c - 1) * d, d), x.to_dense());
    if (t + 1 < h) {
      // The next input's context: this one's without its oldest latent, then z'.
      torch::Tensor& following = inputs_[(t + 1) % 2];
      if (c > 1) following.narrow(1, 0, (c - 1) * d).copy_(input.narrow(1, d, (c - 1) * d));
      following.narrow(1, (c - 1) * d, d).copy_(next);
    }
  }
  return latents_;
}

torch::Tensor WorldModelDynamics::RolloutLatents(const torch::Tensor& actions) {
  torch::NoGradGuard no_grad;
  const int64_t n = actions.size(0);
  if (fast_) return FastRollout(actions).clone();
  return model_->Rollout(context_.expand({n, Context(), latent_dim_}), actions);
}

void WorldModelDynamics::Evaluate(std::span<const double> actions, int num_candidates,
                                  int horizon, std::span<double> costs) {
  if (num_candidates < 1 || horizon < 1 ||
      static_cast<int64_t>(actions.size()) !=
          static_cast<int64_t>(num_candidates) * horizon * act_dim_ ||
      static_cast<int64_t>(costs.size()) != num_candidates) {
    throw sim::BadInput("WorldModelDynamics::Evaluate: " + std::to_string(num_candidates) +
                        " candidates x horizon " + std::to_string(horizon) + " x act_dim " +
                        std::to_string(act_dim_) + " does not match " +
                        std::to_string(actions.size()) + " actions and " +
                        std::to_string(costs.size()) + " costs");
  }
  if (!context_filled_ || !goal_.defined()) {
    throw sim::BadInput("WorldModelDynamics::Evaluate: set an observation and a goal first");
  }
  torch::NoGradGuard no_grad;
  Reserve(num_candidates, horizon);
  float* staged = actions_host_.data_ptr<float>();
  for (size_t k = 0; k < actions.size(); ++k) staged[k] = static_cast<float>(actions[k]);
  if (!device_.is_cpu()) actions_.copy_(actions_host_, /*non_blocking=*/false);
  const int64_t c = Context();
  // One batched rollout of every candidate: (N x C x D) context, (N x H x A) -> (N x H x D).
  auto latents = fast_ ? FastRollout(actions_)
                       : model_->Rollout(context_.expand({num_candidates, c, latent_dim_}),
                                         actions_);
  // (N x H x D) |z - g| summed over D, weighted over H -> (N).
  auto distance = (latents - goal_).abs().sum(2);
  auto cost = distance.matmul(step_weights_);
  costs_host_.copy_(cost);  // the only device -> host transfer
  const float* out = costs_host_.data_ptr<float>();
  for (int i = 0; i < num_candidates; ++i) costs[i] = out[i];
  stats_.model_calls += 1;
  stats_.candidates += num_candidates;
  stats_.transitions += static_cast<int64_t>(num_candidates) * horizon;
}

}  // namespace darkmatter::agents
