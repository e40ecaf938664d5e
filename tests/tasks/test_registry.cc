#include <catch2/catch.hpp>

#include <cmath>

#include "sim/error.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
namespace tasks = darkmatter::tasks;
using darkmatter::testing::NoMujocoWarnings;

TEST_CASE_METHOD(NoMujocoWarnings, "registry: every task builds, resets and steps",
                 "[tasks]") {
  REQUIRE_FALSE(tasks::AllTasks().empty());
  for (const tasks::TaskInfo& task : tasks::AllTasks()) {
    INFO(task.name);
    auto env = task.make({});
    CHECK(env->Name() == task.name);
    CHECK(std::string(env->Backend()) == task.backend);
    const sim::StepResult r = env->Reset(0);
    CHECK(static_cast<int64_t>(r.observation.size()) == env->ObservationSpec().Size());
    std::vector<double> zero(env->ActionSpec().Size(), 0.0);
    const sim::StepResult s = env->Step(zero);
    for (double v : s.observation) CHECK(std::isfinite(v));
  }
}

TEST_CASE("registry: unknown task names the task and lists the known ones", "[tasks][errors]") {
  CHECK_THROWS_AS(tasks::FindTask("nope/nothing"), sim::BadInput);
  CHECK_THROWS_WITH(tasks::FindTask("nope/nothing"),
                    Catch::Contains("nope/nothing") &&
                        Catch::Contains("control/inverted_pendulum"));
}

TEST_CASE_METHOD(NoMujocoWarnings, "inverted_pendulum: balanced pole earns reward, toppled ends",
                 "[tasks]") {
  auto env = tasks::MakeEnv("control/inverted_pendulum");
  sim::StepResult r = env->Reset(3);
  const double none[] = {0.0};
  r = env->Step(none);
  CHECK(r.reward == 1.0);
  CHECK_FALSE(r.terminated);
  // A constant hard push topples the pole: terminated, not truncated, angle past 0.2 rad.
  const double push[] = {3.0};
  int steps = 1;
  while (!r.terminated && !r.truncated) {
    r = env->Step(push);
    ++steps;
  }
  CHECK(r.terminated);
  CHECK_FALSE(r.truncated);
  CHECK(std::abs(r.observation[1]) > 0.2);
  CHECK(steps < 100);
}
