// darkmatter eval plan: P4 goal-conditioned control. Runs a policy on N test seeds of a task
// (the `rollout --split test` seed block, disjoint from the training seeds) and reports the
// success rate, return, collisions (driving), final goal distance (manipulation), and
// seconds and model calls per action.
//
// Policies: cem | mppi (the true simulator as dynamics: the oracle upper bound),
// cem:CKPT | mppi:CKPT (planning in a trained world model toward the goal observation, no
// reward), random | expert (references). Settings: env.* and plan.* as key=value.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agents/expert_agent.h"
#include "agents/latent_planner_agent.h"
#include "agents/planner_agent.h"
#include "agents/random_agent.h"
#include "apps/seed_option.h"
#include "apps/commands.h"
#include "eval/plan_episodes.h"
#include "sim/error.h"
#include "sim/splits.h"
#include "sim/settings.h"
#include "tasks/registry.h"

namespace darkmatter::apps {
namespace {

struct EvalPlanOptions {
  std::string task;
  std::string policy = "cem";
  int episodes = 50;
  uint64_t seed = 0;
  int max_steps = 0;
  std::vector<std::string> overrides;  // key=value (env.*, plan.*)
  bool show_config = false;
  bool json = false;
};

bool IsOraclePlanner(const std::string& policy) { return policy == "cem" || policy == "mppi"; }

// Batched dynamics calls made so far by a planning agent (0 for other agents).
double ModelCalls(agents::Agent& agent) {
  if (auto* latent = dynamic_cast<agents::LatentPlannerAgent*>(&agent)) {
    return latent->PlanStats().at("model_calls");
  }
  if (auto* oracle = dynamic_cast<agents::PlannerAgent*>(&agent)) {
    return oracle->PlanStats().at("model_calls");
  }
  return 0.0;
}

void RunEvalPlan(const EvalPlanOptions& o) {
  if (o.task.empty()) throw sim::BadInput("--task NAME is required");
  sim::SettingsBinder binder;
  sim::EnvSettings env_settings;
  sim::BindEnvSettings(&env_settings, &binder);
  agents::PlanSettings plan;
  agents::LatentPlanSettings latent;
  std::string checkpoint;
  const bool learned = agents::ParseLatentPolicy(o.policy, &latent.plan.planner, &checkpoint);
  if (IsOraclePlanner(o.policy)) {
    plan.planner = o.policy;
    agents::BindPlanSettings(&plan, &binder);
  } else if (learned) {
    agents::BindLatentPlanSettings(&latent, &binder);
  } else if (o.policy != "random" && o.policy != "expert") {
    throw sim::BadInput("--policy '" + o.policy +
                        "': expected cem, mppi, cem:CKPT, mppi:CKPT, random or expert");
  }
  binder.ApplyOverrides(o.overrides);
  if (o.max_steps != 0) env_settings.max_episode_steps = o.max_steps;
  if (o.show_config) {
    std::printf("%s", binder.Describe().c_str());
    return;
  }
  if (o.episodes < 1) throw sim::BadInput("--episodes must be >= 1");
  sim::CheckSeedsInSplitBlock(o.seed, static_cast<uint64_t>(o.episodes), "--seed");
  if (o.max_steps < 0) throw sim::BadInput("--max-steps must be >= 0");
  if (learned && checkpoint.empty()) {
    throw sim::BadInput("--policy " + o.policy + ": give the checkpoint after the colon");
  }
  std::unique_ptr<sim::Env> env = tasks::MakeEnv(o.task, env_settings);
  std::unique_ptr<agents::Agent> agent;
  if (learned) {
    agent = agents::MakeLatentPlannerAgent(checkpoint, *env, latent);
  } else if (IsOraclePlanner(o.policy)) {
    agent = agents::MakeOraclePlannerAgent(*env, o.task, env_settings, plan);
  } else if (o.policy == "expert") {
    if (!env->HasExpert()) throw sim::BadInput("--policy expert: " + o.task + " has no expert");
    agent = std::make_unique<agents::ExpertAgent>(*env);
  } else {
    agent = std::make_unique<agents::RandomAgent>(env->ActionSpec());
  }
  eval::PlanEpisodes run{.task = o.task, .policy = o.policy, .episodes = o.episodes, .seed = o.seed};
  agents::Agent* planning = agent.get();
  const nlohmann::json out = eval::RunPlanEpisodes(
      *env, *agent, run, [planning] { return ModelCalls(*planning); }, binder.Values());
  const double n = o.episodes;
  const int successes = out["successes"];
  const double return_sum = out["mean_return"].get<double>() * n;
  const bool has_collision = out.contains("collisions");
  const bool arm = out.contains("mean_final_goal_distance");
  if (o.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("eval plan: %s, policy %s, %d test episodes (seeds %llu..): success %.1f%%, "
              "mean return %.4g",
              o.task.c_str(), o.policy.c_str(), o.episodes,
              static_cast<unsigned long long>(out["seed_base"].get<uint64_t>() + o.seed),
              100.0 * successes / n, return_sum / n);
  if (has_collision) std::printf(", collisions %d", out["collisions"].get<int>());
  if (arm) std::printf(", final goal distance %.3f m", out["mean_final_goal_distance"].get<double>());
  std::printf(", %.2f ms and %.1f model calls per action\n", out["ms_per_action"].get<double>(),
              out["model_calls_per_action"].get<double>());
}

}  // namespace

void AddEvalPlanCommand(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "plan", "P4 goal-conditioned control: success, return, collisions, time and model calls");
  auto o = std::make_shared<EvalPlanOptions>();
  cmd->add_option("--task", o->task, "Task, e.g. manipulation/reach");
  cmd->add_option("--policy", o->policy,
                  "cem | mppi (true simulator) | cem:CKPT | mppi:CKPT (world model toward the "
                  "goal observation) | random | expert")
      ->capture_default_str();
  cmd->add_option("--episodes", o->episodes, "Test episodes (seeds of the test split)")
      ->check(CLI::Range(1, sim::kMaxSamples))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Episode k uses test seed block + seed + k")
      ->check(SeedValidator())->capture_default_str();
  cmd->add_option("--max-steps", o->max_steps, "Control steps per episode (0: task default)");
  cmd->add_option("overrides", o->overrides, "Settings as key=value (env.*, plan.*)");
  cmd->add_flag("--show-config", o->show_config, "Print every settings key and value, then exit");
  cmd->add_flag("--json", o->json, "Print the results as JSON");
  cmd->callback([o] { RunEvalPlan(*o); });
}

}  // namespace darkmatter::apps
