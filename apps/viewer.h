// Viewer: an interactive GLFW window that plays an EpisodeGroup. It has its own window GL
// context (separate from the headless per-thread contexts): MuJoCo renders each pane
// natively into its viewport, and the shared pane layout (captions, status line, strip
// chart) is composed on the CPU and drawn around them.
//
// Keys: space play/pause; right/left step forward/back; up/down or +/- speed x2 / x0.5;
// page down/up or n/p next/previous episode(s); home/end first/last frame; esc/q quit.
// Mouse: left drag orbit (shift: horizontal), right drag or scroll zoom, middle drag pan.
#pragma once

#include <string>

#include "apps/episode_player.h"

namespace darkmatter::apps {

struct ViewerOptions {
  std::string camera;      // scene camera to start from; "" = free camera
  std::string title;       // window title
  int width = 1280;        // initial window width (screen coordinates)
  int height = 800;        // initial window height (screen coordinates)
  double exit_after = 0;   // close the window after this many seconds; 0 = when asked
};

// Opens the window and plays `group` until the window is closed. Throws sim::BadInput when
// no display can be opened or a pane is not a MuJoCo scene, std::runtime_error when the
// window or GL context cannot be created.
void RunViewer(EpisodeGroup& group, const ViewerOptions& options);

}  // namespace darkmatter::apps
