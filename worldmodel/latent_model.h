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

// SIGReg (LeJEPA, Balestriero & LeCun 2025): samples (G x N x C: G independent groups, e.g.
// map locations, of N samples in C dimensions) are projected onto the unit columns of
// `directions` (C x M); each 1-D projection gets the Epps-Pulley statistic against N(0, 1),
//   EP = N * integral over t of |ecf(t) - exp(-t^2/2)|^2 * exp(-t^2/2) dt,
// with ecf(t) = mean_n exp(i t x_n), by the trapezoid rule on 17 points of t in [0, 5]
// (doubled: the integrand is even in t). Returns the mean over groups and directions:
// ~1 for standard normal samples whatever N, growing with N for collapsed ones.
torch::Tensor SigRegTerm(const torch::Tensor& samples, const torch::Tensor& directions);
// M random unit directions in R^C (C x M), drawn from a CPU generator seeded with `seed`.
torch::Tensor SigRegDirections(int64_t c, int64_t m, uint64_t seed, const torch::TensorOptions& to);

}  // namespace darkmatter::worldmodel
