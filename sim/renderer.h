// Renderer: RGB (uint8), depth (metres) and segmentation (body ids) of a MuJoCo scene from
// a named or free camera, offscreen, at any size. Uses this thread's headless GL context and
// a per-thread cache of MuJoCo render contexts, so EnvPool workers render in parallel.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <mujoco/mujoco.h>

#include "sim/mujoco_model.h"
#include "sim/render_types.h"

namespace darkmatter::sim {

class Renderer {
 public:
  // A renderer for `model`. Throws BadInput on an unknown camera name or a bad size.
  Renderer(ModelPtr model, const RenderOptions& options);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Renders the state in `data` into caller buffers; any pointer may be null to skip that
  // image (rgb: H*W*3, depth: H*W, segmentation: H*W). Does not change the physics state.
  // `extra` primitives are drawn too; their pixels carry Primitive::id in segmentation.
  void Render(const mjData* data, uint8_t* rgb, float* depth, int32_t* segmentation,
              std::span<const Primitive> extra = {});
  // Renders into `out`, resizing its buffers; `depth`/`segmentation` select the extras.
  void Render(const mjData* data, RenderOutput* out, bool depth = false,
              bool segmentation = false);

  const RenderOptions& options() const { return options_; }
  // The free camera, to orbit or zoom (mjv_moveCamera) between renders.
  mjvCamera& camera() { return camera_; }
  // The visual options (which geom groups, frames, contacts are shown).
  mjvOption& visual_options() { return visual_options_; }

 private:
  void UpdateScene(const mjData* data, std::span<const Primitive> extra);
  ModelPtr model_;
  RenderOptions options_;
  mjvCamera camera_;
  mjvOption visual_options_;
  mjvScene scene_;
  std::vector<uint8_t> flip_rgb_;   // (H x W x 3) GL rows bottom-up
  std::vector<float> flip_depth_;   // (H x W)
  std::vector<int32_t> segid_body_; // scene segid -> body id (or primitive id)
};

// Index of the camera called `name` in `model`, or -1 for "" (free camera).
// Throws BadInput naming the camera and listing the known ones when there is none.
int FindCamera(const mjModel* model, const std::string& name);

}  // namespace darkmatter::sim
