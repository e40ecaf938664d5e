#include "worldmodel/jepa.h"

#include <optional>

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
  if (options_.reg == "sigreg") {
    // Drawn from the default generator the caller seeded (train.seed), after initialisation.
    const auto seed = torch::randint(int64_t{1} << 40, {1}, torch::kLong);
    sigreg_state_ = register_buffer("sigreg_state", torch::cat({seed, torch::zeros({1}, torch::kLong)}));
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
  const bool sigreg = options_.reg == "sigreg";
  // Per location for spatial maps: (B*L) samples of C channels at each of P locations.
  auto maps = Spatial(options_)
                  ? z.reshape({-1, options_.map_channels, options_.map * options_.map})
                  : z.reshape({-1, d, 1});
  VicReg reg;
  {
    std::optional<torch::NoGradGuard> report_only;
    if (sigreg) report_only.emplace();
    reg = Spatial(options_) ? SpatialVicRegTerms(maps) : VicRegTerms(z.reshape({-1, d}));
  }
  torch::Tensor total;
  double sigreg_value = 0.0;
  if (sigreg) {
    const auto state = sigreg_state_.to(torch::kCPU);
    const uint64_t seed = static_cast<uint64_t>(state[0].item<int64_t>()) * 0x9E3779B97F4A7C15ULL +
                          static_cast<uint64_t>(state[1].item<int64_t>());
    const auto directions =
        SigRegDirections(maps.size(1), options_.sigreg_projections, seed, z.options());
    auto term = SigRegTerm(maps.permute({2, 0, 1}), directions);  // (P x N x C) samples
    sigreg_value = term.item<double>();
    total = prediction + options_.sigreg_weight * term;
  } else {
    total = prediction + options_.variance_weight * reg.variance +
            options_.covariance_weight * reg.covariance;
  }
  ModelLoss loss{total, {}};
  if (sigreg) loss.metrics["sigreg"] = sigreg_value;
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
  if (sigreg_state_.defined()) sigreg_state_[1] += 1;
  const auto online = encoder_->parameters();
  auto target = target_encoder_->parameters();
  for (size_t i = 0; i < online.size(); ++i) {
    target[i].mul_(options_.ema).add_(online[i], 1.0 - options_.ema);
  }
}

}  // namespace darkmatter::worldmodel
