// darkmatter bench tdmpc: TD-MPC cost on a task: milliseconds per planned action (MPPI in the
// latent at the given samples and iterations), gradient updates per second (batch of
// sequences) and env steps per second of the whole training loop (a plan and tdmpc.utd
// updates per step), each the best of `--repeats` rounds. LibTorch's intra-op threads follow
// OMP_NUM_THREADS; compare settings side by side in one run.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agents/tdmpc.h"
#include "apps/commands.h"
#include "sim/error.h"
#include "sim/settings.h"

namespace darkmatter::apps {
namespace {

struct BenchTdmpcOptions {
  agents::TdmpcSettings settings;  // hidden, latent, batch, samples, iterations from the options
  std::string task = "control/inverted_pendulum";
  int chunk = 200;  // env steps measured per round
  int repeats = 2;
  bool json = false;
};

struct TdmpcRates {
  double plan_ms = std::numeric_limits<double>::infinity();
  double updates_per_s = 0, env_steps_per_s = 0;
};

// One round: a short seed phase (with its catch-up updates) and a chunk, then a measured chunk.
TdmpcRates MeasureTdmpc(const BenchTdmpcOptions& o) {
  agents::TdmpcSettings s = o.settings;
  s.chunk_steps = o.chunk;
  s.seed_steps = std::max(s.horizon, o.chunk / 4);
  s.buffer_size = 4 * o.chunk;
  s.total_env_steps = 2 * o.chunk;
  agents::TdmpcTrainer trainer(o.task, sim::EnvSettings{}, s);
  trainer.Update();
  const auto metrics = trainer.Update();
  return {metrics.at("plan_ms"), metrics.at("updates_per_s"), metrics.at("steps_per_s")};
}

void RunBenchTdmpc(const BenchTdmpcOptions& o) {
  agents::ValidateTdmpcSettings(o.settings);
  TdmpcRates best;
  for (int r = 0; r < o.repeats; ++r) {
    const TdmpcRates rates = MeasureTdmpc(o);
    best.plan_ms = std::min(best.plan_ms, rates.plan_ms);
    best.updates_per_s = std::max(best.updates_per_s, rates.updates_per_s);
    best.env_steps_per_s = std::max(best.env_steps_per_s, rates.env_steps_per_s);
  }
  const auto& s = o.settings;
  const nlohmann::json summary = {
      {"task", o.task}, {"hidden", s.hidden}, {"latent", s.latent},
      {"batch_size", s.batch_size}, {"samples", s.samples}, {"iterations", s.iterations},
      {"horizon", s.horizon}, {"plan_ms_per_action", best.plan_ms},
      {"updates_per_s", best.updates_per_s}, {"train_env_steps_per_s", best.env_steps_per_s}};
  if (o.json) {
    std::printf("%s\n", summary.dump(2).c_str());
    return;
  }
  std::printf("bench tdmpc %s (hidden %d, latent %d, batch %d, %d samples x %d iterations, "
              "horizon %d; best of %d x %d env steps)\n"
              "  %.2f ms per planned action, %.0f updates/s, %.1f env steps/s training\n",
              o.task.c_str(), s.hidden, s.latent, s.batch_size, s.samples, s.iterations,
              s.horizon, o.repeats, o.chunk, best.plan_ms, best.updates_per_s,
              best.env_steps_per_s);
}

}  // namespace

void AddBenchTdmpcCommand(CLI::App& bench) {
  auto* cmd = bench.add_subcommand(
      "tdmpc", "TD-MPC planning ms per action, updates/s and env steps/s of training");
  auto o = std::make_shared<BenchTdmpcOptions>();
  cmd->add_option("--task", o->task, "Task to train on")->capture_default_str();
  cmd->add_option("--hidden", o->settings.hidden, "Hidden units of every MLP")
      ->check(CLI::Range(1, sim::kMaxWidth))->capture_default_str();
  cmd->add_option("--latent", o->settings.latent, "Latent size (a multiple of 8)")
      ->check(CLI::Range(8, sim::kMaxWidth))->capture_default_str();
  cmd->add_option("--batch", o->settings.batch_size, "Sequences per gradient update")
      ->check(CLI::Range(1, sim::kMaxBatch))->capture_default_str();
  cmd->add_option("--samples", o->settings.samples, "MPPI candidates per iteration")
      ->check(CLI::Range(2, sim::kMaxSamples))->capture_default_str();
  cmd->add_option("--iterations", o->settings.iterations, "MPPI iterations per action")
      ->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--chunk", o->chunk, "Env steps per measurement")
      ->check(CLI::Range(8, 100000))->capture_default_str();
  cmd->add_option("--repeats", o->repeats, "Rounds; the best is reported")
      ->check(CLI::Range(1, 100))->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] {
    o->settings.pi_samples = std::min(o->settings.pi_samples, o->settings.samples - 1);
    o->settings.elites = std::min(o->settings.elites, o->settings.samples);
    RunBenchTdmpc(*o);
  });
}

}  // namespace darkmatter::apps
