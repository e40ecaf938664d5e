// Hidden object properties change the dynamics: the same actions push a heavier or
// grippier block differently.
#include <catch2/catch.hpp>

#include <cmath>

#include "tasks/manipulation/arm_env.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace darkmatter::testing {
namespace {

namespace manipulation = tasks::manipulation;

// The expert's actions for one push episode of `seed`.
std::vector<double> ExpertActions(uint64_t seed, int steps) {
  auto env = tasks::MakeEnv("manipulation/push");
  env->Reset(seed);
  std::vector<double> actions, action(env->ActionSpec().Size());
  for (int t = 0; t < steps; ++t) {
    env->ExpertAction(action);
    actions.insert(actions.end(), action.begin(), action.end());
    const sim::StepResult r = env->Step(action);
    if (r.terminated || r.truncated) break;
  }
  return actions;
}

// Where the block ends after replaying `actions` with the given block mass and friction.
tasks::Vec3 FinalBlock(uint64_t seed, const std::vector<double>& actions, double mass,
                       double friction) {
  auto env = tasks::MakeEnv("manipulation/push");
  auto& arm = dynamic_cast<manipulation::ArmEnv&>(*env);
  env->Reset(seed);
  arm.InterveneHiddenProperties(0, mass, friction);
  const size_t act_dim = env->ActionSpec().Size();
  for (size_t t = 0; t * act_dim < actions.size(); ++t) {
    const sim::StepResult r =
        env->Step(std::span<const double>(actions).subspan(t * act_dim, act_dim));
    if (r.terminated || r.truncated) break;
  }
  return arm.ObjectPosition(0);
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "manipulation: block mass and friction change the outcome "
                 "of the same actions", "[tasks][manipulation][properties]") {
  // A position-servo pusher moves a light block almost the same way on either friction, so
  // friction is asked to matter on most seeds, mass on every one.
  int friction_matters = 0;
  for (uint64_t seed : {0, 1, 2, 3, 4, 5, 6, 7}) {
    INFO("seed " << seed);
    const auto actions = ExpertActions(seed, 60);
    const auto light = FinalBlock(seed, actions, 0.05, 0.3);
    const auto heavy = FinalBlock(seed, actions, 5.0, 0.3);
    const auto grippy = FinalBlock(seed, actions, 0.05, 1.0);
    const auto again = FinalBlock(seed, actions, 0.05, 0.3);
    CHECK(again == light);                          // deterministic
    INFO("mass effect " << tasks::Distance(light, heavy) << " m, friction effect "
         << tasks::Distance(light, grippy) << " m");
    CHECK(tasks::Distance(light, heavy) > 0.003);   // mass matters
    friction_matters += tasks::Distance(light, grippy) > 0.001 ? 1 : 0;
  }
  CHECK(friction_matters >= 6);
}

}  // namespace darkmatter::testing
