// Backend-neutral rendering types: camera choice, render options, and output images.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace darkmatter::sim {

// Where to look from: a camera defined in the scene, or a free orbit camera.
struct CameraSpec {
  std::string name;        // scene camera name; "" = free camera
  double lookat[3] = {0, 0, 0};  // free camera target (m); used when distance > 0
  double distance = 0;     // free camera distance (m); <= 0 = MuJoCo's default framing
  double azimuth = 90;     // free camera azimuth (degrees)
  double elevation = -25;  // free camera elevation (degrees)

  bool operator==(const CameraSpec&) const = default;
};

// What to render and how.
struct RenderOptions {
  int width = 64;            // pixels
  int height = 64;           // pixels
  CameraSpec camera;         // viewpoint
  bool shadows = false;      // off for learning views (~20x cheaper on a CPU)
  bool reflections = false;  // off for learning views
  bool skybox = false;       // off for learning views
  int multisamples = 0;      // MSAA samples; 0 for learning views (4x costs ~3x on a CPU)
};

// A primitive shape drawn in addition to a scene's own geoms: how worlds simulated by other
// engines (Bullet) are rendered through the same renderer, by mirroring their bodies' poses.
struct Primitive {
  enum class Shape { kPlane, kSphere, kCapsule, kEllipsoid, kCylinder, kBox };
  Shape shape = Shape::kBox;
  double size[3] = {0.1, 0.1, 0.1};      // MuJoCo's geom size convention (half sizes, radii)
  double pos[3] = {0, 0, 0};             // world position (m)
  double mat[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};  // world orientation, row-major
  float rgba[4] = {0.7f, 0.7f, 0.7f, 1.0f};     // colour
  int32_t id = -1;                       // reported in segmentation images
};

// Rendered images, rows top to bottom.
struct RenderOutput {
  std::vector<uint8_t> rgb;           // (H x W x 3)
  std::vector<float> depth;           // (H x W) distance along the view axis, metres
  std::vector<int32_t> segmentation;  // (H x W) body id per pixel, -1 for background
};

}  // namespace darkmatter::sim
