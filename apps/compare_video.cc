#include "apps/compare_video.h"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "apps/canvas.h"
#include "apps/compare_track.h"
#include "apps/episode_player.h"
#include "apps/pane_layout.h"
#include "apps/episode_video.h"
#include "sim/error.h"

namespace darkmatter::apps {
namespace {

constexpr Rgb kSurpriseColor{255, 120, 60};
constexpr Rgb kProbeColor{255, 60, 255};
constexpr Rgb kTruthColor{60, 255, 90};

// Nearest-neighbour resize of an (S x S x 3) frame into (height x width x 3).
void Upscale(const uint8_t* frame, int size, int width, int height, std::vector<uint8_t>* out) {
  out->resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    const int sy = y * size / height;
    for (int x = 0; x < width; ++x) {
      const int sx = x * size / width;
      std::copy_n(frame + (sy * size + sx) * 3, 3, out->data() + (y * width + x) * 3);
    }
  }
}

// Projects a world point through scene camera `camera` onto a width x height image; false
// when the point is behind the camera.
bool Project(const mjModel* m, const mjData* d, int camera, const double* p, int width,
             int height, int* u, int* v) {
  const double* pos = d->cam_xpos + 3 * camera;
  const double* mat = d->cam_xmat + 9 * camera;  // columns: camera axes in world coordinates
  double rel[3] = {p[0] - pos[0], p[1] - pos[1], p[2] - pos[2]}, c[3];
  for (int i = 0; i < 3; ++i) c[i] = mat[i] * rel[0] + mat[3 + i] * rel[1] + mat[6 + i] * rel[2];
  if (c[2] > -1e-6) return false;  // MuJoCo cameras look along -z
  const double f = 0.5 * height / std::tan(0.5 * m->cam_fovy[camera] * M_PI / 180.0);
  *u = static_cast<int>(std::lround(0.5 * width + f * c[0] / -c[2]));
  *v = static_cast<int>(std::lround(0.5 * height - f * c[1] / -c[2]));
  return true;
}

}  // namespace

void WriteCompareVideo(const CompareVideoOptions& o) {
  EpisodeGroup group(o.file, o.episode, 1, "reward");
  EpisodePlayer& player = group.player(0);
  std::vector<sim::Episode> episodes;
  {
    sim::EpisodeReader reader(o.file);
    for (int64_t k = 0; k < reader.NumEpisodes(); ++k) episodes.push_back(reader.Read(k));
  }
  const CompareTrack track = ComputeCompareTrack(o.checkpoint, episodes, o.episode);
  const bool decoded = !track.imagined.empty();
  sim::CameraSpec camera;
  camera.name = o.camera.empty() && !decoded ? "main" : o.camera;
  int camera_id = -1;
  if (!decoded) {
    const sim::MujocoEnv* env = player.mujoco();
    if (env == nullptr) throw sim::BadInput("--compare: probe markers need a MuJoCo scene");
    camera_id = mj_name2id(env->model(), mjOBJ_CAMERA, camera.name.c_str());
    if (camera_id < 0) {
      throw sim::BadInput("--compare: the scene has no camera '" + camera.name +
                          "' (use --camera NAME)");
    }
  }
  const PaneLayout layout(
      {.pane_width = o.pane_width, .pane_height = o.pane_height, .num_panes = 2});
  Canvas canvas(layout.width(), layout.height());
  Canvas overlay(o.pane_width, o.pane_height);
  sim::RenderOutput image;
  std::vector<uint8_t> imagined;
  char detail[96];
  std::snprintf(detail, sizeof detail, "probe R2 %.2f on this episode", track.probe_r2);
  const std::string right_caption =
      decoded ? track.model + ": predicted frame" : track.model + ": probed (x) vs true";
  const auto compose = [&](int64_t t) {
    group.Seek(t);
    player.Render(camera, o.pane_width, o.pane_height, &image);
    std::vector<PaneContent> panes(2);
    panes[0] = {player.Caption(), "recorded", image.rgb.data(), {255, 255, 255}};
    const int64_t frame = std::min<int64_t>(t, static_cast<int64_t>(track.surprise.size()) - 1);
    if (decoded) {
      const size_t bytes = static_cast<size_t>(track.frame_size) * track.frame_size * 3;
      Upscale(track.imagined.data() + frame * bytes, track.frame_size, o.pane_width,
              o.pane_height, &imagined);
      panes[1] = {right_caption, frame < track.context ? "context (real)" : "one step ahead",
                  imagined.data(), kSurpriseColor};
    } else {
      overlay.Blit(image.rgb.data(), o.pane_width, o.pane_height, 0, 0);
      const sim::MujocoEnv* env = player.mujoco();
      for (int64_t j = 0; j < track.num_objects; ++j) {
        const size_t at = (frame * track.num_objects + j) * 3;
        int u, v;
        // Truth: a small green square; the probe's reading of the predicted latent: a cross.
        if (Project(env->model(), env->data(), camera_id, track.true_positions.data() + at,
                    o.pane_width, o.pane_height, &u, &v)) {
          overlay.DrawRect({u - 3, v - 3, 7, 7}, kTruthColor);
        }
        const double* p = track.predicted_positions.data() + at;
        if (!std::isnan(p[0]) &&
            Project(env->model(), env->data(), camera_id, p, o.pane_width, o.pane_height, &u, &v)) {
          overlay.DrawLine(u - 5, v - 5, u + 5, v + 5, kProbeColor);
          overlay.DrawLine(u - 5, v + 5, u + 5, v - 5, kProbeColor);
        }
      }
      panes[1] = {right_caption, detail, overlay.pixels().data(), kSurpriseColor};
    }
    ChartContent chart;
    chart.title = "surprise (" + track.model + ")";
    chart.series.push_back({"surprise", track.surprise, kSurpriseColor, static_cast<int>(frame)});
    chart.cursor = static_cast<int>(frame);
    layout.Compose(panes, group.Status(), chart, &canvas);
  };
  const int64_t frames = group.NumFrames();
  EncodeFrames(o.video, o.fps, frames, canvas, compose, "compare");
  double peak = 0;
  int64_t peak_frame = 0;
  for (size_t t = 0; t < track.surprise.size(); ++t) {
    if (!std::isnan(track.surprise[t]) && track.surprise[t] > peak) {
      peak = track.surprise[t];
      peak_frame = static_cast<int64_t>(t);
    }
  }
  if (o.quiet) return;
  std::printf("play --compare: %lld frames of episode %lld, %s model, peak surprise %.4g at "
              "frame %lld -> %s\n",
              static_cast<long long>(frames), static_cast<long long>(o.episode),
              track.model.c_str(), peak, static_cast<long long>(peak_frame), o.video.c_str());
}

}  // namespace darkmatter::apps
