#include "worldmodel/jepa.h"

#include <torch/torch.h>

namespace darkmatter::worldmodel {
namespace {

torch::nn::Sequential Mlp(int64_t in, int64_t hidden, int64_t out) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::GELU(),
                               torch::nn::Linear(hidden, hidden), torch::nn::GELU(),
                               torch::nn::Linear(hidden, out));
}

}  // namespace

JepaImpl::JepaImpl(const JepaOptions& options) : options_(options) {
  const JepaOptions& o = options_;
  encoder_ = register_module("encoder", Mlp(o.obs_dim, o.hidden, o.latent_dim));
  target_encoder_ = register_module("target_encoder", Mlp(o.obs_dim, o.hidden, o.latent_dim));
  predictor_ = register_module("predictor",
                               Mlp(o.context * o.latent_dim + o.act_dim, o.hidden, o.latent_dim));
  obs_mean_ = register_buffer("obs_mean", torch::zeros({o.obs_dim}));
  obs_std_ = register_buffer("obs_std", torch::ones({o.obs_dim}));
  torch::NoGradGuard no_grad;
  const auto online = encoder_->parameters();
  const auto target = target_encoder_->parameters();
  for (size_t i = 0; i < online.size(); ++i) {
    target[i].copy_(online[i]);
    target[i].set_requires_grad(false);
  }
}

void JepaImpl::SetNormalisation(const torch::Tensor& mean, const torch::Tensor& scale) {
  torch::NoGradGuard no_grad;
  obs_mean_.copy_(mean);
  obs_std_.copy_(scale);
}

torch::Tensor JepaImpl::Normalise(const torch::Tensor& observations) const {
  return (observations - obs_mean_) / obs_std_;
}

torch::Tensor JepaImpl::Encode(const torch::Tensor& observations) {
  return encoder_->forward(Normalise(observations));
}

torch::Tensor JepaImpl::EncodeTarget(const torch::Tensor& observations) {
  torch::NoGradGuard no_grad;
  return target_encoder_->forward(Normalise(observations));
}

torch::Tensor JepaImpl::Predict(const torch::Tensor& context_latents, const torch::Tensor& action) {
  const int64_t b = context_latents.size(0);
  auto input = torch::cat({context_latents.reshape({b, -1}), action}, 1);
  // Residual: predict the change from the last context latent.
  return context_latents.select(1, context_latents.size(1) - 1) + predictor_->forward(input);
}

torch::Tensor JepaImpl::Rollout(torch::Tensor context_latents, const torch::Tensor& actions) {
  std::vector<torch::Tensor> predicted;
  for (int64_t m = 0; m < actions.size(1); ++m) {
    auto next = Predict(context_latents, actions.select(1, m));
    predicted.push_back(next);
    context_latents = torch::cat(
        {context_latents.narrow(1, 1, context_latents.size(1) - 1), next.unsqueeze(1)}, 1);
  }
  return torch::stack(predicted, 1);
}

JepaLoss JepaImpl::Loss(const ClipBatch& batch) {
  const int64_t c = options_.context, m = options_.horizon, d = options_.latent_dim;
  auto z = Encode(batch.observations);                 // (B x L x D)
  auto target_all = EncodeTarget(batch.observations);  // (B x L x D), no gradient
  auto target = target_all.narrow(1, c, m);
  auto predicted = Rollout(z.narrow(1, 0, c), batch.actions);
  auto prediction = torch::smooth_l1_loss(predicted, target);
  // Reference: "nothing moves", the last context frame's target embedding held for M steps.
  auto copy = target_all.select(1, c - 1).unsqueeze(1).expand_as(target);
  const double copy_baseline = torch::smooth_l1_loss(copy, target).item<double>();
  // VICReg over every online embedding of the batch.
  auto flat = z.reshape({-1, d});
  auto centred = flat - flat.mean(0);
  auto spread = torch::sqrt(centred.pow(2).mean(0) + 1e-4);
  auto variance = torch::relu(1.0 - spread).mean();
  auto cov = centred.t().mm(centred) / static_cast<double>(std::max<int64_t>(flat.size(0) - 1, 1));
  auto off_diagonal = cov - torch::diag(torch::diag(cov));
  auto covariance = off_diagonal.pow(2).sum() / static_cast<double>(d);
  auto total =
      prediction + options_.variance_weight * variance + options_.covariance_weight * covariance;
  JepaLoss loss{total, {}};
  loss.metrics["prediction"] = prediction.item<double>();
  loss.metrics["copy_baseline"] = copy_baseline;
  loss.metrics["variance"] = variance.item<double>();
  loss.metrics["covariance"] = covariance.item<double>();
  loss.metrics["embedding_std"] = spread.mean().item<double>();
  loss.metrics["embedding_std_min"] = spread.min().item<double>();
  loss.metrics["total"] = total.item<double>();
  return loss;
}

void JepaImpl::UpdateTarget() {
  torch::NoGradGuard no_grad;
  const auto online = encoder_->parameters();
  auto target = target_encoder_->parameters();
  for (size_t i = 0; i < online.size(); ++i) {
    target[i].mul_(options_.ema).add_(online[i], 1.0 - options_.ema);
  }
}

}  // namespace darkmatter::worldmodel
