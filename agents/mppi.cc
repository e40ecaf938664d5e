#include "agents/mppi.h"

#include <algorithm>
#include <cmath>
#include <limits>
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

void ValidateMppiSettings(const MppiSettings& s, const std::string& prefix) {
  if (s.samples < 1) Bad(prefix + "samples", s.samples, ">= 1");
  if (s.horizon < 1) Bad(prefix + "horizon", s.horizon, ">= 1");
  if (s.iterations < 1) Bad(prefix + "iterations", s.iterations, ">= 1");
  if (!(s.noise_std > 0) || !std::isfinite(s.noise_std)) {
    Bad(prefix + "noise_std", s.noise_std, "> 0");
  }
  if (!(s.temperature > 0) || !std::isfinite(s.temperature)) {
    Bad(prefix + "temperature", s.temperature, "> 0");
  }
}

void BindMppiSettings(MppiSettings* s, sim::SettingsBinder* binder, const std::string& prefix) {
  binder->Bind(prefix + "samples", &s->samples, "MPPI: candidate sequences per iteration");
  binder->Bind(prefix + "horizon", &s->horizon, "MPPI: actions per sequence (control steps)");
  binder->Bind(prefix + "iterations", &s->iterations, "MPPI: perturb-score-average rounds");
  binder->Bind(prefix + "noise_std", &s->noise_std,
               "MPPI: perturbation std (fraction of half the action range)");
  binder->Bind(prefix + "temperature", &s->temperature,
               "MPPI: lambda of the exp(-cost/lambda) weights (cost units)");
  binder->Bind(prefix + "warm_start", &s->warm_start, "MPPI: start from the shifted nominal");
  binder->Bind(prefix + "seed", &s->seed, "MPPI: sampling seed (combined with the episode seed)");
}

MppiPlanner::MppiPlanner(const MppiSettings& settings, const sim::BoxSpec& action_spec)
    : settings_(settings), spec_(action_spec), act_dim_(action_spec.Size()) {
  ValidateMppiSettings(settings_);
  const int64_t h = settings_.horizon, n = settings_.samples;
  centre_.resize(act_dim_);
  half_.resize(act_dim_);
  ActionScale(spec_, centre_, half_);
  nominal_.resize(h * act_dim_);
  candidates_.resize(n * h * act_dim_);
  costs_.resize(n);
  weights_.resize(n);
  action_.resize(act_dim_);
  Reset(0);
}

void MppiPlanner::Reset(uint64_t seed) {
  rng_.Seed(sim::DeriveSeed(settings_.seed, seed));
  has_plan_ = false;
}

std::span<const double> MppiPlanner::Plan(Dynamics& dynamics) {
  if (dynamics.ActionSpec().Size() != act_dim_) {
    throw sim::BadInput("MPPI: dynamics has " + std::to_string(dynamics.ActionSpec().Size()) +
                        " action values, the planner " + std::to_string(act_dim_));
  }
  const int n = settings_.samples, h = settings_.horizon;
  const int64_t size = static_cast<int64_t>(h) * act_dim_;
  if (has_plan_ && settings_.warm_start) {
    std::copy(nominal_.begin() + act_dim_, nominal_.end(), nominal_.begin());
  } else {
    for (int64_t j = 0; j < size; ++j) nominal_[j] = centre_[j % act_dim_];
  }
  best_cost_ = std::numeric_limits<double>::infinity();
  for (int iteration = 0; iteration < settings_.iterations; ++iteration) {
    // Candidate 0 is the nominal itself; the rest perturb it.
    for (int i = 0; i < n; ++i) {
      double* x = candidates_.data() + i * size;
      for (int64_t j = 0; j < size; ++j) {
        const int64_t k = j % act_dim_;
        const double noise = i == 0 ? 0.0 : settings_.noise_std * half_[k] * rng_.Normal();
        x[j] = std::clamp(nominal_[j] + noise, spec_.low[k], spec_.high[k]);
      }
    }
    dynamics.Evaluate(candidates_, n, h, costs_);
    double lowest = std::numeric_limits<double>::infinity();
    for (double& cost : costs_) {
      if (!std::isfinite(cost)) cost = std::numeric_limits<double>::infinity();
      lowest = std::min(lowest, cost);
    }
    if (!std::isfinite(lowest)) continue;  // nothing usable: keep the nominal
    best_cost_ = std::min(best_cost_, lowest);
    double total = 0.0;
    for (int i = 0; i < n; ++i) {
      weights_[i] = std::exp(-(costs_[i] - lowest) / settings_.temperature);
      total += weights_[i];
    }
    // The nominal becomes the weighted average of the (clipped) candidates.
    for (int64_t j = 0; j < size; ++j) {
      double sum = 0.0;
      for (int i = 0; i < n; ++i) sum += weights_[i] * candidates_[i * size + j];
      nominal_[j] = sum / total;
    }
  }
  has_plan_ = true;
  for (int64_t k = 0; k < act_dim_; ++k) {
    action_[k] = std::clamp(nominal_[k], spec_.low[k], spec_.high[k]);
  }
  return action_;
}

}  // namespace darkmatter::agents
