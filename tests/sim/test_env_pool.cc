#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "sim/env_pool.h"
#include "sim/error.h"
#include "sim/hash.h"
#include "sim/rng.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
namespace tasks = darkmatter::tasks;
using darkmatter::testing::NoMujocoWarnings;

namespace {

constexpr const char* kTask = "control/inverted_pendulum";

sim::EnvPool MakePool(int envs, int threads) {
  return sim::EnvPool([] { return tasks::MakeEnv(kTask); }, envs, threads);
}

// Hash of `steps` synchronous pool steps with pseudo-random actions (fixed stream).
uint64_t PoolHash(int envs, int threads, int steps) {
  sim::EnvPool pool = MakePool(envs, threads);
  sim::Rng actions_rng(3);
  std::vector<double> actions(envs);
  sim::Hasher hasher;
  sim::BatchView b = pool.Reset(100);
  hasher.Add(b.observations);
  for (int t = 0; t < steps; ++t) {
    for (double& a : actions) a = actions_rng.Uniform(-3, 3);
    b = pool.Step(actions);
    hasher.Add(b.observations);
    hasher.Add(b.rewards);
    hasher.Add(b.terminated);
    hasher.Add(b.truncated);
  }
  return hasher.Value();
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "EnvPool: results are bit-identical for any thread count",
                 "[sim][pool][determinism]") {
  const uint64_t one = PoolHash(6, 1, 300);
  CHECK(PoolHash(6, 2, 300) == one);
  CHECK(PoolHash(6, 4, 300) == one);
  CHECK(PoolHash(6, 1, 300) == one);
}

TEST_CASE_METHOD(NoMujocoWarnings, "EnvPool: env i is seeded seed + i",
                 "[sim][pool][determinism]") {
  sim::EnvPool pool = MakePool(3, 2);
  const sim::BatchView b = pool.Reset(40);
  for (int i = 0; i < 3; ++i) {
    auto env = tasks::MakeEnv(kTask);
    const sim::StepResult r = env->Reset(40 + i);
    const auto row = b.Observation(i);
    CHECK(std::vector<double>(row.begin(), row.end()) ==
          std::vector<double>(r.observation.begin(), r.observation.end()));
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "EnvPool: next-step autoreset semantics",
                 "[sim][pool][autoreset]") {
  // Pushing hard in one direction topples the pole within a few steps.
  sim::EnvPool pool = MakePool(2, 2);
  auto reference = tasks::MakeEnv(kTask);  // replays env 0 by hand
  sim::BatchView b = pool.Reset(7);
  reference->Reset(7);
  const std::vector<double> push = {3.0, 3.0};
  bool saw_done = false;
  for (int t = 0; t < 200 && !saw_done; ++t) {
    b = pool.Step(push);
    const sim::StepResult r = reference->Step(std::span<const double>(push).first(1));
    REQUIRE(b.rewards[0] == r.reward);
    saw_done = b.terminated[0] || b.truncated[0];
    REQUIRE(saw_done == (r.terminated || r.truncated));
  }
  REQUIRE(saw_done);
  // The step after the episode ended resets: action ignored, reward 0, flags clear, and the
  // observation is what a seedless Reset of the same env gives.
  b = pool.Step(push);
  const sim::StepResult reset = reference->Reset(std::nullopt);
  CHECK(b.rewards[0] == 0.0);
  CHECK_FALSE(b.terminated[0]);
  CHECK_FALSE(b.truncated[0]);
  const auto row = b.Observation(0);
  CHECK(std::vector<double>(row.begin(), row.end()) ==
        std::vector<double>(reset.observation.begin(), reset.observation.end()));
  // And the episode continues normally afterwards.
  b = pool.Step(push);
  CHECK(b.rewards[0] == 1.0);
}

TEST_CASE_METHOD(NoMujocoWarnings, "EnvPool: async send/recv returns every env once",
                 "[sim][pool][async]") {
  sim::EnvPool pool = MakePool(4, 2);
  pool.Reset(0);
  const std::vector<double> actions = {0.1, -0.1, 0.2, -0.2};
  const std::vector<int> ids = {0, 1, 2, 3};
  pool.Send(actions, ids);
  std::multiset<int> seen;
  sim::BatchView first = pool.Recv(2);
  CHECK(first.Size() == 2);
  for (int id : first.env_ids) seen.insert(id);
  sim::BatchView second = pool.Recv(2);
  for (int id : second.env_ids) seen.insert(id);
  CHECK(seen == std::multiset<int>{0, 1, 2, 3});
  // Async results equal the synchronous ones env by env.
  sim::EnvPool sync = MakePool(4, 1);
  sync.Reset(0);
  const sim::BatchView s = sync.Step(actions);
  const int id = second.env_ids[1];
  const auto async_row = second.Observation(1), sync_row = s.Observation(id);
  CHECK(std::vector<double>(async_row.begin(), async_row.end()) ==
        std::vector<double>(sync_row.begin(), sync_row.end()));
}

TEST_CASE_METHOD(NoMujocoWarnings, "EnvPool: bad actions and ids are rejected",
                 "[sim][pool][errors]") {
  sim::EnvPool pool = MakePool(2, 2);
  pool.Reset(0);
  CHECK_THROWS_AS(pool.Step(std::vector<double>{0.0}), sim::BadInput);
  CHECK_THROWS_WITH(pool.Step(std::vector<double>{0.0, std::nan("")}),
                    Catch::Contains("env 1") && Catch::Contains("NaN"));
  const std::vector<double> one = {0.0};
  const std::vector<int> bad_id = {5};
  CHECK_THROWS_WITH(pool.Send(one, bad_id), Catch::Contains("out of range"));
  const std::vector<int> id0 = {0};
  pool.Send(one, id0);
  CHECK_THROWS_WITH(pool.Send(one, id0), Catch::Contains("in flight"));
  CHECK(pool.Recv(1).env_ids[0] == 0);
  const std::vector<double> two = {0.0, 0.0};
  const std::vector<int> twice = {1, 1};
  CHECK_THROWS_WITH(pool.Send(two, twice), Catch::Contains("env 1") && Catch::Contains("twice"));
  const std::vector<double> bad_second = {0.0, std::nan("")};
  CHECK_THROWS_WITH(pool.Send(bad_second, std::vector<int>{0, 1}), Catch::Contains("env 1"));
  // The pool still works after rejected input (rejected sends queued nothing).
  CHECK(pool.Step(std::vector<double>{0.0, 0.0}).Size() == 2);
}

TEST_CASE_METHOD(NoMujocoWarnings, "EnvPool: workers render pixel observations in parallel, "
                 "identically for any thread count", "[sim][pool][render]") {
  auto pixels_hash = [](int threads) {
    sim::EnvSettings settings;
    settings.observation = "state+pixels";
    settings.frame_width = 24;
    settings.frame_height = 16;
    sim::EnvPool pool([&] { return tasks::MakeEnv(kTask, settings); }, 4, threads);
    sim::Hasher hasher;
    sim::BatchView b = pool.Reset(5);
    REQUIRE(b.pixel_dim == 24 * 16 * 3);
    REQUIRE(b.pixels.size() == 4 * 24 * 16 * 3);
    hasher.Add(b.pixels);
    const std::vector<double> actions = {1.0, -1.0, 0.5, -0.5};
    for (int t = 0; t < 20; ++t) hasher.Add(pool.Step(actions).pixels);
    return hasher.Value();
  };
  const uint64_t one = pixels_hash(1);
  CHECK(pixels_hash(2) == one);
  CHECK(pixels_hash(4) == one);
}
