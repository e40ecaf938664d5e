// PPO (clipped objective, GAE, advantage normalisation) on many envs stepped through
// sim::EnvPool with next-step autoreset; time-limit truncations bootstrap from the value of
// the final observation. Observations are normalised by running statistics (in the policy's
// buffers); rewards are divided by a running std of the discounted return and clipped
// (statistics in the checkpoint's metadata); the learning rate anneals linearly to 0 over
// the budget (as CleanRL's and Stable-Baselines3's continuous-control PPO with VecNormalize).
// Reproducible for a fixed seed on CPU (any pool thread count). No torch types in this header.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "sim/env.h"
#include "sim/settings.h"

namespace darkmatter::agents {

struct PpoSettings {
  int num_envs = 8;                  // parallel envs in the pool
  int threads = 1;                   // pool worker threads (results identical for any value)
  int rollout_steps = 128;           // steps per env per update (batch = num_envs x this)
  int total_env_steps = 100000;      // env steps to train for (rounded up to whole updates)
  int epochs = 10;                   // passes over each batch
  int minibatches = 4;               // minibatches per epoch
  double gamma = 0.99;               // discount per control step
  double gae_lambda = 0.95;          // GAE lambda
  double clip = 0.2;                 // ratio clip epsilon
  double lr = 3e-4;                  // Adam learning rate (initial, when annealed)
  bool anneal_lr = false;            // learning rate falls linearly to 0 over total_env_steps
  bool normalize_reward = true;      // rewards / running std of the discounted return
  double reward_clip = 10.0;         // normalised rewards clipped to [-this, this]
  double entropy_coef = 0.0;         // entropy bonus weight
  double value_coef = 0.5;           // value loss weight
  double max_grad_norm = 0.5;        // global gradient norm clip
  int hidden = 64;                   // hidden units of policy and value MLPs
  double init_log_std = -1.5;        // initial policy log std (normalised action units)
  uint64_t seed = 0;                 // init, sampling, shuffling and env seeds
  int checkpoint_every = 10;         // updates between checkpoints (and one at the end)
  int eval_episodes = 10;            // deterministic evaluation episodes at the end (test seeds)
};

// Binds the settings under "ppo.".
void BindPpoSettings(PpoSettings* settings, sim::SettingsBinder* binder);
// Throws BadInput naming the key and value of the first out-of-range setting.
void ValidatePpoSettings(const PpoSettings& settings);

class PpoTrainer {
 public:
  // A trainer on `num_envs` envs of `task` (state observations) on `device` (auto|cpu|cuda).
  PpoTrainer(const std::string& task, const sim::EnvSettings& env_settings,
             const PpoSettings& settings, const std::string& device = "cpu");
  ~PpoTrainer();
  PpoTrainer(const PpoTrainer&) = delete;
  PpoTrainer& operator=(const PpoTrainer&) = delete;

  // Collects one batch and optimises on it; returns metrics: env_steps, episodes,
  // episode_return (mean undiscounted raw return over episodes ended in the batch, NaN when
  // none), episode_length, episode_success (fraction of those with info "success"),
  // policy_loss, value_loss, entropy, approx_kl, clip_fraction, explained_variance,
  // log_std, lr, reward_std (the reward normaliser's divisor), steps_per_s.
  std::map<std::string, double> Update();
  // Env steps collected so far (including those before a resumed checkpoint).
  int64_t EnvSteps() const;
  // Env steps of one update (num_envs x rollout_steps).
  int64_t StepsPerUpdate() const;
  // Writes policy, observation normaliser and optimiser with step = EnvSteps(), atomically;
  // the reward normaliser's statistics travel in the metadata (exact decimal text).
  void Save(const std::string& path) const;
  // Loads a checkpoint strictly (BadInput naming mismatched tensors); continues from its step
  // with the envs reset from a seed derived from it.
  int64_t Load(const std::string& path);
  // 16 hex digits over every tensor of the policy.
  std::string ParameterHash() const;
  // The device in use, e.g. "cpu".
  std::string Device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace darkmatter::agents
