// PlannerAgent: acts by planning (CEM, MPPI) with the true simulator against the live env:
// before each action it copies the live env's state into the oracle and plans from there.
// Works with RecordEpisode (batch of one).
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
  // Plans for `env` (read only through GetState; must outlive the agent) with `planner` over
  // `oracle`, whose envs must be of the same task and settings as `env`.
  PlannerAgent(const sim::Env& env, std::unique_ptr<Planner> planner,
               std::unique_ptr<OracleDynamics> oracle);
  // Re-seeds the planner from the episode seed and drops its warm start (batch of one).
  void Reset(uint64_t seed, int row) override;
  // Ignores `observations`: captures the live env's state and writes the planned action.
  void Act(std::span<const double> observations, std::span<double> actions) override;
  // Planning statistics since construction: "plans" (actions planned), "plan_seconds",
  // "plan_ms_per_action", "model_calls" (batched oracle calls), "transitions" (oracle steps).
  std::map<std::string, double> PlanStats() const;

  const OracleDynamics& Oracle() const { return *oracle_; }
  Planner& GetPlanner() { return *planner_; }

 private:
  const sim::Env& env_;
  std::unique_ptr<Planner> planner_;
  std::unique_ptr<OracleDynamics> oracle_;
  int64_t plans_ = 0;           // actions planned
  double plan_seconds_ = 0.0;   // wall time spent planning (s)
};

}  // namespace darkmatter::agents
