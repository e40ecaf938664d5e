// The pixel-prediction baseline: the same encoder and latent predictor, plus a decoder that
// turns latents back into observations (frames, or normalised states). Trained to
// reconstruct every frame and to predict the future frames themselves from rolled-out latents.
#pragma once

#include "worldmodel/latent_model.h"

namespace darkmatter::worldmodel {

class GenerativeImpl : public LatentModelImpl {
 public:
  explicit GenerativeImpl(const ModelOptions& options);

  // Metrics: prediction (future-frame error), reconstruction, copy_baseline (error of
  // repeating the last context frame), total.
  ModelLoss Loss(const ClipBatch& batch) override;
  // Latents (... x D) -> frames (... x 3 x S x S) in [0, 1], or states (... x obs_dim).
  torch::Tensor Decode(const torch::Tensor& latents) override;

 protected:
  // Mean L1 between the decoded prediction and the observed frame (pixels: per channel value).
  torch::Tensor StepSurprise(const torch::Tensor& context, const torch::Tensor& action,
                             const torch::Tensor& target,
                             const torch::Tensor& observation) override;

 private:
  // Decoder output in model space: frames, or normalised states.
  torch::Tensor DecodeRaw(const torch::Tensor& latents);
  // Observations in model space (normalised states; frames unchanged).
  torch::Tensor ModelSpace(const torch::Tensor& observations) const;

  torch::nn::Sequential decoder_{nullptr};
};

}  // namespace darkmatter::worldmodel
