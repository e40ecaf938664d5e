#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tasks/physics/physics_scene.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
namespace physics = darkmatter::tasks::physics;
using darkmatter::testing::NoMujocoWarnings;

namespace {

constexpr int kWidth = 96, kHeight = 72;

struct Clip {
  std::vector<std::vector<double>> states;    // (frames) physics state per frame
  std::vector<std::vector<uint8_t>> rgb;      // (frames) H x W x 3
  std::vector<int> red_pixels;                // (frames) pixels showing the red body
  std::vector<std::array<double, 3>> colour;  // (frames) mean RGB of those pixels
  std::vector<std::array<double, 3>> red_pos; // (frames) red box centre (m)
  int violation_frame = -1;
  bool touched_zone = false;
};

std::unique_ptr<sim::Env> MakeScene(const std::string& violation, const std::string& split = "train") {
  sim::EnvSettings settings;
  settings.violation = violation;
  settings.split = split;
  return darkmatter::tasks::MakeEnv("physics/occlude", settings);
}

physics::PhysicsScene& Scene(sim::Env& env) { return dynamic_cast<physics::PhysicsScene&>(env); }

// Runs one clip from `seed`, rendering camera "main" when `render`.
Clip Run(sim::Env& env, uint64_t seed, bool render = true) {
  physics::PhysicsScene& scene = Scene(env);
  const int red_body = mj_name2id(scene.model(), mjOBJ_BODY, "red");
  Clip clip;
  sim::StepResult r = env.Reset(seed);
  sim::RenderOutput out;
  sim::CameraSpec camera;
  camera.name = "main";
  while (true) {
    clip.states.push_back(env.GetState().physics);
    clip.red_pos.push_back(scene.Position(scene.RedObject()));
    if (render) {
      env.Render(camera, kWidth, kHeight, &out, false, true);
      clip.rgb.push_back(out.rgb);
      int count = 0;
      std::array<double, 3> sum = {0, 0, 0};
      for (size_t p = 0; p < out.segmentation.size(); ++p) {
        if (out.segmentation[p] != red_body) continue;
        ++count;
        for (int k = 0; k < 3; ++k) sum[k] += out.rgb[3 * p + k];
      }
      clip.red_pixels.push_back(count);
      for (double& s : sum) s /= std::max(count, 1);
      clip.colour.push_back(sum);
    }
    if (r.truncated || r.terminated) break;
    r = env.Step({});
  }
  clip.violation_frame = scene.ViolationFrame();
  clip.touched_zone = scene.RedTouchedZone();
  return clip;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "occlude: stats", "[.stats]") {
  for (const char* split : {"train", "ood"}) {
    auto env = MakeScene("none", split);
    auto perm = MakeScene("permanence", split);
    int touched = 0, n = 60, no_violation = 0;
    for (int seed = 0; seed < n; ++seed) {
      Clip c = Run(*env, seed, true);
      Clip v = Run(*perm, seed, false);
      const int vf = v.violation_frame;
      printf("  px: f0 %d vf-1 %d vf %d last %d\n", c.red_pixels[0], c.red_pixels[vf - 1], c.red_pixels[vf], c.red_pixels.back());
      touched += c.touched_zone;
      if (v.violation_frame < 1) ++no_violation;
      printf("%s seed %d final x %.3f vf %d touched %d\n", split, seed, c.red_pos.back()[0], v.violation_frame, c.touched_zone);
    }
    printf("%s: touched %d/%d, no violation %d\n", split, touched, n, no_violation);
  }
}

