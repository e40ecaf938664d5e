// physics/dominoes: twins, the solidity violation, hidden properties, labels and the ood split.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "tasks/physics/physics_scene.h"
#include "tests/mujoco_fixture.h"
#include "tests/tasks/physics_test_util.h"

namespace physics = darkmatter::tasks::physics;

namespace darkmatter::testing {
namespace {

constexpr const char* kTask = "physics/dominoes";
// Seeds whose chains reach the domino the impossible twin breaks at.
constexpr uint64_t kViolationSeeds[] = {0, 2, 4, 5};
// Small RGB frames of camera "main".
constexpr ClipRender kFrames = {.width = 48, .height = 36};

// Pose of object i from qpos: centre (m) and rotation matrix (row major).
void Pose(const physics::PhysicsScene& scene, int i, double centre[3], double rot[9]) {
  const mjModel* m = scene.model();
  const double* q = scene.data()->qpos + m->jnt_qposadr[m->body_jntadr[scene.ObjectBody(i)]];
  std::copy(q, q + 3, centre);
  mju_quat2Mat(rot, q + 3);
}

// The dominoes of the chain (not parked behind the camera), in chain order (along +x).
std::vector<int> Chain(const physics::PhysicsScene& scene) {
  std::vector<int> chain;
  for (int i = 0; i < scene.NumObjects(); ++i) {
    if (scene.Position(i)[1] > -1.0) chain.push_back(i);
  }
  std::sort(chain.begin(), chain.end(),
            [&](int a, int b) { return scene.Position(a)[0] < scene.Position(b)[0]; });
  return chain;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "dominoes: a heavy second domino stops the chain",
                 "[tasks][physics][dominoes]") {
  for (uint64_t seed : {0, 7, 13}) {
    INFO("seed " << seed);
    const auto second = [](const physics::PhysicsScene& scene) { return Chain(scene)[1]; };
    std::map<std::string, double> labels[2] = {LabelsWithMass(kTask, seed, second, 0.5),
                                               LabelsWithMass(kTask, seed, second, 5.0)};
    CHECK(labels[0]["completed"] == 1.0);
    CHECK(labels[1]["completed"] == 0.0);
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "dominoes: labels: chains complete on some seeds, the red "
                 "domino reaches the zone on some, completed means the last one fell",
                 "[tasks][physics][dominoes]") {
  auto env = MakePhysics(kTask);
  auto& scene = Scene(*env);
  const int seeds = 30;
  int completed = 0, zone = 0;
  for (uint64_t seed = 0; seed < seeds; ++seed) {
    INFO("seed " << seed);
    env->Reset(seed);
    for (int t = 0; t < env->MaxEpisodeSteps(); ++t) env->Step({});
    auto labels = EpisodeLabelsOf(*env).scalars;
    CHECK(labels["dominoes"] >= 3);
    CHECK(labels["dominoes"] <= 6);
    double centre[3], rot[9];
    Pose(scene, scene.RedObject(), centre, rot);
    CHECK((labels["completed"] == 1.0) == (rot[8] < std::cos(M_PI / 4)));  // tilted > 45 deg
    if (labels["red_touches_zone"] == 1.0) CHECK(labels["completed"] == 1.0);
    completed += labels["completed"] == 1.0;
    zone += labels["red_touches_zone"] == 1.0;
  }
  CHECK(completed >= 0.2 * seeds);
  CHECK(completed <= 0.8 * seeds);
  CHECK(zone >= 0.2 * seeds);
  CHECK(zone <= 0.8 * seeds);
}

TEST_CASE_METHOD(NoMujocoWarnings, "dominoes: the ood split draws outside the training ranges",
                 "[tasks][physics][dominoes]") {
  auto train = MakePhysics(kTask), ood = MakePhysics(kTask, "none", "ood");
  for (uint64_t seed = 0; seed < 10; ++seed) {
    INFO("seed " << seed);
    train->Reset(seed);
    ood->Reset(seed);
    const auto& a = Scene(*train);
    const auto& b = Scene(*ood);
    for (int i = 0; i < a.NumObjects(); ++i) {
      CHECK(a.Mass(i) <= 2.0);
      CHECK(b.Mass(i) >= 3.0);
      CHECK(a.Friction(i) >= 0.4);
      CHECK(b.Friction(i) <= 0.4);
      CHECK(a.Restitution(i) <= 0.4 + 1e-9);
      CHECK(b.Restitution(i) >= 0.4 - 1e-9);
      const double* size_a = a.model()->geom_size + 3 * a.ObjectGeom(i);
      const double* size_b = b.model()->geom_size + 3 * b.ObjectGeom(i);
      CHECK(size_a[2] <= 0.08);  // half height (m)
      CHECK(size_b[2] >= 0.08);
      CHECK(size_a[0] <= 0.012);  // half thickness (m)
      CHECK(size_b[0] >= 0.012);
    }
    // The first domino is pushed harder: it spins faster about +y.
    const int first = Chain(a)[0];
    const mjModel* m = a.model();
    const double wa = a.data()->qvel[m->jnt_dofadr[m->body_jntadr[a.ObjectBody(first)]] + 4];
    const double wb = b.data()->qvel[m->jnt_dofadr[m->body_jntadr[b.ObjectBody(first)]] + 4];
    CHECK(wa <= 6.0);
    CHECK(wb >= 6.0);
  }
}

}  // namespace darkmatter::testing
