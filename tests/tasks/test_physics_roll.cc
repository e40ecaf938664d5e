// physics/roll: twins, the continuity violation behind the occluder, hidden properties and
// the out-of-distribution split.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "tasks/common/vec3.h"
#include "tasks/physics/physics_scene.h"
#include "tests/mujoco_fixture.h"
#include "tests/tasks/physics_test_util.h"

namespace physics = darkmatter::tasks::physics;

namespace darkmatter::testing {
namespace {

using tasks::Distance;
using tasks::Vec3;

constexpr const char* kTask = "physics/roll";
constexpr int kWidth = 96, kHeight = 72;
const std::vector<uint64_t> kSeeds = {0, 1, 2, 3};

// A clip with the red ball's motion and, when rendered, its pixels.
struct RollClip : Clip {
  std::vector<int> red_pixels;  // (frames) pixels of the red body
  std::vector<Vec3> red_pos;    // (frames) red ball centre (m)
  std::vector<Vec3> red_vel;    // (frames) red ball velocity (m/s)
};

struct Outcome {
  std::vector<double> x;  // (frames) red ball's x (m)
  double slip = 0;        // m/s, speed of the ball's lowest point over the floor at the end
};

// Runs a clip after setting the red ball's sliding friction only.
Outcome WithFriction(uint64_t seed, double friction) {
  auto env = MakePhysics(kTask);
  auto& scene = Scene(*env);
  env->Reset(seed);
  const int red = scene.RedObject();
  scene.SetHiddenProperties(red, scene.Mass(red), friction, scene.Restitution(red));
  Outcome outcome;
  for (int t = 0; t < env->MaxEpisodeSteps(); ++t) {
    env->Step({});
    outcome.x.push_back(scene.Position(red)[0]);
  }
  const mjModel* m = scene.model();
  const double radius = m->geom_size[3 * mj_name2id(m, mjOBJ_GEOM, "red")];
  mjtNum velocity[6];  // world frame: angular, then linear
  mj_objectVelocity(m, scene.data(), mjOBJ_BODY, mj_name2id(m, mjOBJ_BODY, "red"), velocity, 0);
  outcome.slip = std::hypot(velocity[3] - radius * velocity[1], velocity[4] + radius * velocity[0]);
  return outcome;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "roll: a slipperier red ball slides instead of rolling",
                 "[tasks][physics][roll]") {
  // On the slope a nearly frictionless ball slides, accelerating by g (sin a - mu cos a)
  // instead of 5/7 g sin a: it runs ahead, and it ends the clip still sliding over the floor
  // while a grippy ball ends rolling (its lowest point at rest).
  for (uint64_t seed : kSeeds) {
    INFO("seed " << seed);
    const Outcome slippery = WithFriction(seed, 0.01), grippy = WithFriction(seed, 1.0);
    CHECK(slippery.x[19] > grippy.x[19] + 0.01);
    CHECK(slippery.slip > 0.05);
    CHECK(grippy.slip < 0.02);
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "roll: the ood split draws outside the training ranges",
                 "[tasks][physics][roll]") {
  auto train = MakePhysics(kTask), ood = MakePhysics(kTask, "none", "ood");
  const int red_geom = mj_name2id(Scene(*train).model(), mjOBJ_GEOM, "red");
  const int ramp = mj_name2id(Scene(*train).model(), mjOBJ_BODY, "ramp");
  for (uint64_t seed = 0; seed < 10; ++seed) {
    INFO("seed " << seed);
    train->Reset(seed);
    ood->Reset(seed);
    for (auto* env : {train.get(), ood.get()}) {
      const bool is_ood = env == ood.get();
      auto& scene = Scene(*env);
      const int red = scene.RedObject();
      const mjtNum* quat = scene.model()->body_quat + 4 * ramp;
      const double slope = 2 * std::atan2(quat[2], quat[0]) * 180 / M_PI;
      const double radius = scene.model()->geom_size[3 * red_geom];
      for (int i = 0; i < scene.NumObjects(); ++i) {
        CHECK((is_ood ? scene.Mass(i) >= 3.0 : scene.Mass(i) <= 2.0));
        CHECK((is_ood ? scene.Friction(i) <= 0.08 : scene.Friction(i) >= 0.1));
        CHECK((is_ood ? scene.Restitution(i) >= 0.5 : scene.Restitution(i) <= 0.5));
      }
      CHECK((is_ood ? slope >= 30.0 : (slope >= 10.0 && slope <= 30.0)));
      CHECK((is_ood ? radius >= 0.085 : radius <= 0.075));
      const auto v = scene.Velocity(red);  // initial speed down the slope
      CHECK((is_ood ? std::hypot(v[0], v[2]) >= 0.69 : std::hypot(v[0], v[2]) <= 0.61));
    }
  }
}

}  // namespace darkmatter::testing
