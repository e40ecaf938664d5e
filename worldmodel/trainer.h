// Training a world model from an episode file: settings, the loop, metrics as JSON lines,
// and atomic, strict checkpoints of model and optimiser. No torch types in this header.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "sim/settings.h"

namespace darkmatter::worldmodel {

struct TrainSettings {
  int steps = 1000;                 // total optimiser steps (a resumed run continues up to this)
  int batch_size = 64;              // clips per step
  int max_clips = 0;                // use this many clips (a seeded choice; the label budget
                                    // of `supervised`); 0 = all
  double lr = 1e-3;                 // Adam learning rate
  uint64_t seed = 0;                // initialisation and shuffling seed
  int checkpoint_every = 500;       // steps between checkpoints (and one at the end)
  int log_every = 10;               // steps between metrics lines
  std::string input = "state";      // state (observations) | pixels (rendered frames)
  std::string labels = "positions,velocities";  // supervised: truth fields, comma-separated
  int latent_dim = 32;              // embedding size
  int hidden = 128;                 // MLP hidden units
  int channels = 16;                // CNN width (first conv layer's channels), pixels
  int context = 2;                  // context frames C
  int horizon = 4;                  // future steps M rolled out in latent space
  double ema = 0.99;                // target encoder decay per step
  double variance_weight = 1.0;     // VICReg variance term weight
  double covariance_weight = 0.04;  // VICReg covariance term weight
  std::string reg = "vicreg";       // jepa anti-collapse: vicreg | sigreg (LeJEPA)
  double sigreg_weight = 0.1;       // sigreg: weight lambda of the SIGReg term
  int sigreg_projections = 32;      // sigreg: random directions per step
  double mask_ratio = 0.0;          // jepa: probability that a context frame is masked
  int samples = 4;                  // stochastic: futures per clip, trained best-of-K
  int noise_dim = 8;                // stochastic: noise vector size
  std::string encoder = "spatial";  // pixels: spatial (feature map) | global (one vector)
  int map = 8;                      // spatial: feature-map side (frame size / map = 2^k)
  int map_channels = 16;            // spatial: channels per location (latent = map^2 x this)
  int skip = 1;                     // frames per model step (clips and surprise stride)
  double holdout = 0.1;             // fraction of episodes held out for the copy gate (the
                                    // last ones; none with fewer than 5 episodes)
};

// The label fields of `settings.labels` (empty unless the model is supervised).
std::vector<std::string> LabelFields(const std::string& model, const TrainSettings& settings);

// Binds the settings under "train." and "model.".
void BindTrainSettings(TrainSettings* settings, sim::SettingsBinder* binder);
// Throws BadInput naming the key of the first out-of-range value.
void ValidateTrainSettings(const TrainSettings& settings);

struct TrainRequest {
  std::string model = "jepa";   // one of TrainableModels()
  std::string data;             // episode file(s) (.h5), comma-separated
  std::string out;              // run directory
  std::string device = "auto";  // auto | cpu | cuda[:N]
  bool resume = false;          // continue from out/checkpoint.pt
  TrainSettings settings;
  std::map<std::string, std::string> settings_text;  // every key and value, for run.json
  std::function<void(int64_t step)> on_step;         // progress (may be empty)
};

struct TrainResult {
  int64_t start_step = 0;               // 0, or the checkpoint's step when resumed
  int64_t steps = 0;                    // final step
  std::map<std::string, double> first;  // metrics of the first step of this run
  std::map<std::string, double> last;   // metrics of the last step
  std::string parameter_hash;           // 16 hex digits over every model tensor
  std::string content_hash;             // of the data file(s), joined by '+'
  std::string checkpoint;               // path of the final checkpoint
  std::string device;                   // device used
  // Held-out copy gate (jepa, stochastic, generative; NaN when nothing was held out): the
  // final prediction error over the error of copying the last context frame on held-out
  // clips. Below 1 the model predicts motion.
  double heldout_ratio = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::string> warnings;    // plain-words warnings for the user (e.g. the gate)
};

// Validates everything (model name, data file, settings, device, resume checkpoint) before
// creating `out`; then trains, appending to out/metrics.jsonl, writing out/run.json and
// out/checkpoint.pt (atomically, every checkpoint_every steps and at the end).
// Bad input throws BadInput and leaves no files behind.
TrainResult Train(const TrainRequest& request);

}  // namespace darkmatter::worldmodel
