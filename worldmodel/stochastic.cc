#include "worldmodel/stochastic.h"

#include <torch/torch.h>

namespace darkmatter::worldmodel {

torch::Tensor StochasticImpl::SampleRollouts(const torch::Tensor& context,
                                             const torch::Tensor& actions, int64_t samples) {
  const int64_t b = context.size(0);
  auto noise = torch::randn({samples * b, options_.noise_dim}, context.options());
  auto rolled = Rollout(context.repeat({samples, 1, 1}), actions.repeat({samples, 1, 1}), noise);
  return rolled.view({samples, b, rolled.size(1), rolled.size(2)});
}

torch::Tensor StochasticImpl::PredictionLoss(const torch::Tensor& context,
                                             const torch::Tensor& actions,
                                             const torch::Tensor& target) {
  auto rolled = SampleRollouts(context, actions, options_.samples);  // (K x B x M x D)
  auto errors = torch::smooth_l1_loss(rolled, target.unsqueeze(0).expand_as(rolled),
                                      torch::Reduction::None)
                    .mean({2, 3});  // (K x B)
  return 0.95 * std::get<0>(errors.min(0)).mean() + 0.05 * errors.mean();
}

torch::Tensor StochasticImpl::StepSurprise(const torch::Tensor& context,
                                           const torch::Tensor& action,
                                           const torch::Tensor& target,
                                           const torch::Tensor& observation) {
  const int64_t k = options_.samples, n = context.size(0);
  auto noise = torch::randn({k * n, options_.noise_dim}, context.options());
  auto predicted = Predict(context.repeat({k, 1, 1}), action.repeat({k, 1}), noise);
  auto errors = (predicted.view({k, n, -1}) - target.unsqueeze(0)).abs().mean(2);  // (K x N)
  return std::get<0>(errors.min(0));
}

}  // namespace darkmatter::worldmodel
