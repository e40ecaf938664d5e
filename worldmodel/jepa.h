// JEPA: latent prediction against an exponential-moving-average target encoder (no gradient),
// VICReg variance/covariance regularisation against collapse (or SIGReg, model.reg=sigreg), optional masked context frames
// ("fill in the blank"), multi-step action-conditioned rollouts. No labels, no reward.
#pragma once

#include "worldmodel/latent_model.h"

namespace darkmatter::worldmodel {

class JepaImpl : public LatentModelImpl {
 public:
  explicit JepaImpl(const ModelOptions& options);

  torch::Tensor EncodeTarget(const torch::Tensor& observations) override;
  // Metrics: prediction, copy_baseline (error of holding the last context embedding),
  // variance, covariance, embedding_std, embedding_std_min, total; with model.reg=sigreg also
  // sigreg (the variance and covariance terms are then reported, not trained on).
  ModelLoss Loss(const ClipBatch& batch) override;
  // target <- ema * target + (1 - ema) * online, without gradient.
  void AfterOptimizerStep() override;

  torch::nn::Sequential target_encoder() const { return target_encoder_; }

 protected:
  // Prediction error of rolled-out latents (B x M x D) against targets (B x M x D).
  virtual torch::Tensor PredictionLoss(const torch::Tensor& context, const torch::Tensor& actions,
                                       const torch::Tensor& target);

  torch::nn::Sequential target_encoder_{nullptr};
  // sigreg: (seed, optimiser steps taken) as a buffer, so the directions of step k depend only
  // on the initial seed and k, and --resume (which restores buffers) stays exact.
  torch::Tensor sigreg_state_;
};

}  // namespace darkmatter::worldmodel
