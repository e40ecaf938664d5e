// darkmatter eval plan: P4 goal-conditioned control. Runs a policy on N test seeds of a task
// (the `rollout --split test` seed block, disjoint from the training seeds) and reports the
// success rate, return, collisions (driving), final goal distance (manipulation), and
// seconds and model calls per action.
//
// Policies: cem | mppi (the true simulator as dynamics: the oracle upper bound),
// cem:CKPT | mppi:CKPT (planning in a trained world model toward the goal observation, no
// reward), random | expert (references). Settings: env.* and plan.* as key=value.
#include <algorithm>
#include <chrono>
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
#include "agents/rollout.h"
#include "apps/commands.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "sim/splits.h"
#include "tasks/manipulation/arm_env.h"
#include "tasks/registry.h"

namespace darkmatter::apps {
namespace {

// The `rollout --split test` seeds.
constexpr uint64_t kTestSeedBase = sim::SplitSeedBase(sim::Split::kTest);

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

// Wraps an agent to time its Act calls.
class TimedAgent final : public agents::Agent {
 public:
  explicit TimedAgent(agents::Agent& inner) : inner_(inner) {}
  void Reset(uint64_t seed, int row) override { inner_.Reset(seed, row); }
  void Act(std::span<const double> observations, std::span<double> actions) override {
    const auto start = std::chrono::steady_clock::now();
    inner_.Act(observations, actions);
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++actions_;
  }
  double Seconds() const { return seconds_; }
  int64_t Actions() const { return actions_; }

 private:
  agents::Agent& inner_;
  double seconds_ = 0.0;
  int64_t actions_ = 0;
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
  if (o.max_steps < 0) throw sim::BadInput("--max-steps must be >= 0");
  if (learned && checkpoint.empty()) {
    throw sim::BadInput("--policy " + o.policy + ": give the checkpoint after the colon");
  }
  std::unique_ptr<sim::Env> env = tasks::MakeEnv(o.task, env_settings);
  std::unique_ptr<agents::Agent> agent;
  if (learned) {
    agent = agents::MakeLatentPlannerAgent(checkpoint, *env, latent);
  } else if (IsOraclePlanner(o.policy)) {
    sim::EnvSettings oracle_settings = env_settings;
    if (sim::WantsState(env_settings)) oracle_settings.observation = "state";
    const std::string task = o.task;
    auto oracle = std::make_unique<agents::OracleDynamics>(
        [task, oracle_settings] { return tasks::MakeEnv(task, oracle_settings); }, plan.oracle);
    agent = std::make_unique<agents::PlannerAgent>(
        *env, agents::MakePlanner(plan, env->ActionSpec()), std::move(oracle));
  } else if (o.policy == "expert") {
    if (!env->HasExpert()) throw sim::BadInput("--policy expert: " + o.task + " has no expert");
    agent = std::make_unique<agents::ExpertAgent>(*env);
  } else {
    agent = std::make_unique<agents::RandomAgent>(env->ActionSpec());
  }
  TimedAgent timed(*agent);
  auto* arm = dynamic_cast<tasks::manipulation::ArmEnv*>(env.get());
  const std::vector<std::string>& keys = env->InfoKeys();
  const bool has_collision =
      std::find(keys.begin(), keys.end(), "collision") != keys.end();
  nlohmann::json per_episode = nlohmann::json::array();
  int successes = 0, collisions = 0;
  int64_t steps = 0;
  double return_sum = 0.0, distance_sum = 0.0;
  for (int k = 0; k < o.episodes; ++k) {
    const uint64_t seed = kTestSeedBase + o.seed + static_cast<uint64_t>(k);
    const sim::Episode episode = agents::RecordEpisode(*env, timed, seed);
    const bool success = episode.AnyInfo("success");
    const bool collision = has_collision && episode.AnyInfo("collision");
    successes += success ? 1 : 0;
    collisions += collision ? 1 : 0;
    steps += episode.Length();
    return_sum += episode.Return();
    nlohmann::json row = {{"seed", seed},
                          {"success", success},
                          {"return", episode.Return()},
                          {"length", episode.Length()}};
    if (has_collision) row["collision"] = collision;
    if (arm != nullptr) {
      row["final_goal_distance"] = arm->GoalDistance();
      distance_sum += arm->GoalDistance();
    }
    per_episode.push_back(row);
  }
  const double n = o.episodes;
  const double actions = std::max<double>(1.0, static_cast<double>(timed.Actions()));
  nlohmann::json out = {{"protocol", "P4"},
                        {"task", o.task},
                        {"policy", o.policy},
                        {"episodes", o.episodes},
                        {"seed", o.seed},
                        {"split", "test"},
                        {"seed_base", kTestSeedBase},
                        {"success_rate", successes / n},
                        {"successes", successes},
                        {"mean_return", return_sum / n},
                        {"steps", steps},
                        {"seconds_per_action", timed.Seconds() / actions},
                        {"ms_per_action", 1e3 * timed.Seconds() / actions},
                        {"model_calls_per_action", ModelCalls(*agent) / actions},
                        {"settings", binder.Values()},
                        {"per_episode", per_episode}};
  if (has_collision) {
    out["collisions"] = collisions;
    out["collision_rate"] = collisions / n;
  }
  if (arm != nullptr) {
    out["mean_final_goal_distance"] = distance_sum / n;
    out["tolerance"] = arm->Tolerance();
  }
  if (o.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("eval plan: %s, policy %s, %d test episodes (seeds %llu..): success %.1f%%, "
              "mean return %.4g",
              o.task.c_str(), o.policy.c_str(), o.episodes,
              static_cast<unsigned long long>(kTestSeedBase + o.seed), 100.0 * successes / n,
              return_sum / n);
  if (has_collision) std::printf(", collisions %d", collisions);
  if (arm != nullptr) std::printf(", final goal distance %.3f m", distance_sum / n);
  std::printf(", %.2f ms and %.1f model calls per action\n", 1e3 * timed.Seconds() / actions,
              ModelCalls(*agent) / actions);
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
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Episode k uses test seed block + seed + k")
      ->capture_default_str();
  cmd->add_option("--max-steps", o->max_steps, "Control steps per episode (0: task default)");
  cmd->add_option("overrides", o->overrides, "Settings as key=value (env.*, plan.*)");
  cmd->add_flag("--show-config", o->show_config, "Print every settings key and value, then exit");
  cmd->add_flag("--json", o->json, "Print the results as JSON");
  cmd->callback([o] { RunEvalPlan(*o); });
}

}  // namespace darkmatter::apps
