#include "agents/cem.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "sim/error.h"

namespace darkmatter::agents {
namespace {

template <typename T>
[[noreturn]] void Bad(const std::string& key, T value, const std::string& expected) {
  std::ostringstream text;
  text << key << "=" << value << ": must be " << expected;
  throw sim::BadInput(text.str());
}

}  // namespace

void ValidateCemSettings(const CemSettings& s, const std::string& prefix) {
  if (s.samples < 1) Bad(prefix + "samples", s.samples, ">= 1");
  if (s.elites < 1 || s.elites > s.samples) {
    Bad(prefix + "elites", s.elites,
        "in [1, " + prefix + "samples=" + std::to_string(s.samples) + "]");
  }
  if (s.iterations < 1) Bad(prefix + "iterations", s.iterations, ">= 1");
  if (s.horizon < 1) Bad(prefix + "horizon", s.horizon, ">= 1");
  if (!(s.init_std > 0) || !std::isfinite(s.init_std)) Bad(prefix + "init_std", s.init_std, "> 0");
  if (!(s.min_std >= 0) || !std::isfinite(s.min_std)) Bad(prefix + "min_std", s.min_std, ">= 0");
  if (!(s.momentum >= 0 && s.momentum < 1)) Bad(prefix + "momentum", s.momentum, "in [0, 1)");
}

void BindCemSettings(CemSettings* s, sim::SettingsBinder* binder, const std::string& prefix) {
  binder->Bind(prefix + "samples", &s->samples, "CEM: candidate sequences per iteration");
  binder->Bind(prefix + "elites", &s->elites, "CEM: best candidates refitted to (<= samples)");
  binder->Bind(prefix + "iterations", &s->iterations, "CEM: sample-score-refit rounds per action");
  binder->Bind(prefix + "horizon", &s->horizon, "CEM: actions per sequence (control steps)");
  binder->Bind(prefix + "init_std", &s->init_std,
               "CEM: initial std (fraction of half the action range)");
  binder->Bind(prefix + "min_std", &s->min_std, "CEM: std floor (fraction of half the range)");
  binder->Bind(prefix + "momentum", &s->momentum, "CEM: weight of the old mean in a refit [0,1)");
  binder->Bind(prefix + "warm_start", &s->warm_start, "CEM: start from the shifted last mean");
  binder->Bind(prefix + "seed", &s->seed, "CEM: sampling seed (combined with the episode seed)");
}

CemPlanner::CemPlanner(const CemSettings& settings, const sim::BoxSpec& action_spec)
    : settings_(settings), spec_(action_spec), act_dim_(action_spec.Size()) {
  ValidateCemSettings(settings_);
  const int64_t h = settings_.horizon, n = settings_.samples;
  centre_.resize(act_dim_);
  half_.resize(act_dim_);
  ActionScale(spec_, centre_, half_);
  mean_.resize(h * act_dim_);
  std_.resize(h * act_dim_);
  candidates_.resize(n * h * act_dim_);
  costs_.resize(n);
  order_.resize(n);
  action_.resize(act_dim_);
  Reset(0);
}

void CemPlanner::Reset(uint64_t seed) {
  rng_.Seed(sim::DeriveSeed(settings_.seed, seed));
  has_plan_ = false;
}

std::span<const double> CemPlanner::Plan(Dynamics& dynamics) {
  if (dynamics.ActionSpec().Size() != act_dim_) {
    throw sim::BadInput("CEM: dynamics has " + std::to_string(dynamics.ActionSpec().Size()) +
                        " action values, the planner " + std::to_string(act_dim_));
  }
  const int n = settings_.samples, h = settings_.horizon, elites = settings_.elites;
  const int64_t size = static_cast<int64_t>(h) * act_dim_;
  // Warm start: the previous mean advanced one step (its last action repeated).
  if (has_plan_ && settings_.warm_start) {
    std::copy(mean_.begin() + act_dim_, mean_.end(), mean_.begin());
  } else {
    for (int64_t j = 0; j < size; ++j) mean_[j] = centre_[j % act_dim_];
  }
  for (int64_t j = 0; j < size; ++j) std_[j] = settings_.init_std * half_[j % act_dim_];
  best_cost_ = std::numeric_limits<double>::infinity();
  const double keep = settings_.momentum;
  for (int iteration = 0; iteration < settings_.iterations; ++iteration) {
    // Candidate 0 is the mean itself; the rest are Gaussian samples around it.
    for (int i = 0; i < n; ++i) {
      double* x = candidates_.data() + i * size;
      for (int64_t j = 0; j < size; ++j) {
        const int64_t k = j % act_dim_;
        const double value = i == 0 ? mean_[j] : mean_[j] + std_[j] * rng_.Normal();
        x[j] = std::clamp(value, spec_.low[k], spec_.high[k]);
      }
    }
    dynamics.Evaluate(candidates_, n, h, costs_);
    for (double& cost : costs_) {
      if (!std::isfinite(cost)) cost = std::numeric_limits<double>::infinity();
    }
    std::iota(order_.begin(), order_.end(), 0);
    std::partial_sort(order_.begin(), order_.begin() + elites, order_.end(), [&](int a, int b) {
      return costs_[a] < costs_[b] || (costs_[a] == costs_[b] && a < b);
    });
    best_cost_ = std::min(best_cost_, costs_[order_[0]]);
    // Refit mean and std to the elites (elementwise), blending in the old mean.
    for (int64_t j = 0; j < size; ++j) {
      double sum = 0.0;
      for (int e = 0; e < elites; ++e) sum += candidates_[order_[e] * size + j];
      const double m = sum / elites;
      double var = 0.0;
      for (int e = 0; e < elites; ++e) {
        const double d = candidates_[order_[e] * size + j] - m;
        var += d * d;
      }
      mean_[j] = keep * mean_[j] + (1.0 - keep) * m;
      std_[j] = std::max(std::sqrt(var / elites), settings_.min_std * half_[j % act_dim_]);
    }
  }
  has_plan_ = true;
  for (int64_t k = 0; k < act_dim_; ++k) {
    action_[k] = std::clamp(mean_[k], spec_.low[k], spec_.high[k]);
  }
  return action_;
}

}  // namespace darkmatter::agents
