// The suite's methods: each a small adapter behind one interface (train within a budget, then
// act), registered by one line in suite_methods.cc; and the physics-protocol cell (P1-P3 with a
// jepa trained on reward-free frames). Torch-free header.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/agent.h"
#include "eval/suite_settings.h"
#include "sim/env.h"
#include "sim/splits.h"

namespace darkmatter::worldmodel {
struct TrainResult;
}  // namespace darkmatter::worldmodel

namespace darkmatter::eval {

// Seeds of one suite seed within a split block: seed s uses [s * stride, (s + 1) * stride).
constexpr uint64_t kSuiteSeedStride = 1000000ULL;

// What a method needs to prepare its agent for one cell.
struct MethodContext {
  const SuiteSettings* settings = nullptr;
  std::string task;             // registered task name
  int seed = 0;                 // training seed
  double budget = 1;            // amount of the method's budget currency
  sim::EnvSettings env;         // env settings of the evaluation env (state observations)
  std::string work_dir;         // scratch folder for training runs (exists, empty)
  std::string device = "cpu";   // resolved settings.device for torch work (SuiteDevice)
  std::string cache_dir;        // shared by the cells of one run: deterministic artefacts
                                // (e.g. a play jepa) several cells reuse ("" = none)
};

// A trained (or fixed) policy ready to be evaluated.
struct PreparedAgent {
  std::unique_ptr<agents::Agent> agent;
  std::function<double()> model_calls;  // cumulative model/simulator calls (empty = 1 per act)
  nlohmann::json training;              // what training did (steps, seconds, ...), may be empty
  double reused_seconds = 0;  // training time of cached artefacts this cell reused (counted
                              // in its train_seconds, as if it had trained them itself)
};

// One method of the comparison.
struct SuiteMethod {
  std::string name;          // e.g. "oracle-cem"
  std::string family;        // ssl | supervised | rl | oracle | baseline
  std::string description;   // one line for results.json
  std::string budget_kind;   // env_steps | labels | frames | reference (no budget)
  std::string budgets_key;   // settings key listing its budgets ("" for references)
  std::vector<std::string> setting_prefixes;  // settings the cell depends on (hashed)
  std::string unavailable;   // why the method cannot run in this build ("" = available)
  // Trains (within ctx.budget) and returns the agent for `env` (which outlives it).
  std::function<PreparedAgent(const MethodContext& ctx, sim::Env& env)> prepare;
  std::string task_prefix;   // runs only on tasks starting with this ("" = every task)
};

// settings.device resolved on this machine ("cpu", "cuda", "cuda:1"); BadInput naming the
// setting when CUDA is asked for and not present.
std::string SuiteDevice(const SuiteSettings& settings);

// Every registered method, in registry order.
const std::vector<SuiteMethod>& SuiteMethods();
// The method called `name`; throws sim::BadInput listing the methods.
const SuiteMethod& FindSuiteMethod(const std::string& name);
// The budgets of `method` under `settings` ({1} for references).
std::vector<double> MethodBudgets(const SuiteMethod& method, const SuiteSettings& settings);

// The env settings as the keys an episode file's "env" block holds.
std::map<std::string, std::string> EnvValues(sim::EnvSettings env);

// A jepa on the `input` ("state" or "pixels") observations of episode file `data`
// (jepa.steps, jepa.batch; the pixel jepa's architecture of docs/world-models.md), into run
// directory `out`, seeded by `seed`, on `device`; one checkpoint at the end.
worldmodel::TrainResult TrainStateJepa(const SuiteSettings& s, const std::string& data,
                                       const std::string& out, int seed,
                                       const std::string& device, const std::string& input);

// Runs the physics protocols (physics.protocols) for one seed: records reward-free training
// clips (budget = frames, train split), readout and test twins (their own splits), trains a
// jepa on the training clips in `work_dir`, and runs P1/P2/P3 for it and an untrained null.
// Returns {"metrics": {...}, "sections": {"voe": ..., "ocp": ..., "probes": ...},
// "notes": [...], "artefacts": {"episodes": the test twins' file, "checkpoint": the jepa's}}
// (both inside `work_dir`).
nlohmann::json RunPhysicsCell(const SuiteSettings& settings, int seed, double frames,
                              const std::string& work_dir);

}  // namespace darkmatter::eval
