// The networks world models are built from: an MLP for state vectors, a small CNN encoder for
// square RGB frames (64x64: four stride-2 convolutions) and the matching transposed-CNN decoder.
#pragma once

#include <cstdint>

#include <torch/nn/modules/container/sequential.h>

namespace darkmatter::worldmodel {

// in -> hidden -> hidden -> out with GELU between.
torch::nn::Sequential Mlp(int64_t in, int64_t hidden, int64_t out);

// Frames (N x 3 x S x S), S divisible by 16 -> (N x out). `channels` is the first layer's
// width (then 2x, 4x, 4x).
torch::nn::Sequential ConvEncoder(int64_t frame_size, int64_t channels, int64_t hidden,
                                  int64_t out);

// Latents (N x in) -> frames (N x 3 x S x S) in [0, 1]; the mirror of ConvEncoder.
torch::nn::Sequential ConvDecoder(int64_t frame_size, int64_t channels, int64_t in);

}  // namespace darkmatter::worldmodel
