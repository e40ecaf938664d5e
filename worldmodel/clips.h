// Clips of C context + M future steps from episodes, as tensors on one device, with
// deterministic shuffling from a seed.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <torch/types.h>

#include "sim/episode.h"

namespace darkmatter::worldmodel {

// A batch of B clips of L = C + M observations.
struct ClipBatch {
  torch::Tensor observations;  // (B x L x obs_dim) float32
  torch::Tensor actions;       // (B x M x act_dim) float32, a_{C-1} .. a_{C+M-2}
};

class ClipDataset {
 public:
  // Every window of `context + horizon` consecutive observations inside one episode; the
  // frames are moved to `device` once. Throws BadInput when the episodes disagree in
  // dimensions or no episode is long enough for one clip.
  ClipDataset(const std::vector<sim::Episode>& episodes, int64_t context, int64_t horizon,
              torch::Device device);

  int64_t NumClips() const { return static_cast<int64_t>(starts_.size()); }
  int64_t ObsDim() const { return observations_.size(1); }
  int64_t ActDim() const { return actions_.size(1); }
  // Per-dimension mean and std (>= 1e-6) of every frame, each (obs_dim).
  torch::Tensor ObsMean() const;
  torch::Tensor ObsStd() const;
  // The clips with the given indices (0 <= index < NumClips()).
  ClipBatch Gather(const std::vector<int64_t>& indices) const;
  // Batch number `step` of an endless sequence of epochs, each a permutation of the clips
  // drawn from (seed, epoch): a pure function of (seed, step, batch_size).
  ClipBatch Batch(uint64_t seed, int64_t step, int64_t batch_size);

 private:
  const std::vector<int64_t>& Permutation(uint64_t seed, int64_t epoch);
  int64_t context_, horizon_;
  torch::Device device_;
  torch::Tensor observations_;   // (frames x obs_dim) on device
  torch::Tensor actions_;        // (frames x act_dim) on device, zero after each episode's end
  std::vector<int64_t> starts_;  // first frame of each clip
  std::map<std::pair<uint64_t, int64_t>, std::vector<int64_t>> permutations_;
};

}  // namespace darkmatter::worldmodel
