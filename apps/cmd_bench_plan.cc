// darkmatter bench plan: milliseconds per action of planning in the state-based world model
// (a `jepa` with the `train` defaults, sized for manipulation/push; untrained weights: the
// cost of a plan does not depend on them) with CEM and MPPI, against CEM over the true
// simulator (the oracle), all on one core by default. Each planner acts in a live push
// episode (encode the observation, plan, step); warm-up actions are not timed.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agents/latent_planner_agent.h"
#include "agents/oracle_dynamics.h"
#include "agents/planner_agent.h"
#include "apps/bench_util.h"
#include "apps/commands.h"
#include "sim/error.h"
#include "sim/rng.h"
#include "sim/settings.h"
#include "tasks/registry.h"
#include "worldmodel/trainer.h"
#include "worldmodel/world_model.h"

namespace darkmatter::apps {
namespace {

struct BenchPlanOptions {
  std::string task = "manipulation/push";  // task whose sizes and episodes are used
  int samples = 256;                       // candidates per iteration
  int horizon = 10;                        // actions per candidate
  int iterations = 5;                      // planner iterations per action
  int actions = 30;                        // timed actions per world-model planner
  int oracle_actions = 3;                  // timed actions of the oracle (slow)
  int warmup = 3;                          // untimed actions before each measurement
  int threads = 1;                         // torch threads (and oracle threads)
  bool skip_oracle = false;
  bool json = false;
};

// The `train --model jepa` default model for `env`'s state and action sizes.
worldmodel::ModelOptions DefaultStateJepa(const sim::Env& env) {
  const worldmodel::TrainSettings s;
  worldmodel::ModelOptions o;
  o.model = "jepa";
  o.input = "state";
  o.obs_dim = env.ObservationSpec().Size();
  o.act_dim = env.ActionSpec().Size();
  o.latent_dim = s.latent_dim;
  o.hidden = s.hidden;
  o.channels = s.channels;
  o.context = s.context;
  o.horizon = s.horizon;
  o.ema = s.ema;
  return o;
}

// CPU seconds used by the calling thread (with one torch thread, all of the planning).
double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

struct Timing {
  double ms_per_action = 0.0;      // wall-clock
  double cpu_ms_per_action = 0.0;  // CPU time of the planning thread (robust to a busy machine)
  double model_ms_per_action = 0.0;  // of which batched model calls (world models only)
  double model_calls_per_action = 0.0;
  int actions = 0;
};

// Acts `warmup` untimed then `timed` timed steps in an episode of `env` (resetting when
// it ends); `model_calls` reads the planner's dynamics counter.
template <typename ModelCalls>
Timing TimeAgent(sim::Env& env, agents::Agent& agent, int warmup, int timed,
                 ModelCalls model_calls) {
  std::vector<double> action(env.ActionSpec().Size());
  uint64_t seed = 0;
  agent.Reset(seed, 0);
  sim::StepResult result = env.Reset(seed);
  std::vector<double> obs(result.observation.begin(), result.observation.end());
  double seconds = 0.0, cpu_seconds = 0.0;
  int64_t calls_before = 0;
  for (int k = 0; k < warmup + timed; ++k) {
    if (k == warmup) calls_before = model_calls();
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = ThreadCpuSeconds();
    agent.Act(obs, action);
    if (k >= warmup) {
      seconds += SecondsSince(start);
      cpu_seconds += ThreadCpuSeconds() - cpu_start;
    }
    result = env.Step(action);
    obs.assign(result.observation.begin(), result.observation.end());
    if (result.terminated || result.truncated) {
      agent.Reset(++seed, 0);
      result = env.Reset(seed);
      obs.assign(result.observation.begin(), result.observation.end());
    }
  }
  Timing timing;
  timing.actions = timed;
  timing.ms_per_action = timed > 0 ? 1e3 * seconds / timed : 0.0;
  timing.cpu_ms_per_action = timed > 0 ? 1e3 * cpu_seconds / timed : 0.0;
  timing.model_calls_per_action =
      timed > 0 ? static_cast<double>(model_calls() - calls_before) / timed : 0.0;
  return timing;
}

agents::PlanSettings Settings(const BenchPlanOptions& o, const std::string& planner) {
  agents::PlanSettings plan;
  plan.planner = planner;
  plan.cem.samples = o.samples;
  plan.cem.horizon = o.horizon;
  plan.cem.iterations = o.iterations;
  plan.cem.elites = std::max(1, std::min(o.samples, o.samples / 8));
  plan.mppi.samples = o.samples;
  plan.mppi.horizon = o.horizon;
  plan.mppi.iterations = o.iterations;
  plan.oracle.threads = o.threads;
  return plan;
}

// World-model planning with `planner` over a fresh untrained default jepa.
Timing TimeWorldModel(const BenchPlanOptions& o, const std::string& planner) {
  std::unique_ptr<sim::Env> env = tasks::MakeEnv(o.task, {});
  torch::manual_seed(0);
  auto model = worldmodel::MakeWorldModel(DefaultStateJepa(*env));
  agents::LatentPlanSettings settings;
  settings.plan = Settings(o, planner);
  auto dynamics = std::make_unique<agents::WorldModelDynamics>(model, env->ActionSpec(),
                                                               torch::kCPU, settings.cost);
  agents::LatentPlannerAgent agent(
      *env, agents::MakePlanner(settings.plan, env->ActionSpec()), std::move(dynamics),
      settings);
  Timing timing = TimeAgent(*env, agent, o.warmup, o.actions,
                            [&] { return agent.Dynamics().Stats().model_calls; });
  // The model's share: the same number of batched calls on fixed random candidates.
  agents::WorldModelDynamics& model_dynamics = agent.Dynamics();
  std::vector<double> candidates(static_cast<size_t>(o.samples) * o.horizon *
                                 env->ActionSpec().Size());
  std::vector<double> costs(o.samples);
  sim::Rng rng(1);
  for (double& value : candidates) value = rng.Uniform(-0.5, 0.5);
  const int calls = o.iterations * o.actions;
  for (int k = 0; k < o.iterations; ++k) model_dynamics.Evaluate(candidates, o.samples, o.horizon, costs);
  const double cpu_start = ThreadCpuSeconds();
  for (int k = 0; k < calls; ++k) model_dynamics.Evaluate(candidates, o.samples, o.horizon, costs);
  timing.model_ms_per_action = 1e3 * (ThreadCpuSeconds() - cpu_start) / o.actions;
  return timing;
}

// CEM over the true simulator (o.threads cloned envs).
Timing TimeOracle(const BenchPlanOptions& o) {
  std::unique_ptr<sim::Env> env = tasks::MakeEnv(o.task, {});
  const agents::PlanSettings plan = Settings(o, "cem");
  auto agent = agents::MakeOraclePlannerAgent(*env, o.task, {}, plan);
  return TimeAgent(*env, *agent, 1, o.oracle_actions,
                   [&] { return agent->GetDynamics().Stats().model_calls; });
}

void RunBenchPlan(const BenchPlanOptions& o) {
  if (o.samples < 2) throw sim::BadInput("--samples must be >= 2");
  if (o.horizon < 1) throw sim::BadInput("--horizon must be >= 1");
  if (o.iterations < 1) throw sim::BadInput("--iterations must be >= 1");
  if (o.actions < 1) throw sim::BadInput("--actions must be >= 1");
  if (o.oracle_actions < 1) throw sim::BadInput("--oracle-actions must be >= 1");
  if (o.warmup < 0) throw sim::BadInput("--warmup must be >= 0");
  if (o.threads < 1) throw sim::BadInput("--threads must be >= 1");
  tasks::MakeEnv(o.task, {});  // unknown task: BadInput before any timing
  const int threads_before = torch::get_num_threads();
  torch::set_num_threads(o.threads);
  const Timing cem = TimeWorldModel(o, "cem");
  const Timing mppi = TimeWorldModel(o, "mppi");
  Timing oracle;
  if (!o.skip_oracle) oracle = TimeOracle(o);
  torch::set_num_threads(threads_before);
  const double candidates_per_action = static_cast<double>(o.samples) * o.iterations;
  constexpr double kTargetMs = 20.0;
  if (o.json) {
    nlohmann::json out = {
        {"task", o.task},
        {"model", "jepa (train defaults, state, untrained)"},
        {"samples", o.samples},
        {"horizon", o.horizon},
        {"iterations", o.iterations},
        {"threads", o.threads},
        {"actions", o.actions},
        {"warmup", o.warmup},
        {"cem_ms_per_action", cem.ms_per_action},
        {"cem_cpu_ms_per_action", cem.cpu_ms_per_action},
        {"cem_model_cpu_ms_per_action", cem.model_ms_per_action},
        {"cem_model_calls_per_action", cem.model_calls_per_action},
        {"mppi_ms_per_action", mppi.ms_per_action},
        {"mppi_cpu_ms_per_action", mppi.cpu_ms_per_action},
        {"mppi_model_calls_per_action", mppi.model_calls_per_action},
        {"predicted_steps_per_s",
         candidates_per_action * o.horizon / std::max(cem.ms_per_action * 1e-3, 1e-12)},
        {"target_ms_per_action", kTargetMs},
        {"cem_within_target", cem.ms_per_action <= kTargetMs},
        {"cem_cpu_within_target", cem.cpu_ms_per_action <= kTargetMs}};
    if (!o.skip_oracle) {
      out["oracle_cem_ms_per_action"] = oracle.ms_per_action;
      out["oracle_cem_cpu_ms_per_action"] = oracle.cpu_ms_per_action;
      out["oracle_actions"] = oracle.actions;
      out["oracle_model_calls_per_action"] = oracle.model_calls_per_action;
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("bench plan: %s, %d samples x horizon %d x %d iterations, %d torch thread(s)\n",
              o.task.c_str(), o.samples, o.horizon, o.iterations, o.threads);
  std::printf("  world model (jepa, state)  cem  %8.2f ms/action wall, %.2f CPU (model %.2f; "
              "%.0f model calls/action)%s\n",
              cem.ms_per_action, cem.cpu_ms_per_action, cem.model_ms_per_action,
              cem.model_calls_per_action,
              cem.ms_per_action <= kTargetMs ? "" : "  [wall above the 20 ms target]");
  std::printf("  world model (jepa, state)  mppi %8.2f ms/action wall, %.2f CPU (model %.2f)\n",
              mppi.ms_per_action, mppi.cpu_ms_per_action, mppi.model_ms_per_action);
  if (!o.skip_oracle) {
    std::printf("  oracle (MuJoCo)            cem  %8.2f ms/action wall, %.2f CPU (%d actions)\n",
                oracle.ms_per_action, oracle.cpu_ms_per_action, oracle.actions);
  }
}

}  // namespace

void AddBenchPlanCommand(CLI::App& bench) {
  auto* cmd = bench.add_subcommand(
      "plan", "Planning ms/action: CEM and MPPI in a state jepa vs CEM with the simulator");
  auto o = std::make_shared<BenchPlanOptions>();
  cmd->add_option("--task", o->task, "Task (state and action sizes, episodes)")
      ->capture_default_str();
  cmd->add_option("--samples", o->samples, "Candidates per iteration")
      ->check(CLI::Range(2, sim::kMaxSamples))->capture_default_str();
  cmd->add_option("--horizon", o->horizon, "Actions per candidate")
      ->check(CLI::Range(1, sim::kMaxWindow))->capture_default_str();
  cmd->add_option("--iterations", o->iterations, "Planner iterations per action")
      ->check(CLI::Range(1, sim::kMaxWindow))
      ->capture_default_str();
  cmd->add_option("--actions", o->actions, "Timed actions per world-model planner")
      ->capture_default_str();
  cmd->add_option("--oracle-actions", o->oracle_actions, "Timed actions of the oracle")
      ->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed actions first")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Torch threads (and oracle envs)")
      ->check(CLI::Range(1, sim::kMaxThreads))
      ->capture_default_str();
  cmd->add_flag("--skip-oracle", o->skip_oracle, "Do not time the oracle");
  cmd->add_flag("--json", o->json, "Print the figures as JSON");
  cmd->callback([o] { RunBenchPlan(*o); });
}

}  // namespace darkmatter::apps
