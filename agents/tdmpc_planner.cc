#include "agents/tdmpc_planner.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "sim/error.h"
#include "sim/settings.h"

namespace darkmatter::agents {
namespace {

void Require(bool ok, const std::string& key, double value, const std::string& rule) {
  if (!ok) throw sim::BadInput("setting " + key + "=" + std::to_string(value) + ": must be " + rule);
}

// Predicted return of each candidate (N x H x A) from latent z0 (1 x L): discounted predicted
// rewards plus the discounted mean Q of the two heads at the final latent under the policy,
// each weighted by the predicted probability that the episode is still running.
torch::Tensor Value(TdmpcNetworksImpl& nets, const torch::Tensor& z0, const torch::Tensor& actions,
                    double gamma) {
  const int64_t n = actions.size(0), h = actions.size(1);
  torch::Tensor z = z0.expand({n, z0.size(1)});
  auto total = torch::zeros({n}, z0.options());
  auto alive = torch::ones({n}, z0.options());
  double discount = 1.0;
  for (int64_t t = 0; t < h; ++t) {
    const auto a = actions.select(1, t);
    total = total + discount * alive * nets.Reward(z, a);
    alive = alive * (1.0 - torch::sigmoid(nets.Termination(z, a)));
    z = nets.Next(z, a);
    discount *= gamma;
  }
  const auto final_action = nets.MeanAction(z);
  return total +
         discount * alive * 0.5 * (nets.Q(0, z, final_action) + nets.Q(1, z, final_action));
}

}  // namespace

torch::Tensor TdmpcNormals(sim::Rng& rng, const std::vector<int64_t>& shape,
                           const torch::Device& device) {
  auto out = torch::empty(shape, torch::kFloat32);
  float* data = out.data_ptr<float>();
  for (int64_t k = 0; k < out.numel(); ++k) data[k] = static_cast<float>(rng.Normal());
  return out.to(device);
}

void ValidateTdmpcPlanSettings(const TdmpcPlanSettings& s) {
  sim::RequireInRange("tdmpc.horizon", s.horizon, 1, 64);
  sim::RequireInRange("tdmpc.samples", s.samples, 2, sim::kMaxSamples);
  sim::RequireInRange("tdmpc.pi_samples", s.pi_samples, 0, s.samples - 1);
  sim::RequireInRange("tdmpc.elites", s.elites, 1, s.samples);
  sim::RequireInRange("tdmpc.iterations", s.iterations, 1, 64);
  Require(std::isfinite(s.temperature) && s.temperature > 0, "tdmpc.temperature", s.temperature,
          "finite and > 0");
  Require(std::isfinite(s.min_std) && s.min_std >= 0, "tdmpc.min_std", s.min_std, ">= 0");
  Require(std::isfinite(s.max_std) && s.max_std >= s.min_std && s.max_std > 0, "tdmpc.max_std",
          s.max_std, "> 0 and >= tdmpc.min_std");
  Require(s.gamma > 0 && s.gamma <= 1, "tdmpc.gamma", s.gamma, "in (0, 1]");
}

void TdmpcPlan(TdmpcNetworksImpl& nets, const torch::Tensor& obs, const TdmpcPlanSettings& s,
               torch::Tensor& mean, bool warm, bool explore, sim::Rng& rng,
               std::span<float> action) {
  torch::NoGradGuard no_grad;
  const torch::Device device = obs.device();
  const int64_t h = s.horizon, a_dim = nets.options().act_dim, p = s.pi_samples;
  const int64_t gaussian = s.samples - p;
  const auto z0 = nets.Encode(obs);
  // Sequences of the policy prior, rolled through the latent dynamics.
  torch::Tensor pi_actions;
  if (p > 0) {
    const auto noise = TdmpcNormals(rng, {h, p, a_dim}, device);
    std::vector<torch::Tensor> steps;
    torch::Tensor z = z0.expand({p, z0.size(1)});
    for (int64_t t = 0; t < h; ++t) {
      steps.push_back(nets.Sample(z, noise[t]).first);
      z = nets.Next(z, steps.back());
    }
    pi_actions = torch::stack(steps, 1);  // (P x H x A)
  }
  // Warm start: the previous mean advanced one step (its last action repeated).
  if (warm) {
    mean.narrow(0, 0, h - 1).copy_(mean.narrow(0, 1, h - 1).clone());
  } else {
    mean.zero_();
  }
  torch::Tensor mu = mean.to(device);
  torch::Tensor std = torch::full({h, a_dim}, s.max_std, mu.options());
  torch::Tensor elite_actions, weights;
  for (int it = 0; it < s.iterations; ++it) {
    const auto noise = TdmpcNormals(rng, {gaussian, h, a_dim}, device);
    auto candidates = (mu.unsqueeze(0) + std.unsqueeze(0) * noise).clamp(-1.0, 1.0);
    if (p > 0) candidates = torch::cat({pi_actions, candidates}, 0);
    const auto value = torch::nan_to_num(Value(nets, z0, candidates, s.gamma), 0.0, 0.0, 0.0);
    const auto [elite_value, elite_index] = torch::topk(value, s.elites);
    elite_actions = candidates.index_select(0, elite_index);
    weights = torch::softmax(s.temperature * (elite_value - elite_value.max()), 0);
    const auto w = weights.view({-1, 1, 1});
    mu = (w * elite_actions).sum(0);
    std = (w * (elite_actions - mu.unsqueeze(0)).pow(2)).sum(0).sqrt().clamp(s.min_std, s.max_std);
  }
  mean.copy_(mu.to(torch::kCPU));
  // The first action of one elite, drawn by weight.
  const auto cpu_weights = weights.to(torch::kCPU).contiguous();
  const float* wp = cpu_weights.data_ptr<float>();
  double u = rng.Uniform(), cumulative = 0.0;
  int64_t chosen = s.elites - 1;
  for (int64_t e = 0; e < s.elites; ++e) {
    cumulative += wp[e];
    if (u < cumulative) {
      chosen = e;
      break;
    }
  }
  auto first = elite_actions[chosen][0];
  if (explore) first = first + std[0] * TdmpcNormals(rng, {a_dim}, device);
  const auto out = first.clamp(-1.0, 1.0).to(torch::kCPU).contiguous();
  std::copy_n(out.data_ptr<float>(), a_dim, action.begin());
}

}  // namespace darkmatter::agents

