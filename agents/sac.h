// Soft Actor-Critic (Haarnoja et al. 2018, as CleanRL's sac_continuous_action and
// Stable-Baselines3): twin Q critics with Polyak-averaged targets, a tanh-squashed Gaussian
// actor, automatic entropy temperature toward a target entropy of -scale x |A|, a replay
// buffer in preallocated tensors and an update-to-data ratio, on envs stepped through
// sim::EnvPool (next-step autoreset; time-limit truncations bootstrap from the final
// observation, terminations do not). Before sac.learning_starts env steps actions are uniform.
// One Update() collects sac.chunk_steps env steps (with their gradient updates) and returns
// the chunk's metrics. A checkpoint holds networks, optimiser, replay buffer and every env's
// state, so a resumed run continues bit-identically. No torch types in this header.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "sim/env.h"
#include "sim/settings.h"

namespace darkmatter::agents {

struct SacSettings {
  int num_envs = 4;                 // parallel envs in the pool
  int threads = 1;                  // pool worker threads (results identical for any value)
  int total_env_steps = 100000;     // env steps to train for (rounded up to whole chunks)
  int chunk_steps = 1000;           // env steps per Update (a metrics line; whole vector steps)
  int buffer_size = 100000;         // replay capacity (transitions; oldest overwritten)
  int batch_size = 256;             // transitions per gradient update
  int learning_starts = 5000;       // env steps of uniform random actions before learning
  double utd = 1.0;                 // gradient updates per env step (update-to-data ratio)
  double gamma = 0.99;              // discount per control step
  double tau = 0.005;               // Polyak step of the target critics
  double lr = 3e-4;                 // Adam learning rate (actor, critics and temperature)
  int hidden = 256;                 // hidden units of actor and critic MLPs (2 ReLU layers)
  bool autotune = true;             // learn the entropy temperature
  double alpha = 0.2;               // temperature when not autotuned, else its initial value
  double target_entropy_scale = 1.0;  // target entropy = -this x action size
  uint64_t seed = 0;                // init, sampling and env seeds
  int checkpoint_every = 10;        // chunks between checkpoints (and one at the end)
  int eval_episodes = 10;           // deterministic evaluation episodes at the end (test seeds)
  int eval_every = 0;               // chunks between deterministic evaluations of
                                    // eval_episodes test seeds logged as eval_* (0 = none)
};

// Binds the settings under "sac.".
void BindSacSettings(SacSettings* settings, sim::SettingsBinder* binder);
// Throws BadInput naming the key and value of the first out-of-range setting.
void ValidateSacSettings(const SacSettings& settings);
// Keys whose change a resumed run tolerates (budget, checkpoint and evaluation cadence,
// thread count): every other sac.* and env.* key must match the run being resumed.
bool SacResumeMayChange(const std::string& key);

class SacTrainer {
 public:
  // A trainer on settings.num_envs envs of `task` (state observations) on `device`.
  SacTrainer(const std::string& task, const sim::EnvSettings& env_settings,
             const SacSettings& settings, const std::string& device = "cpu");
  ~SacTrainer();
  SacTrainer(const SacTrainer&) = delete;
  SacTrainer& operator=(const SacTrainer&) = delete;

  // Collects one chunk, learning as it goes; returns metrics: env_steps, episodes,
  // episode_return, episode_length, episode_success (over episodes ended in the chunk; NaN
  // when none), updates (gradient updates so far), critic_loss, actor_loss, alpha,
  // alpha_loss, entropy (-mean log prob), q_mean (means over the chunk's updates; NaN when
  // none), buffer_size, steps_per_s, updates_per_s. Throws std::runtime_error, before any
  // optimiser step, when a loss is not finite.
  std::map<std::string, double> Update();
  // Env steps collected so far (including those before a resumed checkpoint).
  int64_t EnvSteps() const;
  // Env steps of one Update (chunk_steps rounded up to whole vector steps).
  int64_t StepsPerUpdate() const;
  // Writes networks, optimiser, replay buffer and collector state with step = EnvSteps(),
  // atomically; metadata names the model and sizes.
  void Save(const std::string& path) const;
  // Loads a checkpoint strictly (BadInput naming mismatched tensors or a non-sac file) and
  // continues exactly where it was saved.
  int64_t Load(const std::string& path);
  // Deterministic actions tanh(mean) in env units (B x act_dim) for raw observations
  // (B x obs_dim), clipped to the bounds; touches no training state.
  void Act(std::span<const double> observations, std::span<double> actions);
  // 16 hex digits over every network tensor (actor, critics, targets, temperature).
  std::string ParameterHash() const;
  // The device in use, e.g. "cpu".
  std::string Device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace darkmatter::agents
