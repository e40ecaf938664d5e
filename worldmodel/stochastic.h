// A stochastic JEPA that represents several plausible futures: the predictor takes a noise
// vector (fixed over a rollout), and training scores K samples per clip best-of-K (relaxed
// winner-takes-all: 0.95 x the best sample's error + 0.05 x the mean), so that different
// noise vectors specialise on different outcomes instead of averaging them (a deterministic
// predictor regresses to the mean of a branching outcome, e.g. left/right on a peg).
// Chosen over a mixture head (needs K fixed outcome slots and a likelihood in latent space)
// and an ensemble (K times the parameters and K trainings) because it keeps one network and
// the same latent loss as `jepa`.
#pragma once

#include "worldmodel/jepa.h"

namespace darkmatter::worldmodel {

class StochasticImpl : public JepaImpl {
 public:
  explicit StochasticImpl(const ModelOptions& options) : JepaImpl(options) {}

  // K rollouts (K x B x M x D) of the same context under K noise draws.
  torch::Tensor SampleRollouts(const torch::Tensor& context, const torch::Tensor& actions,
                               int64_t samples);

 protected:
  torch::Tensor PredictionLoss(const torch::Tensor& context, const torch::Tensor& actions,
                               const torch::Tensor& target) override;
  // The error of the best of K samples: a possible branch is not surprising.
  torch::Tensor StepSurprise(const torch::Tensor& context, const torch::Tensor& action,
                             const torch::Tensor& target,
                             const torch::Tensor& observation) override;
};

}  // namespace darkmatter::worldmodel
