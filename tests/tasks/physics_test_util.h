// Helpers shared by the physics scene tests: making a scene (or a world of a twin set),
// recording a clip (states, optional frames, per-frame extras), episode labels and contacts.
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
// it makes twin sets for) on a split, laying out world `world` (0 or 1) of that set.
inline std::unique_ptr<sim::Env> MakePhysics(const std::string& name,
                                             const std::string& violation = "none",
                                             const std::string& split = "train", int world = 0) {
  sim::EnvSettings settings;
  settings.violation = violation;
  settings.split = split;
  settings.world = world;
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

// One clip: per frame the physics state and, when rendered, the RGB frame; at its end
// whether the red object touched the zone.
struct Clip {
  std::vector<std::vector<double>> states;  // (frames) physics state
  std::vector<std::vector<uint8_t>> rgb;    // (rendered frames) H x W x 3
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
  clip.touched_zone = Scene(env).RedTouchedZone();
  return clip;
}

}  // namespace darkmatter::testing
