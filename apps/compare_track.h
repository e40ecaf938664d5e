// What a world model expected along one recorded episode, for `play --compare CKPT`: its
// per-frame surprise, and what it predicted for each frame from the frames before it —
// decoded frames for a generative model, object positions read out of the predicted latent
// by a ridge probe (fitted on the file's other episodes) for the others.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/episode.h"

namespace darkmatter::apps {

struct CompareTrack {
  std::string model;              // jepa | generative | stochastic | supervised
  int64_t context = 0;            // frames before the first prediction
  std::vector<double> surprise;   // (T+1) per frame; NaN on the context frames
  int frame_size = 0;             // decoded frame size S (generative), else 0
  std::vector<uint8_t> imagined;  // ((T+1) x S x S x 3) decoded one-step predictions
                                  // (the real frame on context frames); generative only
  int64_t num_objects = 0;        // objects in the truth field "positions" (probe)
  std::vector<double> predicted_positions;  // ((T+1) x objects x 3) world frame (m), NaN on
                                            // context frames; empty for generative
  std::vector<double> true_positions;       // ((T+1) x objects x 3) from the file's truth
  double probe_r2 = 0;            // R² of the probe on the target embeddings of this episode
};

// Runs the model of run directory / checkpoint `checkpoint` over episode `k` of `file`
// (already read as `episodes`). Throws sim::BadInput when the checkpoint is unreadable, the
// model's input does not fit the file (pixel model, no frames), or a probe needs the truth
// field "positions" and the file has none.
CompareTrack ComputeCompareTrack(const std::string& checkpoint,
                                 const std::vector<sim::Episode>& episodes, int64_t k);

}  // namespace darkmatter::apps
