#include "worldmodel/supervised.h"

#include <torch/torch.h>

#include "sim/error.h"

namespace darkmatter::worldmodel {

SupervisedImpl::SupervisedImpl(const ModelOptions& options) : LatentModelImpl(options) {
  if (options_.label_dim < 1) {
    throw sim::BadInput("model supervised needs label fields (model.labels=positions,...)");
  }
  head_ = register_module("head", torch::nn::Linear(options_.latent_dim, options_.label_dim));
  label_mean_ = register_buffer("label_mean", torch::zeros({options_.label_dim}));
  label_std_ = register_buffer("label_std", torch::ones({options_.label_dim}));
}

void SupervisedImpl::SetLabelNormalisation(const torch::Tensor& mean, const torch::Tensor& scale) {
  torch::NoGradGuard no_grad;
  label_mean_.copy_(mean);
  label_std_.copy_(scale);
}

ModelLoss SupervisedImpl::Loss(const ClipBatch& batch) {
  if (!batch.labels.defined()) throw sim::BadInput("model supervised: the batch has no labels");
  auto predicted = head_->forward(Encode(batch.observations));
  auto mse = torch::mse_loss(predicted, batch.labels);
  ModelLoss loss{mse, {}};
  loss.metrics["label_mse"] = mse.item<double>();
  loss.metrics["total"] = mse.item<double>();
  return loss;
}

torch::Tensor SupervisedImpl::PredictLabels(const torch::Tensor& observations) {
  return head_->forward(Encode(observations)) * label_std_ + label_mean_;
}

}  // namespace darkmatter::worldmodel
