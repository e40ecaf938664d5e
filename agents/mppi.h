// MPPI: model-predictive path integral control. Each iteration perturbs the nominal action
// sequence (H x act_dim) with Gaussian noise, scores the candidates in one Dynamics::Evaluate
// call, and moves the nominal to their exp(-cost / temperature)-weighted average; the next
// plan starts from the nominal shifted by one step.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "agents/dynamics.h"
#include "sim/rng.h"
#include "sim/settings.h"

namespace darkmatter::agents {

// Settings of MPPI.
struct MppiSettings {
  int samples = 64;           // candidate sequences per iteration (the nominal is one)
  int horizon = 10;           // actions per sequence (control steps)
  int iterations = 1;         // perturb-score-average rounds per plan
  double noise_std = 0.3;     // perturbation std (fraction of half the action range), > 0
  double temperature = 0.1;   // lambda in exp(-(cost - min cost) / lambda) (cost units), > 0
  bool warm_start = true;     // start from the previous nominal shifted by one step
  uint64_t seed = 0;          // sampling seed, combined with the episode seed at Reset
};

// Throws sim::BadInput naming `prefix` + key and the value when a setting is out of range.
void ValidateMppiSettings(const MppiSettings& settings, const std::string& prefix = "plan.");
// Binds the settings under `prefix` (e.g. "plan.temperature").
void BindMppiSettings(MppiSettings* settings, sim::SettingsBinder* binder,
                      const std::string& prefix = "plan.");

class MppiPlanner final : public Planner {
 public:
  // A planner for `action_spec` (validates the settings; buffers are allocated here).
  MppiPlanner(const MppiSettings& settings, const sim::BoxSpec& action_spec);
  void Reset(uint64_t seed) override;
  std::span<const double> Plan(Dynamics& dynamics) override;
  double LastBestCost() const override { return best_cost_; }
  // Current nominal sequence (H x act_dim).
  std::span<const double> Nominal() const { return nominal_; }

 private:
  MppiSettings settings_;
  sim::BoxSpec spec_;
  int64_t act_dim_;
  sim::Rng rng_;
  bool has_plan_ = false;            // a previous nominal exists (warm start)
  double best_cost_ = 0.0;
  std::vector<double> centre_, half_;  // (act_dim) action scale
  std::vector<double> nominal_;        // (H x act_dim)
  std::vector<double> candidates_;     // (N x H x act_dim) clipped samples
  std::vector<double> costs_;          // (N)
  std::vector<double> weights_;        // (N)
  std::vector<double> action_;         // (act_dim) the returned action
};

}  // namespace darkmatter::agents
