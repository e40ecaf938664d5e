// The supervised baseline: the same encoder trained from scratch on privileged labels
// (positions, velocities, hidden properties, contact outcomes: truth fields of the episode
// files), with a linear head; `train.max_clips` sets the label budget.
#pragma once

#include "worldmodel/latent_model.h"

namespace darkmatter::worldmodel {

class SupervisedImpl : public LatentModelImpl {
 public:
  explicit SupervisedImpl(const ModelOptions& options);

  // Metrics: label_mse (on normalised labels), total.
  ModelLoss Loss(const ClipBatch& batch) override;
  // Sets the raw-label statistics used to normalise labels (each (label_dim)).
  void SetLabelNormalisation(const torch::Tensor& mean, const torch::Tensor& scale);
  // Labels in their own units predicted from observations (B x L x ...) -> (B x L x label_dim).
  torch::Tensor PredictLabels(const torch::Tensor& observations);

 private:
  torch::nn::Linear head_{nullptr};
  torch::Tensor label_mean_, label_std_;  // (label_dim) buffers
};

}  // namespace darkmatter::worldmodel
