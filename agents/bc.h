// Behaviour cloning: an MLP policy (the mean of GaussianPolicy) regressed onto expert actions
// (MSE in normalised action units) from demonstration episodes, from scratch. The same head
// can sit on a frozen feature extractor (e.g. a JEPA encoder): pass a FeatureFn and its
// output size. No torch types in this header beyond a forward declaration.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/env.h"
#include "sim/episode.h"
#include "sim/settings.h"

namespace at {
class Tensor;
}  // namespace at

namespace darkmatter::agents {

// Frozen features of raw observations: (B x obs_dim) float32 -> (B x feature_dim), called
// without gradient. Empty = the observations themselves.
using FeatureFn = std::function<at::Tensor(const at::Tensor& observations)>;

struct BcSettings {
  int demos = 50;              // expert episodes to clone
  uint64_t demo_seed = 0;      // demo k is reset with demo_seed + k (train split seeds)
  std::string demo_file;       // episode file to read demos from instead ("" = record them)
  double demo_noise = 0.0;     // recording: executed action = expert + N(0, sigma^2), sigma
                               // as a fraction of each action's half-range; labels stay clean
  int epochs = 200;            // passes over the demonstration pairs
  int batch = 256;             // (observation, action) pairs per optimiser step
  double lr = 1e-3;            // Adam learning rate
  double weight_decay = 0.0;   // Adam L2 weight decay
  int hidden = 64;             // hidden units of the policy MLP
  int history = 1;             // observations the policy sees: the current one and the
                               // history-1 before it, newest first (the first repeated at
                               // an episode's start)
  int relative_actions = -1;   // actions 0..N-1 are learnt as offsets from observations
                               // 0..N-1 (position-servo targets minus joint positions);
                               // -1 = auto (the 5 arm joints on manipulation tasks, else 0)
  uint64_t seed = 0;           // initialisation and shuffling seed
  int checkpoint_every = 50;   // epochs between checkpoints (and one at the end)
  int eval_episodes = 20;      // evaluation episodes at the end (test seeds; 0 = none)
};

// Binds the settings under "bc.".
void BindBcSettings(BcSettings* settings, sim::SettingsBinder* binder);
// Throws BadInput naming the key and value of the first out-of-range setting.
void ValidateBcSettings(const BcSettings& settings);

// Records `count` episodes of `task` with its scripted expert, episode k reset with
// first_seed + k. With noise > 0 (DART-style), the env executes the expert's action plus
// Gaussian noise of std noise x (high - low) / 2 per dimension (clipped to the bounds; drawn
// from a stream of the episode's seed), and the episode's `actions` are the expert's clean
// labels for the visited states, not the executed actions. Throws BadInput when the task
// has no expert.
std::vector<sim::Episode> RecordExpertDemos(const std::string& task,
                                            const sim::EnvSettings& env_settings, int count,
                                            uint64_t first_seed, double noise = 0.0);

// Row indices (P*history) of each pair's observation history, newest first: pair t of an
// episode starting at pair s sees pairs t, t-1, ..., t-history+1, clamped at s.
std::vector<int64_t> HistoryRows(const std::vector<int64_t>& episode_lengths, int history);

// The resolved bc.relative_actions for `env`: the setting when >= 0, else the number of
// position-servo joints whose positions lead the observation (manipulation arms: 5), else 0.
int RelativeActionCount(int setting, const sim::Env& env);

class BcTrainer {
 public:
  // A trainer on every (observation, action) pair of `demos` (all of one task, actions as
  // labels), with `action_spec` for the bounds, on `device` (auto|cpu|cuda). Inputs are
  // normalised by the pairs' mean and std (std at least 0.01 per dimension); targets (the
  // actions, or their offsets from the observation, see relative_actions) by their mean and
  // std, and the checkpoint carries both scalings and the offsets (PolicyAgent applies them).
  // With `features`, the head sees features(observations) of size `feature_dim`.
  BcTrainer(const std::vector<sim::Episode>& demos, const sim::BoxSpec& action_spec,
            const BcSettings& settings, const std::string& device = "cpu",
            FeatureFn features = {}, int64_t feature_dim = 0);
  ~BcTrainer();
  BcTrainer(const BcTrainer&) = delete;
  BcTrainer& operator=(const BcTrainer&) = delete;

  // One pass over the pairs in an order drawn from (seed, epoch); returns loss (mean
  // normalised MSE of the epoch's steps) and action_mse (env units, all pairs, after it).
  std::map<std::string, double> TrainEpoch();
  // Mean squared error between policy and expert actions over all pairs (env units).
  double ActionMse();
  // Epochs trained so far (including those before a resumed checkpoint).
  int64_t Epochs() const;
  // Number of (observation, action) pairs.
  int64_t NumPairs() const;
  // Actions learnt as offsets from the observation (the resolved relative_actions).
  int RelativeActions() const;
  // Writes the policy and optimiser with step = Epochs(), atomically.
  void Save(const std::string& path) const;
  // Loads a checkpoint strictly (BadInput naming mismatched tensors); returns its step.
  int64_t Load(const std::string& path);
  // 16 hex digits over every tensor of the policy.
  std::string ParameterHash() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace darkmatter::agents
