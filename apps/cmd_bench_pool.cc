// darkmatter bench pool: EnvPool env steps per second for T = 1 ... nproc worker threads.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agents/random_agent.h"
#include "apps/bench_util.h"
#include "apps/commands.h"
#include "apps/env_source.h"
#include "sim/env_pool.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "tasks/registry.h"

namespace darkmatter::apps {
namespace {

struct BenchPoolOptions {
  EnvSource source;
  int envs = 16;
  int max_threads = 0;
  double seconds = 2.0;
  int repeats = 2;
  bool json = false;
};

// Steps the pool with random actions for about `seconds`; returns env steps per second.
double PoolStepsPerSecond(const std::string& name, int envs, int threads, double seconds) {
  sim::EnvPool pool([&] { return tasks::MakeEnv(name); }, envs, threads);
  return agents::RandomPoolStepsPerSecond(pool, seconds);
}

void RunBenchPool(const BenchPoolOptions& o) {
  const std::string name = o.source.EnvName(DefaultBenchScene());
  if (o.envs < 1) throw sim::BadInput("--envs must be >= 1");
  if (o.repeats < 1) throw sim::BadInput("--repeats must be >= 1");
  if (!(o.seconds > 0)) throw sim::BadInput("--seconds must be > 0");
  const int max_threads = o.max_threads > 0
                              ? o.max_threads
                              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int frame_skip = tasks::MakeEnv(name)->FrameSkip();
  std::vector<double> best(max_threads + 1, 0.0);
  for (int r = 0; r < o.repeats; ++r) {  // interleaved rounds; best of each
    for (int t = 1; t <= max_threads; ++t) {
      best[t] = std::max(best[t], PoolStepsPerSecond(name, o.envs, t, o.seconds));
    }
  }
  nlohmann::json results = nlohmann::json::array();
  for (int t = 1; t <= max_threads; ++t) {
    results.push_back({{"threads", t},
                       {"env_steps_per_s", best[t]},
                       {"physics_steps_per_s", best[t] * frame_skip}});
  }
  const double scaling = *std::max_element(best.begin() + 1, best.end()) / best[1];
  const nlohmann::json summary = {{"task", name},       {"num_envs", o.envs},
                                  {"frame_skip", frame_skip}, {"results", results},
                                  {"scaling", scaling}};
  if (o.json) {
    std::printf("%s\n", summary.dump(2).c_str());
    return;
  }
  std::printf("bench pool %s (%d envs, frame_skip %d, best of %d x %.1f s)\n", name.c_str(),
              o.envs, frame_skip, o.repeats, o.seconds);
  for (int t = 1; t <= max_threads; ++t) {
    std::printf("  threads %2d: %10.0f env steps/s\n", t, best[t]);
  }
  std::printf("  scaling (fastest / 1 thread): %.2f\n", scaling);
}

}  // namespace

void AddBenchPoolCommand(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("pool", "EnvPool throughput against worker threads");
  auto o = std::make_shared<BenchPoolOptions>();
  o->source.AddOptions(cmd);
  cmd->add_option("--envs", o->envs, "Envs in the pool")->check(CLI::Range(1, sim::kMaxEnvs))
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--max-threads", o->max_threads, "Largest thread count (0: all cores)")
      ->check(CLI::Range(0, sim::kMaxThreads))
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--seconds", o->seconds, "Seconds per measurement")->capture_default_str();
  cmd->add_option("--repeats", o->repeats, "Interleaved rounds; the best is reported")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { RunBenchPool(*o); });
}

}  // namespace darkmatter::apps
