// TD-MPC (Hansen et al. 2022; TD-MPC2, 2024): the reward-trained latent world-model agent.
// An encoder, latent dynamics, reward and termination heads and twin Q heads are trained
// together on short replayed sequences (latent consistency with the encoded next
// observations, reward regression, termination classification and TD targets from Polyak-averaged Q heads, each step weighted by rho^t); a
// tanh-Gaussian policy prior maximises Q; actions come from MPPI in the latent
// (agents/tdmpc_planner.h), on every env step, during training and after it. One env (a
// pool of one: next-step autoreset, time-limit truncations bootstrap from the final
// observation). Before tdmpc.seed_steps env steps actions are uniform; at that step the model
// takes seed_steps updates at once, then tdmpc.utd per step. A checkpoint holds networks,
// optimiser, replay, the env's state and the planner's warm start, so a resumed run continues
// bit-identically. No torch types in this header.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "agents/agent.h"
#include "sim/env.h"
#include "sim/settings.h"

namespace darkmatter::agents {

struct TdmpcSettings {
  int total_env_steps = 100000;  // env steps to train for (rounded up to whole chunks)
  int chunk_steps = 1000;        // env steps per Update (a metrics line)
  int buffer_size = 100000;      // replay capacity (transitions; oldest overwritten)
  int batch_size = 128;          // sequences per gradient update (TD-MPC2: 256)
  int seed_steps = 1000;         // env steps of uniform random actions before learning
  double utd = 1.0;              // gradient updates per env step after seed_steps
  int latent = 64;               // latent size (a multiple of 8: softmax groups)
  int hidden = 128;              // hidden units of every MLP (TD-MPC2: 512)
  double lr = 3e-4;              // Adam learning rate (model and policy)
  double tau = 0.01;             // Polyak step of the target Q heads
  double rho = 0.5;              // weight decay over the horizon of each step's loss
  double consistency_coef = 20.0;  // weight of the latent consistency loss (TD-MPC2's)
  double reward_coef = 0.1;        // weight of the reward loss (TD-MPC2's)
  double value_coef = 0.1;         // weight of the TD loss (TD-MPC2's)
  double termination_coef = 1.0; // weight of the termination loss (binary cross-entropy)
  double entropy_coef = 1e-4;    // weight of the policy's log density in its loss
  double grad_clip = 20.0;       // gradient norm clip (model and policy)
  // Planning (TdmpcPlanSettings): horizon, samples, pi_samples, elites, iterations,
  // temperature, min_std, max_std and gamma (also the TD discount). Sized for a CPU:
  // TD-MPC2 plans with 512 samples (24 from the policy), 64 elites and 6 iterations.
  int horizon = 3;
  int samples = 128;
  int pi_samples = 16;
  int elites = 16;
  int iterations = 4;
  double temperature = 0.5;
  double min_std = 0.05;
  double max_std = 2.0;
  double gamma = 0.99;
  std::string act = "plan";      // "plan": MPPI (TD-MPC); "policy": the policy prior alone
                                 // (the ablation; may change on resume)
  uint64_t seed = 0;             // init, sampling, planning and env seeds
  int checkpoint_every = 10;     // chunks between checkpoints (and one at the end)
  int eval_episodes = 10;        // planning evaluation episodes at the end (test seeds)
  int eval_every = 0;            // chunks between evaluations logged as eval_* (0 = none)
};

// Binds the settings under "tdmpc.".
void BindTdmpcSettings(TdmpcSettings* settings, sim::SettingsBinder* binder);
// Throws BadInput naming the key and value of the first out-of-range setting.
void ValidateTdmpcSettings(const TdmpcSettings& settings);
// Keys whose change a resumed run tolerates (budget, checkpoint and evaluation cadence, and
// tdmpc.act: how the same networks act).
bool TdmpcResumeMayChange(const std::string& key);

class TdmpcTrainer {
 public:
  // A trainer on one env of `task` (state observations) on `device`.
  TdmpcTrainer(const std::string& task, const sim::EnvSettings& env_settings,
               const TdmpcSettings& settings, const std::string& device = "cpu");
  ~TdmpcTrainer();
  TdmpcTrainer(const TdmpcTrainer&) = delete;
  TdmpcTrainer& operator=(const TdmpcTrainer&) = delete;

  // Collects one chunk, learning as it goes; returns metrics: env_steps, episodes,
  // episode_return, episode_length, episode_success (over episodes ended in the chunk; NaN
  // when none), updates, consistency_loss, reward_loss, value_loss, policy_loss, q_mean,
  // termination_loss, q_scale (means over the chunk's updates; NaN when none), buffer_size,
  // steps_per_s, updates_per_s, plan_ms (per planned action). Throws std::runtime_error,
  // before any optimiser step, when a loss is not finite.
  std::map<std::string, double> Update();
  int64_t EnvSteps() const;
  // Env steps of one Update (chunk_steps).
  int64_t StepsPerUpdate() const;
  // Writes everything with step = EnvSteps(), atomically; metadata names the model, sizes
  // and planner settings.
  void Save(const std::string& path) const;
  // Loads a checkpoint strictly and continues exactly where it was saved.
  int64_t Load(const std::string& path);
  // An agent that plans with the current networks (no exploration noise), for evaluation
  // during training; valid while the trainer lives.
  std::unique_ptr<Agent> PlanningAgent();
  // 16 hex digits over every network tensor.
  std::string ParameterHash() const;
  std::string Device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Acts with a trained checkpoint (CPU) as its metadata's tdmpc.act says: TD-MPC planning
// (the seed of Reset fixes the planner's draws; the warm start is dropped at each Reset) or
// the policy prior's mean action. Batch of one.
class TdmpcPolicyAgent final : public Agent {
 public:
  // Loads `checkpoint` (a tdmpc checkpoint.pt; sizes and planner settings from its metadata)
  // for these specs; throws BadInput when it is not one or does not fit the specs.
  TdmpcPolicyAgent(const sim::BoxSpec& observation_spec, const sim::BoxSpec& action_spec,
                   const std::string& checkpoint);
  ~TdmpcPolicyAgent() override;
  void Reset(uint64_t seed, int row) override;
  void Act(std::span<const double> observations, std::span<double> actions) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace darkmatter::agents
