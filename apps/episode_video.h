// Headless episode videos shared by `play --video`, `play --compare` and the suite: compose
// frames onto a canvas one at a time and encode them as H.264 (atomically, via VideoWriter).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "apps/canvas.h"

namespace darkmatter::apps {

// Encodes frames 0 .. frames-1 into `video`: compose(t) draws frame t onto `canvas` (frame 0
// is composed before the file is created, so bad cameras or sizes leave nothing behind). A
// progress bar labelled `label` is shown unless `label` is empty.
void EncodeFrames(const std::string& video, double fps, int64_t frames, const Canvas& canvas,
                  const std::function<void(int64_t t)>& compose, const std::string& label);

struct EpisodeVideoOptions {
  std::string file;            // episode file (.h5)
  int64_t episode = 0;         // first episode shown
  int grid = 1;                // consecutive episodes side by side
  double fps = 30;             // frames per second
  int pane_width = 320;        // pixels per pane
  int pane_height = 240;       // pixels per pane
  std::string camera;          // scene camera; "" = free camera
  std::string chart = "reward";  // strip chart key (EpisodePlayer::Series)
  std::string label = "play";  // progress bar label; "" = no progress bar
};

// Re-simulates the episodes and writes them with captions and the strip chart into `video`;
// returns the number of frames and sets *width / *height to the video's size when not null.
int64_t WriteEpisodeVideo(const EpisodeVideoOptions& options, const std::string& video,
                          int* width = nullptr, int* height = nullptr);

}  // namespace darkmatter::apps