namespace darkmatter::agents {
namespace {

constexpr uint64_t kPlanStream = 0x74646d706370616eULL;  // evaluation planning draws

class TdmpcPlanningAgent final : public Agent {
 public:
  TdmpcPlanningAgent(TdmpcNetworks nets, const TdmpcPlanSettings& settings,
                     const sim::BoxSpec& action_spec, uint64_t salt, bool plan)
      : nets_(std::move(nets)), settings_(settings), spec_(action_spec), salt_(salt), plan_(plan) {
    act_dim_ = action_spec.Size();
    mean_ = torch::zeros({settings.horizon, act_dim_}, torch::kFloat32);
    action_.resize(act_dim_);
    raw_.resize(act_dim_);
  }
  void Reset(uint64_t seed, int row) override {
    rng_ = sim::Rng(sim::DeriveSeed(seed ^ salt_, kPlanStream));
    warm_ = false;
  }
  void Act(std::span<const double> observations, std::span<double> actions) override {
    const int64_t obs_dim = nets_->options().obs_dim;
    if (static_cast<int64_t>(observations.size()) != obs_dim ||
        static_cast<int64_t>(actions.size()) != act_dim_) {
      throw sim::BadInput("tdmpc agent: " + std::to_string(observations.size()) +
                          " observation values and " + std::to_string(actions.size()) +
                          " action values for obs_dim " + std::to_string(obs_dim) +
                          " and act_dim " + std::to_string(act_dim_) + " (batch of one)");
    }
    const torch::Device device = nets_->q_scale.device();
    const auto obs = torch::from_blob(const_cast<double*>(observations.data()), {1, obs_dim},
                                      torch::kFloat64)
                         .to(device, torch::kFloat32);
    if (plan_) {
      TdmpcPlan(*nets_, obs, settings_, mean_, warm_, false, rng_, action_);
      warm_ = true;
    } else {
      torch::NoGradGuard no_grad;
      const auto a = nets_->MeanAction(nets_->Encode(obs)).to(torch::kCPU).contiguous();
      std::copy_n(a.data_ptr<float>(), act_dim_, action_.begin());
    }
    const auto& center_scale = nets_->ToEnv(torch::from_blob(action_.data(), {act_dim_},
                                                             torch::kFloat32).to(device));
    const auto env = center_scale.to(torch::kCPU, torch::kFloat64).contiguous();
    std::copy_n(env.data_ptr<double>(), act_dim_, raw_.begin());
    sim::ClipAction(spec_, raw_, actions);
  }

 private:
  TdmpcNetworks nets_;
  TdmpcPlanSettings settings_;
  sim::BoxSpec spec_;
  uint64_t salt_;
  bool plan_;
  int64_t act_dim_ = 0;
  torch::Tensor mean_;
  sim::Rng rng_;
  bool warm_ = false;
  std::vector<float> action_;
  std::vector<double> raw_;
};

}  // namespace

std::unique_ptr<Agent> MakeTdmpcPlanningAgent(TdmpcNetworks nets, const TdmpcPlanSettings& settings,
                                              const sim::BoxSpec& action_spec, uint64_t salt,
                                              bool plan) {
  return std::make_unique<TdmpcPlanningAgent>(std::move(nets), settings, action_spec, salt, plan);
}

}  // namespace darkmatter::agents
