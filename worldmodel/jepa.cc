#include "worldmodel/jepa.h"

#include <torch/torch.h>

namespace darkmatter::worldmodel {

JepaImpl::JepaImpl(const ModelOptions& options) : LatentModelImpl(options) {
  target_encoder_ = register_module("target_encoder", MakeEncoder(options_, options_.latent_dim));
  torch::NoGradGuard no_grad;
  const auto online = encoder_->parameters();
  const auto target = target_encoder_->parameters();
  for (size_t i = 0; i < online.size(); ++i) {
    target[i].copy_(online[i]);
    target[i].set_requires_grad(false);
  }
}

torch::Tensor JepaImpl::EncodeTarget(const torch::Tensor& observations) {
  torch::NoGradGuard no_grad;
  return Apply(target_encoder_, observations);
}

torch::Tensor JepaImpl::PredictionLoss(const torch::Tensor& context, const torch::Tensor& actions,
                                       const torch::Tensor& target) {
  return torch::smooth_l1_loss(Rollout(context, actions), target);
}

ModelLoss JepaImpl::Loss(const ClipBatch& batch) {
  const int64_t c = options_.context, m = options_.horizon, d = options_.latent_dim;
  auto z = Encode(batch.observations);                 // (B x L x D)
  auto target_all = EncodeTarget(batch.observations);  // (B x L x D), no gradient
  auto target = target_all.narrow(1, c, m);
  auto context = MaskContext(z.narrow(1, 0, c));
  auto prediction = PredictionLoss(context, batch.actions.narrow(1, c - 1, m), target);
  // Reference: "nothing moves", the last context frame's target embedding held for M steps.
  auto copy = target_all.select(1, c - 1).unsqueeze(1).expand_as(target);
  const double copy_baseline = torch::smooth_l1_loss(copy, target).item<double>();
  const VicReg reg =
      Spatial(options_)
          ? SpatialVicRegTerms(z.reshape({-1, options_.map_channels, options_.map * options_.map}))
          : VicRegTerms(z.reshape({-1, d}));
  auto total = prediction + options_.variance_weight * reg.variance +
               options_.covariance_weight * reg.covariance;
  ModelLoss loss{total, {}};
  loss.metrics["prediction"] = prediction.item<double>();
  loss.metrics["copy_baseline"] = copy_baseline;
  loss.metrics["variance"] = reg.variance.item<double>();
  loss.metrics["covariance"] = reg.covariance.item<double>();
  loss.metrics["embedding_std"] = reg.spread.mean().item<double>();
  loss.metrics["embedding_std_min"] = reg.spread.min().item<double>();
  loss.metrics["total"] = total.item<double>();
  return loss;
}

void JepaImpl::AfterOptimizerStep() {
  torch::NoGradGuard no_grad;
  const auto online = encoder_->parameters();
  auto target = target_encoder_->parameters();
  for (size_t i = 0; i < online.size(); ++i) {
    target[i].mul_(options_.ema).add_(online[i], 1.0 - options_.ema);
  }
}

}  // namespace darkmatter::worldmodel
