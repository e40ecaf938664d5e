// The WorldModel abstraction shared by every model `train --model` knows: an encoder (MLP
// for state, a small CNN for 64x64 pixels), an action-conditioned latent predictor rolled out
// over several steps, a loss with named metrics, per-frame surprise, and strict save/load.
//
// Models: `jepa` (latent prediction against an EMA target, VICReg anti-collapse, optional
// masked context frames), `generative` (decodes the predicted latent back into the next
// observation: the pixel-prediction baseline), `supervised` (the same encoder trained from
// privileged labels only), `stochastic` (jepa whose predictor takes a noise vector; trained
// best-of-K so its K samples spread over the plausible futures).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "worldmodel/clips.h"

namespace darkmatter::worldmodel {

struct ModelOptions {
  std::string model = "jepa";      // jepa | generative | supervised | stochastic
  std::string input = "state";     // state | pixels
  int64_t obs_dim = 0;             // state size (input = state)
  int64_t frame_size = 64;         // frame height = width in pixels (input = pixels)
  int64_t act_dim = 0;             // action size (0: the scene has no actions)
  int64_t label_dim = 0;           // privileged label size (supervised; 0 otherwise)
  int64_t latent_dim = 32;         // embedding size D
  int64_t hidden = 128;            // hidden units of MLPs
  int64_t channels = 16;           // CNN width: channels of the first conv layer (pixels)
  int64_t context = 2;             // context frames C
  int64_t horizon = 4;             // future steps M rolled out in latent space
  double ema = 0.99;               // jepa target encoder decay per step, in [0, 1)
  double variance_weight = 1.0;    // VICReg variance (hinge on std < 1) weight
  double covariance_weight = 0.04; // VICReg off-diagonal covariance weight
  double mask_ratio = 0.0;         // jepa: probability that a context frame is masked
  int64_t samples = 4;             // stochastic: K futures per clip, trained best-of-K
  int64_t noise_dim = 8;           // stochastic: size of the noise vector
  std::string encoder = "global";  // pixels: global (one pooled vector) | spatial (feature map)
  int64_t map = 8;                 // spatial: feature-map side in locations (frame_size / map
                                   // a power of two)
  int64_t map_channels = 16;       // spatial: channels per location; latent_dim must equal
                                   // map * map * map_channels (the flattened map)
  int64_t skip = 1;                // frames per model step (clips and surprise stride)
  std::string reg = "vicreg";      // jepa anti-collapse: vicreg | sigreg (LeJEPA)
  double sigreg_weight = 0.1;      // sigreg: weight lambda of the SIGReg term
  int64_t sigreg_projections = 32; // sigreg: random unit directions M, resampled each step
};

// True when `options` describe a spatial pixel model (latents are flattened feature maps).
bool Spatial(const ModelOptions& options);

// The models `train --model` accepts (world models; agents add their own).
const std::vector<std::string>& WorldModelNames();

// A differentiable total plus named scalar metrics ("prediction", "total", ...).
struct ModelLoss {
  torch::Tensor total;
  std::map<std::string, double> metrics;
};

class WorldModelImpl : public torch::nn::Module {
 public:
  explicit WorldModelImpl(const ModelOptions& options) : options_(options) {}
  ~WorldModelImpl() override = default;

  const ModelOptions& options() const { return options_; }

  // Sets state normalisation (per-dimension mean and std, each (obs_dim)); no-op for pixels.
  virtual void SetNormalisation(const torch::Tensor& mean, const torch::Tensor& scale) = 0;
  // Online embeddings: observations (B x L x obs_dim) or pixels (B x L x 3 x H x W, float in
  // [0, 1]) -> (B x L x D).
  virtual torch::Tensor Encode(const torch::Tensor& observations) = 0;
  // The embeddings surprise is measured against (jepa: the EMA target; others: online),
  // computed without gradient. Same shapes as Encode.
  virtual torch::Tensor EncodeTarget(const torch::Tensor& observations) = 0;
  // One latent step: context latents (B x C x D), action (B x act_dim), noise (B x noise_dim,
  // stochastic only; undefined = zeros) -> z' (B x D).
  virtual torch::Tensor Predict(const torch::Tensor& context_latents, const torch::Tensor& action,
                                const torch::Tensor& noise = {}) = 0;
  // Rolls out actions (B x M x act_dim) from context latents (B x C x D) -> (B x M x D).
  torch::Tensor Rollout(torch::Tensor context_latents, const torch::Tensor& actions,
                        const torch::Tensor& noise = {});
  // Loss of a batch of clips (see ClipBatch).
  virtual ModelLoss Loss(const ClipBatch& batch) = 0;
  // Per-frame surprise of whole clips: observations (B x L x ...), actions (B x L-1 x A).
  // Frame t >= C*skip gets the L1 error (mean over dimensions) of the one-step prediction
  // from frames t-C*skip, ..., t-skip against the target of frame t (generative: against the
  // frame itself); earlier frames get 0. Returns (B x L), no gradient.
  torch::Tensor Surprise(const torch::Tensor& observations, const torch::Tensor& actions);
  // Decodes latents (... x D) into observations (generative only; others throw BadInput).
  virtual torch::Tensor Decode(const torch::Tensor& latents);
  // Called after every optimiser step (jepa: the EMA target update).
  virtual void AfterOptimizerStep() {}

 protected:
  // Surprise of N one-step predictions: context latents (N x C x D), actions (N x A), target
  // embeddings (N x D) and the observations themselves (N x ...) -> (N). Default: mean L1
  // between Predict() and the target embedding.
  virtual torch::Tensor StepSurprise(const torch::Tensor& context, const torch::Tensor& action,
                                     const torch::Tensor& target,
                                     const torch::Tensor& observation);

  ModelOptions options_;
};

// The options as JSON (stored in checkpoints), and back; unknown or missing keys throw BadInput.
std::string OptionsToJson(const ModelOptions& options);
ModelOptions OptionsFromJson(const std::string& json);

// Builds an untrained model (seeded by the caller's torch::manual_seed).
std::shared_ptr<WorldModelImpl> MakeWorldModel(const ModelOptions& options);

// A trained model read from a checkpoint, with the data it was trained on.
struct LoadedModel {
  std::shared_ptr<WorldModelImpl> model;
  int64_t step = 0;                  // optimiser steps it was trained for
  std::string content_hash;          // of its training data
  std::vector<std::string> labels;   // supervised: the truth fields of its labels
};

// Loads `path` (a run directory or its checkpoint.pt) strictly onto `device`; throws
// BadInput naming the file and any missing, unexpected or mis-shaped tensor.
LoadedModel LoadWorldModel(const std::string& path, torch::Device device);

}  // namespace darkmatter::worldmodel
