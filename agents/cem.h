// CEM: the cross-entropy method over action sequences. Each iteration samples candidates from
// a diagonal Gaussian (H x act_dim), scores them in one Dynamics::Evaluate call, and refits the
// Gaussian to the elites; the next plan starts from the previous mean shifted by one step.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "agents/dynamics.h"
#include "sim/rng.h"
#include "sim/settings.h"

namespace darkmatter::agents {

// Settings of CEM; action standard deviations are fractions of half the action range.
struct CemSettings {
  int samples = 64;          // candidate sequences per iteration (the current mean is one)
  int elites = 8;            // best candidates the Gaussian is refitted to; <= samples
  int iterations = 3;        // sample-score-refit rounds per plan
  int horizon = 10;          // actions per sequence (control steps)
  double init_std = 0.5;     // initial standard deviation (fraction of half the range), > 0
  double min_std = 0.05;     // floor of the standard deviation (same units), >= 0
  double momentum = 0.1;     // weight of the old mean in each refit, in [0, 1)
  bool warm_start = true;    // start from the previous mean shifted by one step
  uint64_t seed = 0;         // sampling seed, combined with the episode seed at Reset
};

// Throws sim::BadInput naming `prefix` + key and the value when a setting is out of range.
void ValidateCemSettings(const CemSettings& settings, const std::string& prefix = "plan.");
// Binds the settings under `prefix` (e.g. "plan.samples").
void BindCemSettings(CemSettings* settings, sim::SettingsBinder* binder,
                     const std::string& prefix = "plan.");

class CemPlanner final : public Planner {
 public:
  // A planner for `action_spec` (validates the settings; buffers are allocated here).
  CemPlanner(const CemSettings& settings, const sim::BoxSpec& action_spec);
  void Reset(uint64_t seed) override;
  std::span<const double> Plan(Dynamics& dynamics) override;
  double LastBestCost() const override { return best_cost_; }
  // Current mean sequence (H x act_dim).
  std::span<const double> Mean() const { return mean_; }

 private:
  CemSettings settings_;
  sim::BoxSpec spec_;
  int64_t act_dim_;
  sim::Rng rng_;
  bool has_plan_ = false;            // a previous mean exists (warm start)
  double best_cost_ = 0.0;
  std::vector<double> centre_, half_;  // (act_dim) action scale
  std::vector<double> mean_, std_;     // (H x act_dim) sampling distribution
  std::vector<double> candidates_;     // (N x H x act_dim) clipped samples
  std::vector<double> costs_;          // (N)
  std::vector<int> order_;             // (N) candidate indices sorted by cost
  std::vector<double> action_;         // (act_dim) the returned action
};

}  // namespace darkmatter::agents
