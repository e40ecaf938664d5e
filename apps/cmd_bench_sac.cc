// darkmatter bench sac: SAC throughput on a task: gradient updates per second (batch, hidden
// units as in training) and env steps per second of the whole training loop (collection
// with the actor + updates at sac.utd) on 1 and 2 pool threads, and of collection alone
// (uniform actions before learning starts), each the best of interleaved rounds.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agents/sac.h"
#include "apps/commands.h"
#include "sim/error.h"
#include "sim/settings.h"

namespace darkmatter::apps {
namespace {

struct BenchSacOptions {
  std::string task = "manipulation/reach";
  int envs = 4;
  int hidden = 256;
  int batch = 256;
  double utd = 1.0;
  int chunk = 2000;  // env steps measured per round
  int repeats = 2;
  bool json = false;
};

struct SacRates {
  double env_steps_per_s = 0;  // whole loop
  double updates_per_s = 0;    // gradient updates alone
  double collect_steps_per_s = 0;  // collection alone (before learning starts)
};

// One round on `threads` pool threads: a chunk of collection alone, one to fill the buffer
// past a batch, then a measured chunk of training.
SacRates MeasureSac(const BenchSacOptions& o, int threads) {
  agents::SacSettings s;
  s.num_envs = o.envs;
  s.threads = threads;
  s.hidden = o.hidden;
  s.batch_size = o.batch;
  s.utd = o.utd;
  s.chunk_steps = o.chunk;
  s.learning_starts = 2 * o.chunk;
  s.buffer_size = 4 * o.chunk;
  s.total_env_steps = 3 * o.chunk;
  agents::SacTrainer trainer(o.task, sim::EnvSettings{}, s);
  SacRates rates;
  rates.collect_steps_per_s = trainer.Update().at("steps_per_s");
  trainer.Update();
  const auto metrics = trainer.Update();
  rates.env_steps_per_s = metrics.at("steps_per_s");
  rates.updates_per_s = metrics.at("updates_per_s");
  return rates;
}

void RunBenchSac(const BenchSacOptions& o) {
  if (o.envs < 1 || o.hidden < 1 || o.batch < 1 || o.chunk < 1 || o.repeats < 1 ||
      !(o.utd > 0)) {
    throw sim::BadInput("bench sac: --envs, --hidden, --batch, --chunk, --repeats and --utd "
                        "must be positive");
  }
  SacRates best[3];
  for (int r = 0; r < o.repeats; ++r) {
    for (int t = 1; t <= 2; ++t) {
      const SacRates rates = MeasureSac(o, t);
      best[t].env_steps_per_s = std::max(best[t].env_steps_per_s, rates.env_steps_per_s);
      best[t].updates_per_s = std::max(best[t].updates_per_s, rates.updates_per_s);
      best[t].collect_steps_per_s =
          std::max(best[t].collect_steps_per_s, rates.collect_steps_per_s);
    }
  }
  nlohmann::json results = nlohmann::json::array();
  for (int t = 1; t <= 2; ++t) {
    results.push_back({{"threads", t},
                       {"train_env_steps_per_s", best[t].env_steps_per_s},
                       {"updates_per_s", best[t].updates_per_s},
                       {"collect_env_steps_per_s", best[t].collect_steps_per_s}});
  }
  const nlohmann::json summary = {{"task", o.task}, {"num_envs", o.envs}, {"hidden", o.hidden},
                                  {"batch_size", o.batch}, {"utd", o.utd},
                                  {"results", results}};
  if (o.json) {
    std::printf("%s\n", summary.dump(2).c_str());
    return;
  }
  std::printf("bench sac %s (%d envs, hidden %d, batch %d, utd %g, best of %d x %d env steps)\n",
              o.task.c_str(), o.envs, o.hidden, o.batch, o.utd, o.repeats, o.chunk);
  for (int t = 1; t <= 2; ++t) {
    std::printf("  threads %d: %8.0f updates/s, %8.0f env steps/s training, %8.0f env steps/s "
                "collecting alone\n",
                t, best[t].updates_per_s, best[t].env_steps_per_s, best[t].collect_steps_per_s);
  }
}

}  // namespace

void AddBenchSacCommand(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("sac", "SAC gradient updates/s and env steps/s (1, 2 threads)");
  auto o = std::make_shared<BenchSacOptions>();
  cmd->add_option("--task", o->task, "Task to train on")->capture_default_str();
  cmd->add_option("--envs", o->envs, "Envs in the pool")
      ->check(CLI::Range(1, sim::kMaxEnvs))->capture_default_str();
  cmd->add_option("--hidden", o->hidden, "Hidden units of actor and critics")
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "Transitions per gradient update")->capture_default_str();
  cmd->add_option("--utd", o->utd, "Gradient updates per env step")->capture_default_str();
  cmd->add_option("--chunk", o->chunk, "Env steps per measurement")->capture_default_str();
  cmd->add_option("--repeats", o->repeats, "Interleaved rounds; the best is reported")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { RunBenchSac(*o); });
}

}  // namespace darkmatter::apps
