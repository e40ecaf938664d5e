// Clips of C context + M future steps from episodes (state observations or rendered frames,
// with actions and optional privileged labels), as tensors on one device, with deterministic
// shuffling from a seed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "sim/episode.h"

namespace darkmatter::worldmodel {

// A batch of B clips of L = C + M observations.
struct ClipBatch {
  torch::Tensor observations;  // (B x L x obs_dim) float32, or pixels (B x L x 3 x H x W)
                               // float32 in [0, 1]
  torch::Tensor actions;       // (B x L-1 x act_dim) float32, a_0 .. a_{L-2} of the clip
  torch::Tensor labels;        // (B x L x label_dim) float32, normalised truth; undefined
                               // when no label fields were asked for
};

// What a dataset reads from episodes.
struct DataOptions {
  std::string input = "state";      // state (observations) | pixels (frames, kept as uint8)
  std::vector<std::string> labels;  // truth fields stacked into labels, e.g. {"positions"}
  int64_t max_clips = 0;            // keep this many clips (a seeded choice); 0 = all
  uint64_t seed = 0;                // seed of that choice
  int64_t skip = 1;                 // frames between consecutive clip steps (a clip of L
                                    // steps spans (L-1)*skip+1 frames; a step's action is the
                                    // mean of the skip actions it spans)
};

// The observations of whole episodes as model input: (1 x T+1 x ...) float32 on `device`
// (pixels in [0, 1], channels first) and their actions (1 x T x act_dim).
ClipBatch EpisodeTensors(const sim::Episode& episode, const std::string& input,
                         torch::Device device);

// Stacks the named truth fields of one episode: ((T+1) x label_dim) float64 row-major.
// Throws BadInput naming a field the episode does not record.
std::vector<double> EpisodeLabels(const sim::Episode& episode,
                                  const std::vector<std::string>& fields, int64_t* label_dim);

class ClipDataset {
 public:
  // Every window of `context + horizon` consecutive frames inside one episode; the data are
  // moved to `device` once (pixels stay uint8 there). Throws BadInput when the episodes
  // disagree in dimensions, lack frames or truth asked for, or none is long enough.
  ClipDataset(const std::vector<sim::Episode>& episodes, int64_t context, int64_t horizon,
              torch::Device device, const DataOptions& options = {});

  int64_t NumClips() const { return static_cast<int64_t>(starts_.size()); }
  int64_t NumFrames() const { return frames_.size(0); }
  bool Pixels() const { return options_.input == "pixels"; }
  // State size (0 for pixels), frame size (0 for state), action and label sizes.
  int64_t ObsDim() const { return Pixels() ? 0 : frames_.size(1); }
  int64_t FrameSize() const { return Pixels() ? frames_.size(2) : 0; }
  int64_t ActDim() const { return actions_.size(1); }
  int64_t LabelDim() const { return labels_.defined() ? labels_.size(1) : 0; }
  // Per-dimension mean and std (>= 1e-6) of every state frame, each (obs_dim).
  torch::Tensor ObsMean() const;
  torch::Tensor ObsStd() const;
  // Per-dimension mean and std (>= 1e-6) of the raw labels, each (label_dim).
  torch::Tensor LabelMean() const { return label_mean_; }
  torch::Tensor LabelStd() const { return label_std_; }
  // The clips with the given indices (0 <= index < NumClips()).
  ClipBatch Gather(const std::vector<int64_t>& indices) const;
  // Batch number `step` of an endless sequence of epochs, each a permutation of the clips
  // drawn from (seed, epoch): a pure function of (seed, step, batch_size).
  ClipBatch Batch(uint64_t seed, int64_t step, int64_t batch_size);

 private:
  const std::vector<int64_t>& Permutation(uint64_t seed, int64_t epoch);
  int64_t context_, horizon_;
  torch::Device device_;
  DataOptions options_;
  torch::Tensor frames_;         // (frames x obs_dim) float32, or (frames x 3 x H x W) uint8
  torch::Tensor actions_;        // (frames x act_dim) on device, zero after each episode's end
  torch::Tensor labels_;         // (frames x label_dim) normalised, or undefined
  torch::Tensor label_mean_, label_std_;  // (label_dim) raw-label statistics (CPU)
  std::vector<int64_t> starts_;  // first frame of each clip
  std::map<std::pair<uint64_t, int64_t>, std::vector<int64_t>> permutations_;
};

}  // namespace darkmatter::worldmodel
