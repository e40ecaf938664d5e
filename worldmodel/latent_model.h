// What every world model shares: the online encoder (MLP or CNN), the action-conditioned
// residual latent predictor, state normalisation and the learned mask token.
#pragma once

#include <cstdint>

#include <torch/nn/modules/container/sequential.h>

#include "worldmodel/world_model.h"

namespace darkmatter::worldmodel {

class LatentModelImpl : public WorldModelImpl {
 public:
  explicit LatentModelImpl(const ModelOptions& options);

  void SetNormalisation(const torch::Tensor& mean, const torch::Tensor& scale) override;
  torch::Tensor Encode(const torch::Tensor& observations) override;
  torch::Tensor EncodeTarget(const torch::Tensor& observations) override;
  torch::Tensor Predict(const torch::Tensor& context_latents, const torch::Tensor& action,
                        const torch::Tensor& noise = {}) override;

  torch::nn::Sequential encoder() const { return encoder_; }
  torch::nn::Sequential predictor() const { return predictor_; }

 protected:
  // Runs `network` over observations (B x L x ...) -> (B x L x out), normalising states.
  torch::Tensor Apply(torch::nn::Sequential& network, const torch::Tensor& observations) const;
  // Replaces each context latent (B x C x D) by the mask token with probability mask_ratio.
  torch::Tensor MaskContext(const torch::Tensor& context_latents) const;
  // Size of the noise input of the predictor (stochastic only).
  int64_t NoiseDim() const;

  torch::nn::Sequential encoder_{nullptr}, predictor_{nullptr};
  torch::Tensor obs_mean_, obs_std_;  // (obs_dim) buffers (state input)
  torch::Tensor mask_token_;          // (D) parameter
};

// Builds the encoder `options` ask for (MLP for state, CNN for pixels) with `out` outputs.
torch::nn::Sequential MakeEncoder(const ModelOptions& options, int64_t out);

// VICReg terms over embeddings (N x D): variance hinge, covariance, and per-dimension std.
struct VicReg {
  torch::Tensor variance, covariance, spread;
};
VicReg VicRegTerms(const torch::Tensor& embeddings);
// The same per location of feature maps (N x C x P): each of the P locations gets its own
// variance hinge over the N samples (spread is P x C) and covariance over its C channels;
// terms are averaged over locations.
VicReg SpatialVicRegTerms(const torch::Tensor& maps);

}  // namespace darkmatter::worldmodel
