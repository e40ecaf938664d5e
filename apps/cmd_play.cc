// darkmatter play FILE.h5: re-simulate recorded episodes in a window, or render them
// headless into an H.264 MP4 (--video), with captions and a strip chart.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "apps/compare_video.h"
#include "apps/episode_player.h"
#include "apps/episode_video.h"
#include "apps/pane_layout.h"
#include "apps/size_option.h"
#include "apps/viewer.h"
#include "sim/error.h"

namespace darkmatter::apps {
namespace {

struct PlayOptions {
  std::string file;
  int64_t episode = 0;
  std::string video;         // OUT.mp4; empty = interactive viewer
  int grid = 1;              // consecutive episodes shown side by side
  double fps = 30;           // video frame rate
  std::string size;          // per-pane size "WxH"; empty = default
  std::string camera;        // scene camera; empty = free camera
  std::string chart = "reward";
  double exit_after = 0;     // hidden: close the viewer after this many seconds
  std::string compare;       // world-model checkpoint shown beside the episode
};

constexpr int kMaxGrid = 64;

void CheckOptions(const PlayOptions& o) {
  if (o.grid < 1 || o.grid > kMaxGrid) {
    throw sim::BadInput("--grid " + std::to_string(o.grid) + " must be between 1 and " +
                        std::to_string(kMaxGrid));
  }
  if (!(o.fps > 0 && o.fps <= 240)) {
    char text[64];
    std::snprintf(text, sizeof text, "--fps %g must be > 0 and <= 240", o.fps);
    throw sim::BadInput(text);
  }
  if (!(o.exit_after >= 0)) throw sim::BadInput("--exit-after must be >= 0 seconds");
  if (o.video.empty()) {
    const char* x11 = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if ((!x11 || !*x11) && (!wayland || !*wayland)) {
      throw sim::BadInput("no display; use --video OUT.mp4");
    }
  }
}

void WriteVideo(const PlayOptions& o) {
  const auto [pane_width, pane_height] = ParseSize(o.size.empty() ? "320x240" : o.size, "--size");
  int width = 0, height = 0;
  const int64_t frames = WriteEpisodeVideo({.file = o.file, .episode = o.episode, .grid = o.grid,
                                            .fps = o.fps, .pane_width = pane_width,
                                            .pane_height = pane_height, .camera = o.camera,
                                            .chart = o.chart},
                                           o.video, &width, &height);
  std::printf("play: %lld frames of %d episode(s) from episode %lld, %dx%d at %g fps -> %s\n",
              static_cast<long long>(frames), o.grid, static_cast<long long>(o.episode), width,
              height, o.fps, o.video.c_str());
}

void RunPlay(const PlayOptions& o) {
  CheckOptions(o);
  if (!o.compare.empty()) {
    if (o.video.empty()) throw sim::BadInput("--compare renders into a video: add --video OUT.mp4");
    if (o.grid != 1) throw sim::BadInput("--compare shows one episode: drop --grid");
    const auto [pane_width, pane_height] =
        ParseSize(o.size.empty() ? "320x240" : o.size, "--size");
    WriteCompareVideo({.file = o.file, .episode = o.episode, .checkpoint = o.compare,
                       .video = o.video, .pane_width = pane_width, .pane_height = pane_height,
                       .camera = o.camera, .fps = o.fps});
    return;
  }
  if (!o.video.empty()) {
    WriteVideo(o);
    return;
  }
  EpisodeGroup group(o.file, o.episode, o.grid, o.chart);
  ViewerOptions viewer;
  viewer.camera = o.camera;
  viewer.exit_after = o.exit_after;
  viewer.title = "darkmatter play " + o.file;
  // The window starts at the layout of --size panes, or about 960x600 of panes in total.
  const int columns = PaneLayout({.num_panes = group.size()}).columns();
  const int rows = (group.size() + columns - 1) / columns;
  const auto [pane_width, pane_height] =
      o.size.empty() ? std::pair{960 / columns, 600 / rows} : ParseSize(o.size, "--size");
  const PaneLayout layout({.pane_width = pane_width, .pane_height = pane_height,
                           .num_panes = group.size()});
  viewer.width = layout.width();
  viewer.height = layout.height();
  RunViewer(group, viewer);
}

}  // namespace

void AddPlayCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "play", "Re-simulate recorded episodes in a window, or into an MP4 video (--video)");
  auto o = std::make_shared<PlayOptions>();
  cmd->add_option("file", o->file, "Episode file (.h5)")->required();
  cmd->add_option("--episode", o->episode, "Episode to show (first one with --grid)")
      ->capture_default_str();
  cmd->add_option("--video", o->video,
                  "Render headless into this H.264 MP4 instead of opening a window");
  cmd->add_option("--grid", o->grid, "Show this many consecutive episodes side by side")
      ->capture_default_str();
  cmd->add_option("--fps", o->fps, "Video frames per second")->capture_default_str();
  cmd->add_option("--size", o->size, "Size WxH of each pane (video default 320x240)");
  cmd->add_option("--camera", o->camera, "Scene camera (default: free camera)");
  cmd->add_option("--chart", o->chart,
                  "Strip chart: reward, return, an info key, observation:I or action:I")
      ->capture_default_str();
  cmd->add_option("--compare", o->compare,
                  "World-model run (or checkpoint.pt): recorded vs predicted frames side by "
                  "side with the model's surprise (needs --video)");
  cmd->add_option("--exit-after", o->exit_after, "Close the viewer after SECONDS (tests)")
      ->group("");  // hidden
  cmd->callback([o] { RunPlay(*o); });
}

}  // namespace darkmatter::apps
