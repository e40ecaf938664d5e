// JEPA world model on state observations: an MLP encoder, an EMA target encoder (no
// gradient), and an action-conditioned predictor that rolls out several steps in latent
// space. Loss: latent prediction error against the target's embeddings of the future
// observations plus VICReg-style variance/covariance regularisation against collapse.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "worldmodel/clips.h"

namespace darkmatter::worldmodel {

struct JepaOptions {
  int64_t obs_dim = 4;              // observation size
  int64_t act_dim = 1;              // action size (0 when the scene has no actions)
  int64_t latent_dim = 32;          // embedding size D
  int64_t hidden = 128;             // hidden units of the encoder and predictor MLPs
  int64_t context = 2;              // context frames C fed to the predictor
  int64_t horizon = 4;              // future steps M rolled out in latent space
  double ema = 0.99;                // target encoder decay per step, in [0, 1)
  double variance_weight = 1.0;     // weight of the variance (hinge on std < 1) term
  double covariance_weight = 0.04;  // weight of the off-diagonal covariance term
};

// Named scalar metrics of one loss evaluation, plus the differentiable total.
struct JepaLoss {
  torch::Tensor total;  // scalar, differentiable
  // prediction, copy_baseline (error of holding the last context embedding), variance,
  // covariance, embedding_std (mean per-dimension std), embedding_std_min, total
  std::map<std::string, double> metrics;
};

class JepaImpl : public torch::nn::Module {
 public:
  explicit JepaImpl(const JepaOptions& options);

  // Sets the observation normalisation (per-dimension mean and std, both (obs_dim)).
  void SetNormalisation(const torch::Tensor& mean, const torch::Tensor& scale);
  // Online embeddings of observations (... x obs_dim) -> (... x latent_dim).
  torch::Tensor Encode(const torch::Tensor& observations);
  // Target (EMA) embeddings, computed without gradient.
  torch::Tensor EncodeTarget(const torch::Tensor& observations);
  // One latent step: context latents (B x C x D) and action (B x act_dim) -> z' (B x D).
  torch::Tensor Predict(const torch::Tensor& context_latents, const torch::Tensor& action);
  // Rolls out actions (B x M x act_dim) from context latents (B x C x D) -> (B x M x D).
  torch::Tensor Rollout(torch::Tensor context_latents, const torch::Tensor& actions);
  // Loss of a batch of clips (see ClipBatch).
  JepaLoss Loss(const ClipBatch& batch);
  // target <- ema * target + (1 - ema) * online, without gradient. Call after each step.
  void UpdateTarget();

  const JepaOptions& options() const { return options_; }
  torch::nn::Sequential encoder() const { return encoder_; }
  torch::nn::Sequential target_encoder() const { return target_encoder_; }
  torch::nn::Sequential predictor() const { return predictor_; }

 private:
  torch::Tensor Normalise(const torch::Tensor& observations) const;
  JepaOptions options_;
  torch::nn::Sequential encoder_{nullptr}, target_encoder_{nullptr}, predictor_{nullptr};
  torch::Tensor obs_mean_, obs_std_;  // (obs_dim) buffers
};
TORCH_MODULE(Jepa);

}  // namespace darkmatter::worldmodel
