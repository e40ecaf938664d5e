// physics/stack: twins, the gravity violation, hidden properties, labels and the ood split.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "tests/mujoco_fixture.h"
#include "tests/tasks/physics_test_util.h"

namespace darkmatter::testing {
namespace {

constexpr const char* kTask = "physics/stack";
// Seeds whose towers topple, so that the impossible twin has something to violate.
constexpr uint64_t kToppleSeeds[] = {1, 2, 3, 5, 7};
// Small RGB frames of camera "main".
constexpr ClipRender kFrames = {.width = 48, .height = 36};

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "stack: a heavier red block topples a tower that stands "
                 "with a light one", "[tasks][physics][stack]") {
  for (uint64_t seed : {24, 48, 75}) {
    INFO("seed " << seed);
    const auto red = [](const tasks::physics::PhysicsScene& scene) { return scene.RedObject(); };
    std::map<std::string, double> labels[2] = {LabelsWithMass(kTask, seed, red, 0.5),
                                               LabelsWithMass(kTask, seed, red, 2.0)};
    CHECK(labels[0]["stable"] == 1.0);
    CHECK(labels[1]["stable"] == 0.0);
    CHECK(labels[1]["red_touches_zone"] == 1.0);
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "stack: labels: towers topple often, the red block reaches "
                 "the zone on some seeds, a tower that moved is not stable",
                 "[tasks][physics][stack]") {
  auto env = MakePhysics(kTask);
  auto& scene = Scene(*env);
  const int seeds = 40;
  int stable = 0, zone = 0;
  for (uint64_t seed = 0; seed < seeds; ++seed) {
    INFO("seed " << seed);
    env->Reset(seed);
    std::vector<std::array<double, 3>> start;
    for (int i = 0; i < scene.NumObjects(); ++i) start.push_back(scene.Position(i));
    for (int t = 0; t < env->MaxEpisodeSteps(); ++t) env->Step({});
    auto labels = EpisodeLabelsOf(*env).scalars;
    CHECK(labels["blocks"] >= 2);
    CHECK(labels["blocks"] <= 4);
    double moved = 0.0;  // the blocks under the red one (it falls onto them)
    for (int i = 0; i < scene.NumObjects(); ++i) {
      if (i == scene.RedObject()) continue;
      const auto p = scene.Position(i);
      moved = std::max(moved, std::hypot(p[0] - start[i][0], p[1] - start[i][1],
                                         p[2] - start[i][2]));
    }
    if (moved > 0.03) CHECK(labels["stable"] == 0.0);
    stable += labels["stable"] == 1.0;
    zone += labels["red_touches_zone"] == 1.0;
  }
  CHECK(stable >= 0.2 * seeds);
  CHECK(stable <= 0.8 * seeds);
  CHECK(zone >= 0.2 * seeds);
  CHECK(zone <= 0.8 * seeds);
}

TEST_CASE_METHOD(NoMujocoWarnings, "stack: the ood split draws outside the training ranges",
                 "[tasks][physics][stack]") {
  auto train = MakePhysics(kTask), ood = MakePhysics(kTask, "none", "ood");
  for (uint64_t seed = 0; seed < 10; ++seed) {
    INFO("seed " << seed);
    train->Reset(seed);
    ood->Reset(seed);
    const auto& a = Scene(*train);
    const auto& b = Scene(*ood);
    for (int i = 0; i < a.NumObjects(); ++i) {
      CHECK(a.Mass(i) >= 0.5);
      CHECK(a.Mass(i) <= 2.0);
      CHECK(b.Mass(i) >= 3.0);
      CHECK(a.Friction(i) >= 0.4);
      CHECK(b.Friction(i) <= 0.4);
      CHECK(a.Restitution(i) <= 0.3 + 1e-9);
      CHECK(b.Restitution(i) >= 0.3 - 1e-9);
      const double* size_a = a.model()->geom_size + 3 * a.ObjectGeom(i);
      const double* size_b = b.model()->geom_size + 3 * b.ObjectGeom(i);
      CHECK(size_a[0] <= 0.10);  // half length (m)
      CHECK(size_b[0] >= 0.10);
      CHECK(size_a[2] <= 0.06);  // half height (m)
      CHECK(size_b[2] >= 0.06);
    }
  }
}

}  // namespace darkmatter::testing
