// physics/stack: twins, the gravity violation, hidden properties, labels and the ood split.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "tasks/physics/physics_scene.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
namespace physics = darkmatter::tasks::physics;
using darkmatter::testing::NoMujocoWarnings;

namespace {

// Seeds whose towers topple, so that the impossible twin has something to violate.
constexpr uint64_t kToppleSeeds[] = {1, 2, 3, 5, 7};

std::unique_ptr<sim::Env> MakeStack(const std::string& violation = "none",
                                    const std::string& split = "train") {
  sim::EnvSettings settings;
  settings.violation = violation;
  settings.split = split;
  return darkmatter::tasks::MakeEnv("physics/stack", settings);
}

physics::PhysicsScene& Scene(sim::Env& env) { return dynamic_cast<physics::PhysicsScene&>(env); }

// One clip: the physics state and a small RGB frame of camera "main" per frame.
struct Clip {
  std::vector<std::vector<double>> states;   // (frames) x StateSize()
  std::vector<std::vector<uint8_t>> frames;  // (frames) x (H x W x 3)
};

Clip Play(sim::Env& env, uint64_t seed, bool render) {
  Clip clip;
  sim::CameraSpec camera;
  camera.name = "main";
  sim::RenderOutput out;
  env.Reset(seed);
  for (int t = 0;; ++t) {
    clip.states.push_back(env.GetState().physics);
    if (render) {
      env.Render(camera, 48, 36, &out);
      clip.frames.push_back(out.rgb);
    }
    if (t == env.MaxEpisodeSteps()) break;
    env.Step({});
  }
  return clip;
}

std::map<std::string, double> Labels(const sim::Env& env) {
  std::map<std::string, double> scalars;
  std::map<std::string, std::string> strings;
  env.EpisodeLabels(&scalars, &strings);
  return scalars;
}

// True when object i touches anything (another object or the static world).
bool Touching(const physics::PhysicsScene& scene, int i) {
  if (scene.InContact(i, -1)) return true;
  for (int j = 0; j < scene.NumObjects(); ++j) {
    if (j != i && scene.InContact(i, j)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "stack: twins are identical before the violation and "
                 "differ after it", "[tasks][physics][stack]") {
  auto possible = MakeStack(), impossible = MakeStack("gravity");
  for (uint64_t seed : kToppleSeeds) {
    INFO("seed " << seed);
    const Clip a = Play(*possible, seed, true), b = Play(*impossible, seed, true);
    const int v = Scene(*impossible).ViolationFrame();
    REQUIRE(v >= 1);
    CHECK(Scene(*possible).ViolationFrame() == -1);
    for (int t = 0; t < v; ++t) {
      INFO("frame " << t);
      REQUIRE(a.states[t] == b.states[t]);
      REQUIRE(a.frames[t] == b.frames[t]);
    }
    // The physics differs from the violation on (the last 3 values are bookkeeping).
    CHECK_FALSE(std::equal(a.states[v].begin(), a.states[v].end() - 3, b.states[v].begin()));
    CHECK(a.frames.back() != b.frames.back());
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "stack: the impossible twin's unsupported red block hovers "
                 "while the possible one falls", "[tasks][physics][stack]") {
  auto possible = MakeStack(), impossible = MakeStack("gravity");
  for (uint64_t seed : kToppleSeeds) {
    INFO("seed " << seed);
    auto& a = Scene(*possible);
    auto& b = Scene(*impossible);
    possible->Reset(seed);
    impossible->Reset(seed);
    while (b.ViolationFrame() < 0) {
      possible->Step({});
      impossible->Step({});
    }
    const int red = b.RedObject();
    const double height = b.Position(red)[2];
    for (int t = 0; t < 3; ++t) {
      possible->Step({});
      impossible->Step({});
      CHECK_FALSE(Touching(b, red));  // no support at all ...
      // ... yet it keeps its height (within what a graze from a toppling block can give it)
      CHECK(std::abs(b.Position(red)[2] - height) < 0.003);
    }
    CHECK(a.Position(red)[2] < height - 0.01);  // the possible twin's block fell
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "stack: a heavier red block topples a tower that stands "
                 "with a light one", "[tasks][physics][stack]") {
  for (uint64_t seed : {0, 24, 44}) {
    INFO("seed " << seed);
    std::map<std::string, double> labels[2];
    for (int heavy = 0; heavy < 2; ++heavy) {
      auto env = MakeStack();
      auto& scene = Scene(*env);
      env->Reset(seed);
      const int red = scene.RedObject();
      scene.SetHiddenProperties(red, heavy ? 2.0 : 0.5, scene.Friction(red),
                                scene.Restitution(red));
      for (int t = 0; t < env->MaxEpisodeSteps(); ++t) env->Step({});
      labels[heavy] = Labels(*env);
    }
    CHECK(labels[0]["stable"] == 1.0);
    CHECK(labels[1]["stable"] == 0.0);
    CHECK(labels[1]["red_touches_zone"] == 1.0);
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "stack: labels: towers topple often, the red block reaches "
                 "the zone on some seeds, stable means nothing moved", "[tasks][physics][stack]") {
  auto env = MakeStack();
  auto& scene = Scene(*env);
  auto impossible = MakeStack("gravity");
  const int seeds = 40;
  int stable = 0, zone = 0, violated = 0;
  for (uint64_t seed = 0; seed < seeds; ++seed) {
    INFO("seed " << seed);
    env->Reset(seed);
    std::vector<std::array<double, 3>> start;
    for (int i = 0; i < scene.NumObjects(); ++i) start.push_back(scene.Position(i));
    for (int t = 0; t < env->MaxEpisodeSteps(); ++t) env->Step({});
    auto labels = Labels(*env);
    CHECK(labels["blocks"] >= 2);
    CHECK(labels["blocks"] <= 4);
    double moved = 0.0;
    for (int i = 0; i < scene.NumObjects(); ++i) {
      const auto p = scene.Position(i);
      moved = std::max(moved, std::hypot(p[0] - start[i][0], p[1] - start[i][1],
                                         p[2] - start[i][2]));
    }
    CHECK((labels["stable"] == 1.0) == (moved <= 0.03));
    stable += labels["stable"] == 1.0;
    zone += labels["red_touches_zone"] == 1.0;
    impossible->Reset(seed);
    for (int t = 0; t < impossible->MaxEpisodeSteps(); ++t) impossible->Step({});
    violated += Scene(*impossible).ViolationFrame() >= 1;
    if (labels["stable"] == 1.0) CHECK(Scene(*impossible).ViolationFrame() == -1);
  }
  CHECK(violated >= 0.4 * seeds);  // toppling (hence a violation) is common
  CHECK(stable >= 0.2 * seeds);
  CHECK(zone >= 0.2 * seeds);
  CHECK(zone <= 0.8 * seeds);
}

TEST_CASE_METHOD(NoMujocoWarnings, "stack: the ood split draws outside the training ranges",
                 "[tasks][physics][stack]") {
  auto train = MakeStack(), ood = MakeStack("none", "ood");
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
