// PlannerAgent: acts by planning (CEM, MPPI) over a Dynamics against the live env: before
// each action it hands the live env and its observation to the dynamics (the true
// simulator copies the state; a Python cost or dynamics function keeps the observation) and
// plans from there. Works with RecordEpisode (batch of one).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "agents/agent.h"
#include "agents/cem.h"
#include "agents/dynamics.h"
#include "agents/mppi.h"
#include "agents/oracle_dynamics.h"
#include "sim/env.h"
#include "sim/settings.h"

namespace darkmatter::agents {

// Everything a planning policy needs besides the env: which planner and its settings.
struct PlanSettings {
  std::string planner = "cem";  // "cem" or "mppi"
  CemSettings cem;              // used when planner == "cem"
  MppiSettings mppi;            // used when planner == "mppi"
  OracleSettings oracle;        // oracle worker threads
};

// Binds the chosen planner's settings and the oracle's under `prefix` ("plan.samples", ...,
// "plan.threads"); throws sim::BadInput on an unknown planner.
void BindPlanSettings(PlanSettings* settings, sim::SettingsBinder* binder,
                      const std::string& prefix = "plan.");
// Makes the planner named by settings.planner for `action_spec` (validates its settings).
std::unique_ptr<Planner> MakePlanner(const PlanSettings& settings, const sim::BoxSpec& action_spec);

class PlannerAgent final : public Agent {
 public:
  // Plans for `env` (read only; must outlive the agent) with `planner` over `dynamics`,
  // whose action size must be the env's (an oracle's envs: same task and settings).
  PlannerAgent(const sim::Env& env, std::unique_ptr<Planner> planner,
               std::unique_ptr<Dynamics> dynamics);
  // Re-seeds the planner from the episode seed and drops its warm start (batch of one).
  void Reset(uint64_t seed, int row) override;
  // Starts the dynamics from the live env and `observations`, writes the planned action.
  void Act(std::span<const double> observations, std::span<double> actions) override;
  // Planning statistics since construction: "plans" (actions planned), "plan_seconds",
  // "plan_ms_per_action", "model_calls" (batched dynamics calls), "transitions" (steps
  // simulated or predicted).
  std::map<std::string, double> PlanStats() const;

  const Dynamics& GetDynamics() const { return *dynamics_; }
  Planner& GetPlanner() { return *planner_; }

 private:
  const sim::Env& env_;
  std::unique_ptr<Planner> planner_;
  std::unique_ptr<Dynamics> dynamics_;
  int64_t plans_ = 0;           // actions planned
  double plan_seconds_ = 0.0;   // wall time spent planning (s)
};

// CEM or MPPI (settings.planner) over the true simulator: settings.oracle.threads clones of
// `task` with `env_settings` (observing state only, when the env observes state at all:
// rewards do not depend on frames), acting on `env`, which must be of that task and settings.
std::unique_ptr<PlannerAgent> MakeOraclePlannerAgent(const sim::Env& env, const std::string& task,
                                                     const sim::EnvSettings& env_settings,
                                                     const PlanSettings& settings);

}  // namespace darkmatter::agents
