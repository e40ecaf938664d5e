// The learning boundary: episodes (flat float64 buffers) become float32 tensors on a device.
#pragma once

#include <vector>

#include <torch/types.h>

#include "sim/episode.h"

namespace darkmatter::worldmodel {

// Transitions (o_t, a_t, o_{t+1}) of one or more episodes, stacked along dim 0.
struct Transitions {
  torch::Tensor observations;       // (N x obs_dim) float32
  torch::Tensor actions;            // (N x act_dim) float32
  torch::Tensor next_observations;  // (N x obs_dim) float32
};

// Stacks every transition of `episodes` (all of one task) onto `device`, moving the data to
// the device once. Throws BadInput when the episodes' dimensions disagree.
Transitions StackTransitions(const std::vector<sim::Episode>& episodes, torch::Device device);

}  // namespace darkmatter::worldmodel
