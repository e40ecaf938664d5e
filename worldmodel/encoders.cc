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

torch::Tensor AddCoordsImpl::forward(const torch::Tensor& maps) {
  const int64_t n = maps.size(0), h = maps.size(2), w = maps.size(3);
  auto ys = torch::linspace(-1.0, 1.0, h, maps.options()).view({1, 1, h, 1}).expand({n, 1, h, w});
  auto xs = torch::linspace(-1.0, 1.0, w, maps.options()).view({1, 1, 1, w}).expand({n, 1, h, w});
  return torch::cat({maps, xs, ys}, 1);
}

torch::nn::Sequential SpatialConvEncoder(int64_t frame_size, int64_t channels, int64_t map,
                                         int64_t out_channels) {
  using torch::nn::Conv2dOptions;
  torch::nn::Sequential net;
  net->push_back(AddCoords());
  int64_t in = 5, size = frame_size;
  for (int64_t layer = 0; size > map; ++layer, size /= 2) {
    const int64_t width = layer == 0 ? channels : 2 * channels;
    net->push_back(torch::nn::Conv2d(Conv2dOptions(in, width, 4).stride(2).padding(1)));
    net->push_back(torch::nn::GELU());
    in = width;
  }
  net->push_back(torch::nn::Conv2d(Conv2dOptions(in, in, 3).padding(1)));
  net->push_back(torch::nn::GELU());
  net->push_back(torch::nn::Conv2d(Conv2dOptions(in, out_channels, 1)));
  net->push_back(torch::nn::Flatten());
  return net;
}

SpatialPredictorImpl::SpatialPredictorImpl(int64_t context, int64_t map_channels, int64_t map,
                                           int64_t cond_dim, int64_t hidden)
    : context_(context), map_channels_(map_channels), map_(map), cond_dim_(cond_dim) {
  using torch::nn::Conv2dOptions;
  coords_ = register_module("coords", AddCoords());
  in_ = register_module(
      "in", torch::nn::Conv2d(Conv2dOptions(context * map_channels + 2, hidden, 3).padding(1)));
  mid_ = register_module("mid", torch::nn::Conv2d(Conv2dOptions(hidden, hidden, 3).padding(1)));
  mid2_ = register_module("mid2", torch::nn::Conv2d(Conv2dOptions(hidden, hidden, 3).padding(1)));
  out_ = register_module("out", torch::nn::Conv2d(Conv2dOptions(hidden, map_channels, 1)));
  if (cond_dim > 0) film_ = register_module("film", torch::nn::Linear(cond_dim, 2 * hidden));
}

torch::Tensor SpatialPredictorImpl::forward(const torch::Tensor& input) {
  const int64_t n = input.size(0), d = map_channels_ * map_ * map_;
  auto maps = input.narrow(1, 0, context_ * d).reshape({n, context_ * map_channels_, map_, map_});
  auto x = torch::gelu(in_->forward(coords_->forward(maps)));
  if (cond_dim_ > 0) {
    auto film = film_->forward(input.narrow(1, context_ * d, cond_dim_));  // (N x 2*hidden)
    auto scale = film.narrow(1, 0, x.size(1)).view({n, -1, 1, 1});
    auto shift = film.narrow(1, x.size(1), x.size(1)).view({n, -1, 1, 1});
    x = x * (1 + scale) + shift;
  }
  x = torch::gelu(mid_->forward(x));
  x = torch::gelu(mid2_->forward(x));
  return out_->forward(x).reshape({n, d});
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
