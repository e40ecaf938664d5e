// physics/collide: hidden properties matter, and the impossible twin breaks solidity.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/mujoco_fixture.h"
#include "tests/tasks/physics_test_util.h"

namespace darkmatter::testing {
namespace {

constexpr const char* kTask = "physics/collide";

// How far the block travels in one clip when the ball has mass `ball_mass`.
double BlockTravel(uint64_t seed, double ball_mass) {
  auto env = MakePhysics(kTask);
  auto& scene = Scene(*env);
  env->Reset(seed);
  const int block = scene.RedObject(), ball = 1 - block;
  scene.SetHiddenProperties(ball, ball_mass, scene.Friction(ball), scene.Restitution(ball));
  const auto start = scene.Position(block);
  for (int t = 0; t < env->MaxEpisodeSteps(); ++t) env->Step({});
  const auto end = scene.Position(block);
  return std::hypot(end[0] - start[0], end[1] - start[1]);
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "collide: a heavier ball moves the block further",
                 "[tasks][physics][collide]") {
  for (uint64_t seed = 0; seed < 4; ++seed) {
    INFO("seed " << seed);
    const double light = BlockTravel(seed, 0.3), heavy = BlockTravel(seed, 3.0);
    CHECK(heavy > light + 0.02);
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "collide: the ood split draws outside the training ranges",
                 "[tasks][physics][collide]") {
  auto train = MakePhysics(kTask), ood = MakePhysics(kTask, "none", "ood");
  for (uint64_t seed = 0; seed < 10; ++seed) {
    train->Reset(seed);
    ood->Reset(seed);
    const int ball = 1 - Scene(*train).RedObject();
    CHECK(Scene(*train).Mass(ball) <= 2.0);
    CHECK(Scene(*ood).Mass(ball) >= 3.0);
    CHECK(Scene(*ood).Velocity(ball)[0] > 2.0);
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "collide: the Physion label varies across seeds",
                 "[tasks][physics][collide]") {
  auto env = MakePhysics(kTask);
  int touched = 0;
  const int seeds = 40;
  for (uint64_t seed = 0; seed < seeds; ++seed) {
    env->Reset(seed);
    for (int t = 0; t < env->MaxEpisodeSteps(); ++t) env->Step({});
    touched += Scene(*env).RedTouchedZone();
  }
  CHECK(touched >= seeds / 10);
  CHECK(touched <= seeds * 9 / 10);
}

}  // namespace darkmatter::testing
