#include "worldmodel/generative.h"

#include <torch/torch.h>

#include "worldmodel/encoders.h"

namespace darkmatter::worldmodel {

GenerativeImpl::GenerativeImpl(const ModelOptions& options) : LatentModelImpl(options) {
  const ModelOptions& o = options_;
  decoder_ = register_module("decoder", o.input == "pixels"
                                            ? ConvDecoder(o.frame_size, o.channels, o.latent_dim)
                                            : Mlp(o.latent_dim, o.hidden, o.obs_dim));
}

torch::Tensor GenerativeImpl::DecodeRaw(const torch::Tensor& latents) {
  auto flat = latents.reshape({-1, options_.latent_dim});
  auto decoded = decoder_->forward(flat);
  std::vector<int64_t> shape(latents.sizes().begin(), latents.sizes().end() - 1);
  for (int64_t i = 1; i < decoded.dim(); ++i) shape.push_back(decoded.size(i));
  return decoded.view(shape);
}

torch::Tensor GenerativeImpl::ModelSpace(const torch::Tensor& observations) const {
  if (options_.input == "pixels") return observations;
  return (observations - obs_mean_) / obs_std_;
}

torch::Tensor GenerativeImpl::Decode(const torch::Tensor& latents) {
  auto decoded = DecodeRaw(latents);
  if (options_.input == "pixels") return decoded;
  return decoded * obs_std_ + obs_mean_;
}

ModelLoss GenerativeImpl::Loss(const ClipBatch& batch) {
  const int64_t c = options_.context, m = options_.horizon;
  auto observed = ModelSpace(batch.observations);
  auto z = Encode(batch.observations);
  auto reconstruction = torch::mse_loss(DecodeRaw(z), observed);
  auto future = observed.narrow(1, c, m);
  auto predicted = DecodeRaw(Rollout(MaskContext(z.narrow(1, 0, c)),
                                     batch.actions.narrow(1, c - 1, m)));
  auto prediction = torch::mse_loss(predicted, future);
  const double copy_baseline =
      torch::mse_loss(observed.narrow(1, c - 1, 1).expand_as(future), future).item<double>();
  auto total = prediction + reconstruction;
  ModelLoss loss{total, {}};
  loss.metrics["prediction"] = prediction.item<double>();
  loss.metrics["reconstruction"] = reconstruction.item<double>();
  loss.metrics["copy_baseline"] = copy_baseline;
  loss.metrics["total"] = total.item<double>();
  return loss;
}

torch::Tensor GenerativeImpl::StepSurprise(const torch::Tensor& context,
                                           const torch::Tensor& action,
                                           const torch::Tensor& target,
                                           const torch::Tensor& observation) {
  auto predicted = DecodeRaw(Predict(context, action));
  auto error = (predicted - ModelSpace(observation)).abs();
  return error.reshape({error.size(0), -1}).mean(1);
}

}  // namespace darkmatter::worldmodel
