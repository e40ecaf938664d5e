// CEM and MPPI over the oracle (true simulator) Dynamics: thread-count invariance of the
// oracle's costs, reproducible plans, and behaviour (goal reached, car kept on the road, better
// return than a random policy) with small budgets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agents/cem.h"
#include "agents/mppi.h"
#include "agents/oracle_dynamics.h"
#include "agents/planner_agent.h"
#include "agents/random_agent.h"
#include "agents/rollout.h"
#include "sim/error.h"
#include "sim/rng.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
namespace agents = darkmatter::agents;
namespace tasks = darkmatter::tasks;
using darkmatter::testing::NoMujocoWarnings;

namespace {

const std::string kReach = "manipulation/reach";
const std::string kLaneKeep = "driving/lane_keep";

std::unique_ptr<agents::OracleDynamics> MakeOracle(const std::string& task,
                                                   const sim::EnvSettings& settings,
                                                   int threads) {
  return std::make_unique<agents::OracleDynamics>(
      [task, settings] { return tasks::MakeEnv(task, settings); },
      agents::OracleSettings{.threads = threads});
}

// A planning agent for `env` (of `task` with `settings`).
std::unique_ptr<agents::PlannerAgent> MakeAgent(const sim::Env& env, const std::string& task,
                                                const sim::EnvSettings& settings,
                                                const agents::PlanSettings& plan) {
  return agents::MakeOraclePlannerAgent(env, task, settings, plan);
}

// Uniform random candidate sequences within the bounds (N x H x act_dim).
std::vector<double> RandomSequences(const sim::BoxSpec& spec, int n, int h, uint64_t seed) {
  sim::Rng rng(seed);
  const int64_t a = spec.Size();
  std::vector<double> actions(n * h * a);
  for (size_t j = 0; j < actions.size(); ++j) {
    actions[j] = rng.Uniform(spec.low[j % a], spec.high[j % a]);
  }
  return actions;
}

// True when any step's info `key` is set.
bool Any(const sim::Episode& e, const std::string& key) { return e.AnyInfo(key); }

agents::PlanSettings ReachCem() {
  agents::PlanSettings plan;
  plan.planner = "cem";
  plan.cem = {.samples = 24, .elites = 4, .iterations = 2, .horizon = 6, .init_std = 0.5,
              .min_std = 0.05, .momentum = 0.1, .seed = 1};
  return plan;
}

agents::PlanSettings ReachMppi() {
  agents::PlanSettings plan;
  plan.planner = "mppi";
  plan.mppi = {.samples = 24, .horizon = 6, .iterations = 2, .noise_std = 0.3,
               .temperature = 0.02, .seed = 1};
  return plan;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings,
                 "OracleDynamics: costs are -sum of rewards, same for 1 and 2 threads",
                 "[agents][planners][oracle]") {
  for (const std::string& task : {kReach, kLaneKeep}) {
    INFO(task);
    auto live = tasks::MakeEnv(task);
    live->Reset(7);
    std::vector<double> zero(live->ActionSpec().Size(), 0.0);
    for (int t = 0; t < 3; ++t) live->Step(zero);
    const sim::EnvState start = live->GetState();
    const int n = 9, h = 5;
    const std::vector<double> actions = RandomSequences(live->ActionSpec(), n, h, 3);
    auto one = MakeOracle(task, {}, 1), two = MakeOracle(task, {}, 2);
    one->SetStart(start);
    two->SetStart(start);
    std::vector<double> costs1(n), costs2(n), again(n);
    one->Evaluate(actions, n, h, costs1);
    two->Evaluate(actions, n, h, costs2);
    two->Evaluate(actions, n, h, again);  // envs reused from another candidate
    CHECK(costs1 == costs2);                // bit-identical
    CHECK(costs2 == again);
    CHECK(one->Stats().model_calls == 1);
    CHECK(two->Stats().model_calls == 2);
    CHECK(two->Stats().candidates == 2 * n);
    CHECK(one->Stats().transitions == n * h);
    // Candidate 4 replayed by hand on a fresh env.
    auto replay = tasks::MakeEnv(task);
    replay->SetState(start);
    const int64_t a = live->ActionSpec().Size();
    double cost = 0.0;
    for (int t = 0; t < h; ++t) {
      cost -= replay->Step(std::span<const double>(actions).subspan((4 * h + t) * a, a)).reward;
    }
    CHECK(costs1[4] == cost);
    // Costs differ between candidates (the actions matter).
    CHECK(*std::min_element(costs1.begin(), costs1.end()) <
          *std::max_element(costs1.begin(), costs1.end()));
    // Wrong sizes are BadInput.
    CHECK_THROWS_AS(one->Evaluate(actions, n + 1, h, costs1), sim::BadInput);
  }
}

TEST_CASE("Planner settings: out-of-range values are BadInput naming key and value",
          "[agents][planners]") {
  const sim::BoxSpec spec{{2}, {-1, -1}, {1, 1}, "float64"};
  CHECK_THROWS_WITH(agents::CemPlanner({.samples = 0}, spec), Catch::Contains("plan.samples=0"));
  CHECK_THROWS_WITH(agents::CemPlanner({.samples = 4, .elites = 5}, spec),
                    Catch::Contains("plan.elites=5"));
  CHECK_THROWS_WITH(agents::CemPlanner({.momentum = 1.5}, spec),
                    Catch::Contains("plan.momentum=1.5"));
  CHECK_THROWS_WITH(agents::MppiPlanner({.horizon = -3}, spec), Catch::Contains("plan.horizon=-3"));
  CHECK_THROWS_WITH(agents::MppiPlanner({.temperature = 0}, spec),
                    Catch::Contains("plan.temperature=0"));
  CHECK_THROWS_AS(agents::OracleDynamics([] { return tasks::MakeEnv(kReach); }, {.threads = 0}),
                  sim::BadInput);
  agents::PlanSettings plan;
  plan.planner = "ilqr";
  sim::SettingsBinder binder;
  CHECK_THROWS_WITH(agents::BindPlanSettings(&plan, &binder), Catch::Contains("ilqr"));
}

TEST_CASE_METHOD(NoMujocoWarnings,
                 "Planners: same seed gives identical actions, in bounds, for any thread count",
                 "[agents][planners]") {
  for (const std::string& task : std::vector<std::string>{kReach, kLaneKeep}) {
    for (const std::string planner : {"cem", "mppi"}) {
      INFO(task << " " << planner);
      agents::PlanSettings plan = planner == "cem" ? ReachCem() : ReachMppi();
      auto env_a = tasks::MakeEnv(task), env_b = tasks::MakeEnv(task);
      plan.oracle.threads = 1;
      auto a = MakeAgent(*env_a, task, {}, plan);
      plan.oracle.threads = 2;
      auto b = MakeAgent(*env_b, task, {}, plan);
      const sim::BoxSpec& spec = env_a->ActionSpec();
      a->Reset(5, 0);
      b->Reset(5, 0);
      sim::StepResult ra = env_a->Reset(5);
      env_b->Reset(5);
      std::vector<double> x(spec.Size()), y(spec.Size());
      for (int t = 0; t < 5 && !ra.terminated; ++t) {
        a->Act(ra.observation, x);
        b->Act({}, y);
        REQUIRE(x == y);
        for (int k = 0; k < spec.Size(); ++k) {
          CHECK(x[k] >= spec.low[k]);
          CHECK(x[k] <= spec.high[k]);
        }
        ra = env_a->Step(x);
        env_b->Step(y);
      }
      // A different seed plans differently.
      auto env_c = tasks::MakeEnv(task);
      plan.cem.seed = plan.mppi.seed = 99;
      auto c = MakeAgent(*env_c, task, {}, plan);
      c->Reset(5, 0);
      env_c->Reset(5);
      env_a->Reset(5);
      a->Reset(5, 0);
      a->Act({}, x);
      c->Act({}, y);
      CHECK(x != y);
    }
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "Planners with the oracle reach the goal on manipulation/reach",
                 "[agents][planners][reach]") {
  for (const std::string planner : {"cem", "mppi"}) {
    for (uint64_t seed : {11, 12}) {
      INFO(planner << " seed " << seed);
      const agents::PlanSettings plan = planner == "cem" ? ReachCem() : ReachMppi();
      auto env = tasks::MakeEnv(kReach);
      auto agent = MakeAgent(*env, kReach, {}, plan);
      const auto start = std::chrono::steady_clock::now();
      const sim::Episode e = agents::RecordEpisode(*env, *agent, seed);
      const double seconds = Seconds(start);
      const auto stats = agent->PlanStats();
      INFO(planner << " reach seed " << seed << ": " << e.Length() << " steps, "
                   << stats.at("plan_ms_per_action") << " ms/action, " << seconds << " s");
      CHECK(e.FinalInfo("success") == 1.0);
      CHECK(e.terminations.back());
      CHECK(stats.at("model_calls") == stats.at("plans") * 2);  // one call per iteration
    }
  }
}

TEST_CASE("Planners with the oracle keep driving/lane_keep on the road",
          "[agents][planners][driving]") {
  sim::EnvSettings settings;
  settings.max_episode_steps = 80;  // 8 s at 10 Hz, past the first bend
  auto random_env = tasks::MakeEnv(kLaneKeep, settings);
  agents::RandomAgent random(random_env->ActionSpec());
  const sim::Episode randomly = agents::RecordEpisode(*random_env, random, 21);
  for (const std::string planner : {"cem", "mppi"}) {
    INFO(planner);
    agents::PlanSettings plan;
    plan.planner = planner;
    plan.cem = {.samples = 16, .elites = 4, .iterations = 2, .horizon = 8, .seed = 2};
    plan.mppi = {.samples = 16, .horizon = 8, .iterations = 2, .noise_std = 0.3,
                 .temperature = 0.05, .seed = 2};
    auto env = tasks::MakeEnv(kLaneKeep, settings);
    auto agent = MakeAgent(*env, kLaneKeep, settings, plan);
    const auto start = std::chrono::steady_clock::now();
    const sim::Episode e = agents::RecordEpisode(*env, *agent, 21);
    INFO(planner << " lane_keep: " << e.Length() << " steps, return " << e.Return()
                 << " (random " << randomly.Return() << "), completion "
                 << e.FinalInfo("route_completion") << ", "
                 << agent->PlanStats().at("plan_ms_per_action") << " ms/action, "
                 << Seconds(start) << " s");
    CHECK(e.Length() == 80);  // the whole episode, to the time limit
    CHECK(e.truncations.back());
    CHECK_FALSE(Any(e, "off_road"));
    CHECK_FALSE(Any(e, "collision"));
    // It drives along the road, well ahead of a random policy.
    CHECK(e.FinalInfo("route_completion") > randomly.FinalInfo("route_completion") + 0.1);
    CHECK(e.FinalInfo("mean_speed") > 5.0);  // m/s (targets are 12-16 m/s)
  }
}

TEST_CASE("A planner over the oracle beats a random policy's return",
          "[agents][planners][driving]") {
  sim::EnvSettings settings;
  settings.max_episode_steps = 30;
  agents::PlanSettings plan;
  plan.cem = {.samples = 12, .elites = 3, .iterations = 2, .horizon = 6, .seed = 3};
  auto env = tasks::MakeEnv(kLaneKeep, settings);
  auto planner = MakeAgent(*env, kLaneKeep, settings, plan);
  agents::RandomAgent random(env->ActionSpec());
  const sim::Episode planned = agents::RecordEpisode(*env, *planner, 8);
  const sim::Episode randomly = agents::RecordEpisode(*env, random, 8);
  INFO("planner " << planned.Return() << " random " << randomly.Return());
  CHECK(planned.Return() > randomly.Return() + 5.0);
}
