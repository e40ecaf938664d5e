#include "worldmodel/encoders.h"

#include <torch/torch.h>

namespace darkmatter::worldmodel {

torch::nn::Sequential Mlp(int64_t in, int64_t hidden, int64_t out) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::GELU(),
                               torch::nn::Linear(hidden, hidden), torch::nn::GELU(),
                               torch::nn::Linear(hidden, out));
}

torch::nn::Sequential ConvEncoder(int64_t frame_size, int64_t channels, int64_t hidden,
                                  int64_t out) {
  using torch::nn::Conv2dOptions;
  const int64_t c = channels, s = frame_size / 16;
  return torch::nn::Sequential(
      torch::nn::Conv2d(Conv2dOptions(3, c, 4).stride(2).padding(1)), torch::nn::GELU(),
      torch::nn::Conv2d(Conv2dOptions(c, 2 * c, 4).stride(2).padding(1)), torch::nn::GELU(),
      torch::nn::Conv2d(Conv2dOptions(2 * c, 4 * c, 4).stride(2).padding(1)), torch::nn::GELU(),
      torch::nn::Conv2d(Conv2dOptions(4 * c, 4 * c, 4).stride(2).padding(1)), torch::nn::GELU(),
      torch::nn::Flatten(), torch::nn::Linear(4 * c * s * s, hidden), torch::nn::GELU(),
      torch::nn::Linear(hidden, out));
}

torch::nn::Sequential ConvDecoder(int64_t frame_size, int64_t channels, int64_t in) {
  using torch::nn::ConvTranspose2dOptions;
  const int64_t c = channels, s = frame_size / 16;
  return torch::nn::Sequential(
      torch::nn::Linear(in, 4 * c * s * s), torch::nn::GELU(),
      torch::nn::Unflatten(torch::nn::UnflattenOptions(1, {4 * c, s, s})),
      torch::nn::ConvTranspose2d(ConvTranspose2dOptions(4 * c, 4 * c, 4).stride(2).padding(1)),
      torch::nn::GELU(),
      torch::nn::ConvTranspose2d(ConvTranspose2dOptions(4 * c, 2 * c, 4).stride(2).padding(1)),
      torch::nn::GELU(),
      torch::nn::ConvTranspose2d(ConvTranspose2dOptions(2 * c, c, 4).stride(2).padding(1)),
      torch::nn::GELU(),
      torch::nn::ConvTranspose2d(ConvTranspose2dOptions(c, 3, 4).stride(2).padding(1)),
      torch::nn::Sigmoid());
}

}  // namespace darkmatter::worldmodel
