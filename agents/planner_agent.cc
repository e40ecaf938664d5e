#include "agents/planner_agent.h"

#include <algorithm>
#include <chrono>

#include "sim/error.h"
#include "tasks/registry.h"

namespace darkmatter::agents {

void BindPlanSettings(PlanSettings* settings, sim::SettingsBinder* binder,
                      const std::string& prefix) {
  if (settings->planner == "cem") {
    BindCemSettings(&settings->cem, binder, prefix);
  } else if (settings->planner == "mppi") {
    BindMppiSettings(&settings->mppi, binder, prefix);
  } else {
    throw sim::BadInput("unknown planner '" + settings->planner + "' (expected cem or mppi)");
  }
  binder->Bind(prefix + "threads", &settings->oracle.threads,
               "oracle worker threads (cloned envs) per planning agent");
}

std::unique_ptr<Planner> MakePlanner(const PlanSettings& settings,
                                     const sim::BoxSpec& action_spec) {
  if (settings.planner == "cem") return std::make_unique<CemPlanner>(settings.cem, action_spec);
  if (settings.planner == "mppi") {
    return std::make_unique<MppiPlanner>(settings.mppi, action_spec);
  }
  throw sim::BadInput("unknown planner '" + settings.planner + "' (expected cem or mppi)");
}

PlannerAgent::PlannerAgent(const sim::Env& env, std::unique_ptr<Planner> planner,
                           std::unique_ptr<Dynamics> dynamics)
    : env_(env), planner_(std::move(planner)), dynamics_(std::move(dynamics)) {
  if (dynamics_->ActionSpec().Size() != env.ActionSpec().Size()) {
    throw sim::BadInput("planner: dynamics and " + env.Name() + " differ in action size");
  }
}

void PlannerAgent::Reset(uint64_t seed, int row) { planner_->Reset(seed); }

void PlannerAgent::Act(std::span<const double> observations, std::span<double> actions) {
  const auto start = std::chrono::steady_clock::now();
  dynamics_->StartFrom(env_, observations);
  const std::span<const double> action = planner_->Plan(*dynamics_);
  std::copy(action.begin(), action.end(), actions.begin());
  plan_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++plans_;
}

std::map<std::string, double> PlannerAgent::PlanStats() const {
  const DynamicsStats& stats = dynamics_->Stats();
  return {{"plans", static_cast<double>(plans_)},
          {"plan_seconds", plan_seconds_},
          {"plan_ms_per_action", plans_ > 0 ? 1e3 * plan_seconds_ / plans_ : 0.0},
          {"model_calls", static_cast<double>(stats.model_calls)},
          {"transitions", static_cast<double>(stats.transitions)}};
}

std::unique_ptr<PlannerAgent> MakeOraclePlannerAgent(const sim::Env& env, const std::string& task,
                                                     const sim::EnvSettings& env_settings,
                                                     const PlanSettings& settings) {
  sim::EnvSettings oracle_settings = env_settings;
  if (sim::WantsState(env_settings)) oracle_settings.observation = "state";
  auto oracle = std::make_unique<OracleDynamics>(
      [task, oracle_settings] { return tasks::MakeEnv(task, oracle_settings); }, settings.oracle);
  return std::make_unique<PlannerAgent>(env, MakePlanner(settings, env.ActionSpec()),
                                        std::move(oracle));
}

}  // namespace darkmatter::agents
