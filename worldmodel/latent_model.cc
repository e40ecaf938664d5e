#include "worldmodel/latent_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "worldmodel/encoders.h"

namespace darkmatter::worldmodel {

torch::nn::Sequential MakeEncoder(const ModelOptions& o, int64_t out) {
  if (Spatial(o)) return SpatialConvEncoder(o.frame_size, o.channels, o.map, o.map_channels);
  if (o.input == "pixels") return ConvEncoder(o.frame_size, o.channels, o.hidden, out);
  return Mlp(o.obs_dim, o.hidden, out);
}

VicReg VicRegTerms(const torch::Tensor& embeddings) {
  const int64_t n = embeddings.size(0), d = embeddings.size(1);
  auto centred = embeddings - embeddings.mean(0);
  VicReg terms;
  terms.spread = torch::sqrt(centred.pow(2).mean(0) + 1e-4);
  terms.variance = torch::relu(1.0 - terms.spread).mean();
  auto cov = centred.t().mm(centred) / static_cast<double>(std::max<int64_t>(n - 1, 1));
  auto off_diagonal = cov - torch::diag(torch::diag(cov));
  terms.covariance = off_diagonal.pow(2).sum() / static_cast<double>(d);
  return terms;
}

VicReg SpatialVicRegTerms(const torch::Tensor& maps) {
  // (N x C x P) -> per location p: N samples of C channels.
  auto x = maps.permute({2, 0, 1});  // (P x N x C)
  const int64_t n = x.size(1), c = x.size(2);
  auto centred = x - x.mean(1, /*keepdim=*/true);
  VicReg terms;
  terms.spread = torch::sqrt(centred.pow(2).mean(1) + 1e-4);  // (P x C)
  terms.variance = torch::relu(1.0 - terms.spread).mean();
  auto cov = torch::bmm(centred.transpose(1, 2), centred) /
             static_cast<double>(std::max<int64_t>(n - 1, 1));  // (P x C x C)
  auto off_diagonal = cov - torch::diag_embed(torch::diagonal(cov, 0, 1, 2));
  terms.covariance = off_diagonal.pow(2).sum({1, 2}).mean() / static_cast<double>(c);
  return terms;
}

torch::Tensor SigRegTerm(const torch::Tensor& samples, const torch::Tensor& directions) {
  constexpr int64_t kPoints = 17;
  constexpr double kTMax = 5.0;
  const int64_t n = samples.size(-2);
  auto projected = torch::matmul(samples, directions);  // (G x N x M)
  auto t = torch::linspace(0.0, kTMax, kPoints, samples.options());
  auto gauss = torch::exp(-0.5 * t * t);                 // CF of N(0, 1), also the weight
  auto arg = projected.unsqueeze(-1) * t;                // (G x N x M x T)
  auto real = torch::cos(arg).mean(-3), imag = torch::sin(arg).mean(-3);  // (G x M x T)
  auto err = ((real - gauss).pow(2) + imag.pow(2)) * gauss;
  auto trapezoid = torch::full({kPoints}, kTMax / (kPoints - 1), samples.options());
  trapezoid[0] = trapezoid[0] * 0.5;
  trapezoid[kPoints - 1] = trapezoid[kPoints - 1] * 0.5;
  auto statistic = 2.0 * static_cast<double>(n) * (err * trapezoid).sum(-1);  // (G x M)
  return statistic.mean();
}

torch::Tensor SigRegDirections(int64_t c, int64_t m, uint64_t seed, const torch::TensorOptions& to) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto a = torch::randn({c, m}, generator, torch::TensorOptions().dtype(torch::kFloat32));
  a = a / a.norm(2, {0}, /*keepdim=*/true).clamp_min(1e-12);
  return a.to(to);
}

LatentModelImpl::LatentModelImpl(const ModelOptions& options) : WorldModelImpl(options) {
  const ModelOptions& o = options_;
  encoder_ = register_module("encoder", MakeEncoder(o, o.latent_dim));
  if (Spatial(o)) {
    predictor_ = register_module(
        "predictor", torch::nn::Sequential(SpatialPredictor(o.context, o.map_channels, o.map,
                                                            o.act_dim + NoiseDim(), o.hidden)));
  } else {
    predictor_ = register_module(
        "predictor", Mlp(o.context * o.latent_dim + o.act_dim + NoiseDim(), o.hidden, o.latent_dim));
  }
  const int64_t norm_dim = o.input == "pixels" ? 0 : o.obs_dim;
  obs_mean_ = register_buffer("obs_mean", torch::zeros({norm_dim}));
  obs_std_ = register_buffer("obs_std", torch::ones({norm_dim}));
  mask_token_ = register_parameter("mask_token", torch::zeros({o.latent_dim}),
                                   /*requires_grad=*/o.mask_ratio > 0);
}

int64_t LatentModelImpl::NoiseDim() const {
  return options_.model == "stochastic" ? options_.noise_dim : 0;
}

void LatentModelImpl::SetNormalisation(const torch::Tensor& mean, const torch::Tensor& scale) {
  if (options_.input == "pixels" || !mean.defined()) return;
  torch::NoGradGuard no_grad;
  obs_mean_.copy_(mean);
  obs_std_.copy_(scale);
}

torch::Tensor LatentModelImpl::Apply(torch::nn::Sequential& network,
                                     const torch::Tensor& observations) const {
  const int64_t b = observations.size(0), l = observations.size(1);
  if (options_.input == "pixels") {
    auto flat = observations.reshape({b * l, observations.size(2), observations.size(3),
                                      observations.size(4)});
    return network->forward(flat - 0.5).view({b, l, -1});
  }
  return network->forward((observations - obs_mean_) / obs_std_);
}

torch::Tensor LatentModelImpl::Encode(const torch::Tensor& observations) {
  return Apply(encoder_, observations);
}

torch::Tensor LatentModelImpl::EncodeTarget(const torch::Tensor& observations) {
  torch::NoGradGuard no_grad;
  return Apply(encoder_, observations);
}

torch::Tensor LatentModelImpl::Predict(const torch::Tensor& context_latents,
                                       const torch::Tensor& action, const torch::Tensor& noise) {
  const int64_t b = context_latents.size(0);
  std::vector<torch::Tensor> inputs = {context_latents.reshape({b, -1}), action};
  if (NoiseDim() > 0) {
    inputs.push_back(noise.defined() ? noise : torch::zeros({b, NoiseDim()}, action.options()));
  }
  // Residual: predict the change from the last context latent.
  return context_latents.select(1, context_latents.size(1) - 1) +
         predictor_->forward(torch::cat(inputs, 1));
}

torch::Tensor LatentModelImpl::MaskContext(const torch::Tensor& context_latents) const {
  if (options_.mask_ratio <= 0 || !is_training()) return context_latents;
  auto keep = (torch::rand({context_latents.size(0), context_latents.size(1), 1},
                           context_latents.options()) >= options_.mask_ratio)
                  .to(context_latents.dtype());
  return context_latents * keep + mask_token_ * (1 - keep);
}

}  // namespace darkmatter::worldmodel
