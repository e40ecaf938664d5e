// Helpers shared by the physics scene tests: making a scene, recording a clip (states,
// optional frames, per-frame extras), comparing twins, episode labels and contacts.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "tasks/physics/physics_scene.h"
#include "tasks/registry.h"

namespace darkmatter::testing {

// Makes the physics task `name` ("physics/<family>") with a violation ("none" or a principle
// its impossible twins break) on a split.
inline std::unique_ptr<sim::Env> MakePhysics(const std::string& name,
                                             const std::string& violation = "none",
                                             const std::string& split = "train") {
  sim::EnvSettings settings;
  settings.violation = violation;
  settings.split = split;
  return tasks::MakeEnv(name, settings);
}

// The env as the physics scene it is.
inline tasks::physics::PhysicsScene& Scene(sim::Env& env) {
  return dynamic_cast<tasks::physics::PhysicsScene&>(env);
}

// Episode labels of the env's current episode.
struct Labels {
  std::map<std::string, double> scalars;
  std::map<std::string, std::string> strings;
};
inline Labels EpisodeLabelsOf(const sim::Env& env) {
  Labels labels;
  env.EpisodeLabels(&labels.scalars, &labels.strings);
  return labels;
}

// True when object i touches anything: another object or the static world.
inline bool TouchesAnything(const tasks::physics::PhysicsScene& scene, int i) {
  for (int j = -1; j < scene.NumObjects(); ++j) {
    if (j != i && scene.InContact(i, j)) return true;
  }
  return false;
}

// Scalar labels of the clip of `task` from `seed` when the object that `pick` names (after the
// reset) has mass `mass` (kg), its other hidden properties as drawn.
inline std::map<std::string, double> LabelsWithMass(
    const std::string& task, uint64_t seed,
    const std::function<int(const tasks::physics::PhysicsScene&)>& pick, double mass) {
  auto env = MakePhysics(task);
  auto& scene = Scene(*env);
  env->Reset(seed);
  const int i = pick(scene);
  scene.SetHiddenProperties(i, mass, scene.Friction(i), scene.Restitution(i));
  for (int t = 0; t < env->MaxEpisodeSteps(); ++t) env->Step({});
  return EpisodeLabelsOf(*env).scalars;
}

// What RecordClip renders from camera "main": the first `frames` frames at width x height
// (none when width is 0), with segmentation when asked.
struct ClipRender {
  int width = 0, height = 0;
  bool segmentation = false;
  int frames = INT_MAX;
};

// One clip: per frame the physics state and, when rendered, the RGB frame; at its end the
// violation frame and whether the red object touched the zone.
struct Clip {
  std::vector<std::vector<double>> states;  // (frames) physics state
  std::vector<std::vector<uint8_t>> rgb;    // (rendered frames) H x W x 3
  int violation_frame = -1;
  bool touched_zone = false;
};

// Records extras of one frame into a clip, from the render output (nullptr: not rendered).
template <typename ClipT>
using FrameHook = std::function<void(ClipT* clip, const sim::RenderOutput* out)>;

// Resets `env` to `seed` and records a clip (a ClipT, derived from Clip) until the episode
// ends; `on_frame` runs on every frame after its state (and frame) are recorded.
template <typename ClipT = Clip>
ClipT RecordClip(sim::Env& env, uint64_t seed, const ClipRender& render = {},
                 const std::type_identity_t<FrameHook<ClipT>>& on_frame = {}) {
  ClipT clip;
  sim::CameraSpec camera;
  camera.name = "main";
  sim::RenderOutput out;
  sim::StepResult r = env.Reset(seed);
  while (true) {
    clip.states.push_back(env.GetState().physics);
    const bool rendered = render.width > 0 && static_cast<int>(clip.rgb.size()) < render.frames;
    if (rendered) {
      env.Render(camera, render.width, render.height, &out, false, render.segmentation);
      clip.rgb.push_back(out.rgb);
    }
    if (on_frame) on_frame(&clip, rendered ? &out : nullptr);
    if (r.truncated || r.terminated) break;
    r = env.Step({});
  }
  clip.violation_frame = Scene(env).ViolationFrame();
  clip.touched_zone = Scene(env).RedTouchedZone();
  return clip;
}

// What ExpectSameBefore does at a difference: stop the test (REQUIRE) or go on (CHECK).
enum class OnDifference { kStop, kGoOn };

// Twins a and b, both rendered, have the same state and frame at every frame before v.
inline void ExpectSameBefore(const Clip& a, const Clip& b, int v, OnDifference on_difference) {
  for (int t = 0; t < v; ++t) {
    INFO("frame " << t);
    if (on_difference == OnDifference::kStop) {
      REQUIRE(a.states[t] == b.states[t]);
      REQUIRE(a.rgb[t] == b.rgb[t]);
    } else {
      CHECK(a.states[t] == b.states[t]);
      CHECK(a.rgb[t] == b.rgb[t]);
    }
  }
}

// Checks possible twin a and impossible twin b, both rendered, up to b's violation frame v and
// returns v: a has none, v >= 1 (REQUIRE), they agree before v (REQUIRE), their states differ
// at v.
inline int CheckTwinsUpToViolation(const Clip& a, const Clip& b) {
  const int v = b.violation_frame;
  CHECK(a.violation_frame == -1);
  REQUIRE(v >= 1);
  ExpectSameBefore(a, b, v, OnDifference::kStop);
  CHECK(a.states[v] != b.states[v]);
  return v;
}

// The twin test of a family: on each seed the twins, rendered with `render`, agree before the
// impossible one's violation frame (which the possible one has not), their physics (the state
// less its last 3 values, bookkeeping) differs at it, and their last frames differ.
inline void CheckFamilyTwins(const std::string& task, const std::string& principle,
                             std::span<const uint64_t> seeds, const ClipRender& render) {
  auto possible = MakePhysics(task), impossible = MakePhysics(task, principle);
  for (uint64_t seed : seeds) {
    INFO("seed " << seed);
    const Clip a = RecordClip(*possible, seed, render), b = RecordClip(*impossible, seed, render);
    const int v = Scene(*impossible).ViolationFrame();
    REQUIRE(v >= 1);
    CHECK(Scene(*possible).ViolationFrame() == -1);
    ExpectSameBefore(a, b, v, OnDifference::kStop);
    CHECK_FALSE(std::equal(a.states[v].begin(), a.states[v].end() - 3, b.states[v].begin()));
    CHECK(a.rgb.back() != b.rgb.back());
  }
}

}  // namespace darkmatter::testing
