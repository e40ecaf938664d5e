// driving/lane_keep on Bullet: rest, acceleration in lane, off-road, determinism (runs,
// set_state, EnvPool threads) and the scripted expert.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <vector>

#include "sim/env_pool.h"
#include "sim/hash.h"
#include "tasks/registry.h"

namespace sim = darkmatter::sim;
namespace tasks = darkmatter::tasks;

namespace {

double Info(const sim::Env& env, const sim::StepResult& r, const char* key) {
  const int i = sim::FindInfoKey(env.InfoKeys(), key);
  REQUIRE(i >= 0);
  return r.info[i];
}

// Hash of observations, rewards and flags for `steps` steps of a fixed action pattern.
uint64_t TrajectoryHash(sim::Env& env, uint64_t seed, int steps) {
  sim::Hasher hasher;
  sim::StepResult r = env.Reset(seed);
  hasher.Add(r.observation);
  std::vector<double> action(2);
  for (int i = 0; i < steps && !(r.terminated || r.truncated); ++i) {
    env.ExpertAction(action);
    action[0] += 0.2 * std::sin(0.3 * i);
    r = env.Step(action);
    hasher.Add(r.observation);
    hasher.AddValue(r.reward);
    hasher.Add(r.info);
  }
  return hasher.Value();
}

}  // namespace

TEST_CASE("driving/lane_keep: specs and info keys", "[tasks][driving]") {
  auto env = tasks::MakeEnv("driving/lane_keep");
  CHECK(std::string(env->Backend()) == "bullet");
  CHECK(env->ActionSpec().Size() == 2);
  CHECK(env->ActionSpec().low[0] == -1);
  CHECK(env->ActionSpec().high[1] == 1);
  CHECK(env->InfoKeys()[0] == "diverged");
  for (const char* key : {"success", "collision", "off_road", "route_completion", "mean_speed",
                          "jerk"}) {
    CHECK(sim::FindInfoKey(env->InfoKeys(), key) > 0);
  }
  CHECK(env->HasExpert());
  const sim::StepResult r = env->Reset(3);
  CHECK(static_cast<int64_t>(r.observation.size()) == env->ObservationSpec().Size());
}

TEST_CASE("driving/lane_keep: no throttle stays at rest", "[tasks][driving]") {
  auto env = tasks::MakeEnv("driving/lane_keep");
  sim::StepResult r = env->Reset(1);
  const std::vector<double> action = {0, 0};
  for (int i = 0; i < 50; ++i) r = env->Step(action);
  CHECK(std::abs(Info(*env, r, "speed")) < 0.05);
  CHECK(Info(*env, r, "route_completion") < 0.01);
  CHECK(std::abs(Info(*env, r, "lane_offset")) < 0.05);
  CHECK(Info(*env, r, "collision") == 0);
}

TEST_CASE("driving/lane_keep: full throttle on the straight accelerates and stays in lane",
          "[tasks][driving]") {
  auto env = tasks::MakeEnv("driving/lane_keep");
  sim::StepResult r = env->Reset(2);
  const std::vector<double> action = {0, 1};
  for (int i = 0; i < 40; ++i) r = env->Step(action);  // 4 s on the first 40 m straight
  CHECK(Info(*env, r, "speed") > 8);
  CHECK(Info(*env, r, "speed") < 25);
  CHECK(std::abs(Info(*env, r, "lane_offset")) < 0.3);
  CHECK(Info(*env, r, "off_road") == 0);
  CHECK(!r.terminated);
}

TEST_CASE("driving/lane_keep: steering off the road is detected", "[tasks][driving]") {
  auto env = tasks::MakeEnv("driving/lane_keep");
  sim::StepResult r = env->Reset(4);
  const std::vector<double> action = {-0.6, 0.6};  // to the right, off the road's edge
  int steps = 0;
  while (!r.terminated && !r.truncated && steps < 100) {
    r = env->Step(action);
    ++steps;
  }
  CHECK(r.terminated);
  CHECK(Info(*env, r, "off_road") == 1);
  CHECK(Info(*env, r, "success") == 0);
  CHECK(r.reward < -5);
}

TEST_CASE("driving/lane_keep: identical trajectories across runs and set_state",
          "[tasks][driving][determinism]") {
  auto a = tasks::MakeEnv("driving/lane_keep");
  auto b = tasks::MakeEnv("driving/lane_keep");
  CHECK(TrajectoryHash(*a, 7, 150) == TrajectoryHash(*b, 7, 150));
  CHECK(TrajectoryHash(*a, 7, 150) != TrajectoryHash(*a, 8, 150));

  // Capture mid-episode, keep going; restore into a fresh env: bit-identical futures.
  a->Reset(11);
  std::vector<double> action(2);
  for (int i = 0; i < 60; ++i) {
    a->ExpertAction(action);
    a->Step(action);
  }
  const sim::EnvState state = a->GetState();
  auto c = tasks::MakeEnv("driving/lane_keep");
  c->Reset(99);
  c->SetState(state);
  for (int i = 0; i < 100; ++i) {
    a->ExpertAction(action);
    std::vector<double> action_c(2);
    c->ExpertAction(action_c);
    REQUIRE(action == action_c);
    const sim::StepResult ra = a->Step(action);
    const std::vector<double> obs_a(ra.observation.begin(), ra.observation.end());
    const double reward_a = ra.reward;
    const sim::StepResult rc = c->Step(action_c);
    REQUIRE(std::vector<double>(rc.observation.begin(), rc.observation.end()) == obs_a);
    REQUIRE(rc.reward == reward_a);
    if (ra.terminated || ra.truncated) break;
  }
  CHECK(a->GetState().physics == c->GetState().physics);
}

TEST_CASE("driving/lane_keep: EnvPool results are identical for 1 and 2 threads",
          "[tasks][driving][determinism]") {
  auto run = [](int threads) {
    sim::EnvPool pool([] { return tasks::MakeEnv("driving/lane_keep"); }, 4, threads);
    sim::Hasher hasher;
    sim::BatchView batch = pool.Reset(5);
    hasher.Add(batch.observations);
    std::vector<double> actions(4 * 2);
    for (int t = 0; t < 80; ++t) {
      for (int e = 0; e < 4; ++e) {
        actions[2 * e] = 0.3 * std::sin(0.1 * t + e);
        actions[2 * e + 1] = 0.8;
      }
      batch = pool.Step(actions);
      hasher.Add(batch.observations);
      hasher.Add(batch.rewards);
      hasher.Add(batch.infos);
    }
    return hasher.Value();
  };
  CHECK(run(1) == run(2));
}

TEST_CASE("driving/lane_keep: the expert completes >= 90% of seeds without collision",
          "[tasks][driving][expert]") {
  auto env = tasks::MakeEnv("driving/lane_keep");
  int successes = 0, collisions = 0;
  const int episodes = 10;
  std::vector<double> action(2);
  for (int seed = 0; seed < episodes; ++seed) {
    sim::StepResult r = env->Reset(seed);
    while (!r.terminated && !r.truncated) {
      env->ExpertAction(action);
      r = env->Step(action);
    }
    successes += Info(*env, r, "success") == 1;
    collisions += Info(*env, r, "collision") == 1;
    INFO("seed " << seed << " completion " << Info(*env, r, "route_completion"));
    CHECK(Info(*env, r, "off_road") == 0);
  }
  CHECK(collisions == 0);
  CHECK(successes >= 9);
}
