// The networks world models are built from: an MLP for state vectors, a small CNN encoder for
// square RGB frames pooled into one vector (64x64: four stride-2 convolutions, the "global"
// ablation), a spatial CNN encoder that keeps a feature map (map x map locations x C channels,
// coordinate channels in), the convolutional predictor over such maps (causal history of C
// frames, FiLM-conditioned on action and noise) and the transposed-CNN decoder.
#pragma once

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

namespace darkmatter::worldmodel {

// in -> hidden -> hidden -> out with GELU between.
torch::nn::Sequential Mlp(int64_t in, int64_t hidden, int64_t out);

// Frames (N x 3 x S x S), S divisible by 16 -> (N x out). `channels` is the first layer's
// width (then 2x, 4x, 4x).
torch::nn::Sequential ConvEncoder(int64_t frame_size, int64_t channels, int64_t hidden,
                                  int64_t out);

// Latents (N x in) -> frames (N x 3 x S x S) in [0, 1]; the mirror of ConvEncoder.
torch::nn::Sequential ConvDecoder(int64_t frame_size, int64_t channels, int64_t in);

// Frames (N x 3 x S x S), S / map a power of two >= 2 -> feature maps flattened channel-major
// (N x out_channels*map*map). Two coordinate channels (x, y in [-1, 1]) join the RGB input;
// log2(S / map) stride-2 4x4 convolutions (widths channels, then 2x channels) and a 1x1
// convolution to out_channels; no pooling.
torch::nn::Sequential SpatialConvEncoder(int64_t frame_size, int64_t channels, int64_t map,
                                         int64_t out_channels);

// Appends two coordinate channels (x, y in [-1, 1]) to feature maps (N x C x H x W).
class AddCoordsImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& maps);
};
TORCH_MODULE(AddCoords);

// The predictor over feature maps: input rows (N x context*C*map*map + cond) are the flattened
// context maps (oldest first) followed by a conditioning vector (action, then noise; may be
// empty); output (N x C*map*map) is the change of the last context map. Three 3x3
// convolutions (hidden channels) over the stacked history plus coordinates; FiLM (scale and
// shift per hidden channel from the conditioning vector) after the first.
class SpatialPredictorImpl : public torch::nn::Module {
 public:
  SpatialPredictorImpl(int64_t context, int64_t map_channels, int64_t map, int64_t cond_dim,
                       int64_t hidden);
  torch::Tensor forward(const torch::Tensor& input);

 private:
  int64_t context_, map_channels_, map_, cond_dim_;
  torch::nn::Conv2d in_{nullptr}, mid_{nullptr}, mid2_{nullptr}, out_{nullptr};
  torch::nn::Linear film_{nullptr};  // cond -> 2 x hidden (absent when cond_dim = 0)
  AddCoords coords_{nullptr};
};
TORCH_MODULE(SpatialPredictor);

}  // namespace darkmatter::worldmodel
