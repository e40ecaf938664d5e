#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tasks/physics/physics_scene.h"
#include "tests/mujoco_fixture.h"
#include "tests/tasks/physics_test_util.h"

namespace physics = darkmatter::tasks::physics;

namespace darkmatter::testing {
namespace {

constexpr const char* kTask = "physics/occlude";
constexpr int kWidth = 96, kHeight = 72;

// A clip with the red box's position and, when rendered, its pixels and their colour.
struct OccludeClip : Clip {
  std::vector<int> red_pixels;                 // (frames) pixels showing the red body
  std::vector<std::array<double, 3>> colour;   // (frames) mean RGB of those pixels
  std::vector<std::array<double, 3>> red_pos;  // (frames) red box centre (m)
};

// Runs one clip from `seed`, rendering camera "main" when `render`.
OccludeClip Run(sim::Env& env, uint64_t seed, bool render = true) {
  const physics::PhysicsScene& scene = Scene(env);
  const int red_body = mj_name2id(scene.model(), mjOBJ_BODY, "red");
  const ClipRender frames = {.width = kWidth, .height = kHeight, .segmentation = true};
  const auto record = [&](OccludeClip* clip, const sim::RenderOutput* out) {
    clip->red_pos.push_back(scene.Position(scene.RedObject()));
    if (!out) return;
    int count = 0;
    std::array<double, 3> sum = {0, 0, 0};
    for (size_t p = 0; p < out->segmentation.size(); ++p) {
      if (out->segmentation[p] != red_body) continue;
      ++count;
      for (int k = 0; k < 3; ++k) sum[k] += out->rgb[3 * p + k];
    }
    clip->red_pixels.push_back(count);
    for (double& s : sum) s /= std::max(count, 1);
    clip->colour.push_back(sum);
  };
  return RecordClip<OccludeClip>(env, seed, render ? frames : ClipRender{}, record);
}

}  // namespace

// Seeds whose immutability twins change colour only (0), size only (2, 11) and both (7).
const std::vector<uint64_t> kSeeds = {0, 2, 7, 11};

TEST_CASE_METHOD(NoMujocoWarnings, "occlude: hidden friction changes how far the box slides",
                 "[tasks][physics]") {
  auto env = MakePhysics(kTask);
  physics::PhysicsScene& scene = Scene(*env);
  const int red = scene.RedObject();
  for (uint64_t seed : {1, 5}) {
    INFO("seed " << seed);
    env->Reset(seed);
    const double mass = scene.Mass(red), restitution = scene.Restitution(red);
    std::vector<double> final_x;
    for (double friction : {0.2, 0.3}) {
      env->Reset(seed);
      scene.SetHiddenProperties(red, mass, friction, restitution);  // one property only
      sim::StepResult r;
      do r = env->Step({}); while (!r.truncated);
      final_x.push_back(scene.Position(red)[0]);
    }
    // Sliding distance ~ v^2 / (2 mu g): the slipperier box ends well beyond the other.
    CHECK(final_x[0] > final_x[1] + 0.2);
  }
}

TEST_CASE_METHOD(NoMujocoWarnings,
                 "occlude: the red box slides, and reaches the zone on some seeds, not all",
                 "[tasks][physics]") {
  auto env = MakePhysics(kTask);
  int touched = 0;
  const int n = 50;
  for (int seed = 0; seed < n; ++seed) {
    const OccludeClip clip = Run(*env, seed, false);
    touched += clip.touched_zone;
    // It slides: it never leaves the floor (a box of half-size <= 7 cm, rocking a little).
    double top = 0;
    for (const auto& p : clip.red_pos) top = std::max(top, p[2]);
    INFO("seed " << seed);
    CHECK(top < 0.1);
  }
  CHECK(touched >= 0.2 * n);
  CHECK(touched <= 0.8 * n);
}

TEST_CASE_METHOD(NoMujocoWarnings, "occlude: the ood split draws outside the training ranges",
                 "[tasks][physics]") {
  for (const char* split : {"train", "ood"}) {
    const bool ood = std::string(split) == "ood";
    auto env = MakePhysics(kTask, "none", split);
    physics::PhysicsScene& scene = Scene(*env);
    const int red = scene.RedObject();
    const int geom = mj_name2id(scene.model(), mjOBJ_GEOM, "red");
    for (uint64_t seed = 0; seed < 10; ++seed) {
      INFO(split << " seed " << seed);
      env->Reset(seed);
      const double mass = scene.Mass(red), friction = scene.Friction(red);
      const double speed = scene.Velocity(red)[0], half = scene.model()->geom_size[3 * geom];
      CHECK((ood ? (mass >= 3.0 && mass < 5.0) : (mass >= 0.5 && mass < 2.0)));
      CHECK((ood ? (friction >= 0.32 && friction < 0.4) : (friction >= 0.2 && friction < 0.3)));
      CHECK((ood ? (speed >= 3.0 && speed < 3.4) : (speed >= 2.4 && speed < 2.8)));
      CHECK((ood ? (half >= 0.075 && half < 0.09) : (half >= 0.05 && half < 0.07)));
    }
  }
}

}  // namespace darkmatter::testing
