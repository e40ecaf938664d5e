// `play FILE.h5 --compare CKPT --video OUT.mp4`: the recorded episode (left) beside what the
// world model predicted for each frame from the frames before it (right: decoded frames of a
// generative model, or the probed object positions of a latent model drawn as crosses over
// the frame), with the model's surprise as the strip chart.
#pragma once

#include <cstdint>
#include <string>

namespace darkmatter::apps {

struct CompareVideoOptions {
  std::string file;        // episode file
  int64_t episode = 0;     // episode shown
  std::string checkpoint;  // world-model run directory or checkpoint.pt
  std::string video;       // OUT.mp4
  int pane_width = 320;    // pixels
  int pane_height = 240;   // pixels
  std::string camera;      // scene camera; "" = "main" for probe markers, else free camera
  double fps = 30;         // frames per second
  bool quiet = false;      // no summary line on stdout (the suite renders many)
};

// Writes the comparison video atomically; BadInput for bad files, checkpoints or cameras.
void WriteCompareVideo(const CompareVideoOptions& options);

}  // namespace darkmatter::apps
