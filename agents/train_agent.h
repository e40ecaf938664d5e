// Training agents from the CLI: `train --model bc|ppo|sac|tdmpc --task NAME`, in the style of
// worldmodel::Train: validation first (nothing is created on bad input), a run directory with
// run.json, metrics.jsonl and checkpoint.pt (atomic, every N updates/epochs and at the end),
// --resume from the checkpoint's step with a strict load. No torch types in this header.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agents/agent.h"
#include "agents/bc.h"
#include "agents/ppo.h"
#include "agents/sac.h"
#include "agents/tdmpc.h"
#include "sim/env.h"
#include "sim/settings.h"
#include "sim/splits.h"

namespace darkmatter::agents {

// First seed of the held-out evaluation episodes: the rollout command's "test" split, disjoint
// from the demonstration (train split) and training env seeds.
constexpr uint64_t kTestSeedBase = sim::SplitSeedBase(sim::Split::kTest);

// The models TrainAgent accepts: bc, ppo, sac, tdmpc.
const std::vector<std::string>& TrainableAgents();

struct AgentTrainRequest {
  std::string model;            // bc | ppo | sac | tdmpc
  std::string task;             // registered task name
  std::string out;              // run directory
  std::string device = "cpu";   // auto | cpu | cuda[:N]
  bool resume = false;          // continue from out/checkpoint.pt
  sim::EnvSettings env;         // env.* settings (state observations)
  BcSettings bc;                // bc.* settings
  PpoSettings ppo;              // ppo.* settings
  SacSettings sac;              // sac.* settings
  TdmpcSettings tdmpc;          // tdmpc.* settings
  std::map<std::string, std::string> settings_text;  // every key and value, for run.json
  std::function<void(int64_t done, int64_t total)> on_progress;  // may be empty
};

struct AgentEvaluation {
  int episodes = 0;           // episodes run
  double mean_return = 0.0;   // mean undiscounted return
  double success_rate = 0.0;  // fraction of episodes with info "success" at any step
  double mean_length = 0.0;   // mean control steps per episode
};

struct AgentTrainResult {
  int64_t start_step = 0;               // 0, or the checkpoint's step when resumed
  int64_t steps = 0;                    // final step (bc: epochs; ppo, sac: env steps)
  std::map<std::string, double> first;  // metrics of the first update/epoch of this run
  std::map<std::string, double> last;   // metrics of the last one
  AgentEvaluation evaluation;           // held-out evaluation at the end (test seeds)
  std::string parameter_hash;           // 16 hex digits over every policy tensor
  std::string checkpoint;               // path of the final checkpoint
  std::string device;                   // device used
  double seconds = 0.0;                 // wall time of training (without evaluation)
};

// Binds env.* and the model's own keys (bc.*, ppo.*, sac.* or tdmpc.*; throws BadInput on
// another model).
void BindAgentSettings(const std::string& model, AgentTrainRequest* request,
                       sim::SettingsBinder* binder);

// Runs `episodes` episodes of `agent` in `env` (episode k reset with first_seed + k).
AgentEvaluation EvaluateAgent(sim::Env& env, Agent& agent, uint64_t first_seed, int episodes);

// Validates everything, then trains, appending to out/metrics.jsonl and writing out/run.json
// and out/checkpoint.pt; evaluates the final policy on held-out test seeds. Bad input throws
// BadInput and leaves no files behind; a sac or tdmpc run resumed with other settings of its
// own or env.* (Sac/TdmpcResumeMayChange aside) is refused naming the keys. A non-finite loss throws
// std::runtime_error naming the last good checkpoint, which is kept.
AgentTrainResult TrainAgent(const AgentTrainRequest& request);

}  // namespace darkmatter::agents
