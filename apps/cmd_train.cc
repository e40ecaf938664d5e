// darkmatter train --model jepa --data FILE.h5 [--config FILE] [key=value ...] --out DIR
//                  [--device auto|cpu|cuda] [--resume] [--json]
//   or: darkmatter train --model bc|ppo|sac|tdmpc --task NAME [key=value ...] --out DIR [--resume] [--json]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <algorithm>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/progress.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "agents/train_agent.h"
#include "worldmodel/distributed.h"
#include "worldmodel/launcher.h"
#include "worldmodel/trainer.h"

namespace darkmatter::apps {
namespace {

struct TrainOptions {
  std::string model;
  std::string data;
  std::string task;                    // bc / ppo / sac / tdmpc: the task to act in
  std::string config;                  // YAML preset
  std::vector<std::string> overrides;  // key=value
  std::string out;
  std::string device = "auto";
  bool resume = false;
  bool show_config = false;
  bool json = false;
  int nproc = 1;                       // data-parallel processes on this machine
};

// Short forms the issue tracker's users type: steps=, batch_size=, lr=, seed= (train.*) and
// device= (the --device option).
std::vector<std::string> ExpandShortKeys(const std::vector<std::string>& overrides,
                                         std::string* device) {
  std::vector<std::string> expanded;
  for (const std::string& item : overrides) {
    const auto eq = item.find('=');
    const std::string key = eq == std::string::npos ? item : item.substr(0, eq);
    if (key == "device" && eq != std::string::npos) {
      *device = item.substr(eq + 1);
    } else if (key == "steps" || key == "batch_size" || key == "lr" || key == "seed") {
      expanded.push_back("train." + item);
    } else {
      expanded.push_back(item);
    }
  }
  return expanded;
}

// train --model bc|ppo|sac|tdmpc --task NAME: behaviour cloning, PPO, SAC or TD-MPC
// (agents::TrainAgent).
void RunAgentTrain(const TrainOptions& o) {
  agents::AgentTrainRequest request;
  sim::SettingsBinder binder;
  agents::BindAgentSettings(o.model, &request, &binder);
  if (!o.config.empty()) binder.ApplyYamlFile(o.config);
  binder.ApplyOverrides(o.overrides);
  if (o.show_config) {
    std::printf("%s", binder.Describe().c_str());
    return;
  }
  if (!o.data.empty()) {
    if (o.model != "bc") throw sim::BadInput("model '" + o.model + "' does not take --data");
    request.bc.demo_file = o.data;  // demonstrations from an episode file
  }
  request.model = o.model;
  request.task = o.task;
  request.out = o.out;
  request.device = o.device == "auto" ? "cpu" : o.device;  // small MLPs: CPU unless asked
  request.resume = o.resume;
  request.settings_text = binder.Values();
  std::unique_ptr<ProgressBar> progress;
  request.on_progress = [&](int64_t done, int64_t total) {
    if (!progress) progress = std::make_unique<ProgressBar>("train", total);
    progress->Update(done);
  };
  const agents::AgentTrainResult result = agents::TrainAgent(request);
  if (progress) progress->Finish();
  const auto& e = result.evaluation;
  nlohmann::json finite_last = nlohmann::json::object();
  for (const auto& [key, value] : result.last) {
    if (std::isfinite(value)) finite_last[key] = value;
  }
  const nlohmann::json summary = {
      {"model", o.model},
      {"task", o.task},
      {"out", o.out},
      {"device", result.device},
      {"start_step", result.start_step},
      {"steps", result.steps},
      {"seconds", result.seconds},
      {"checkpoint", result.checkpoint},
      {"parameter_hash", result.parameter_hash},
      {"final_metrics", finite_last},
      {"evaluation",
       {{"episodes", e.episodes}, {"mean_return", e.mean_return},
        {"success_rate", e.success_rate}, {"mean_length", e.mean_length}}}};
  if (o.json) {
    std::printf("%s\n", summary.dump(2).c_str());
    return;
  }
  std::printf("trained %s on %s on %s: steps %lld -> %lld (%s) in %.1f s\n", o.model.c_str(),
              o.task.c_str(), result.device.c_str(), static_cast<long long>(result.start_step),
              static_cast<long long>(result.steps), o.model == "bc" ? "epochs" : "env steps",
              result.seconds);
  for (const auto& [key, value] : finite_last.items()) {
    std::printf("  %-18s %.6g\n", key.c_str(), value.get<double>());
  }
  if (e.episodes > 0) {
    std::printf("evaluation on %d test seeds: mean return %.4g, success rate %.2f\n", e.episodes,
                e.mean_return, e.success_rate);
  }
  std::printf("checkpoint: %s\nmetrics:    %s/metrics.jsonl\n", result.checkpoint.c_str(),
              o.out.c_str());
}

void RunTrain(TrainOptions o) {
  const auto& agents_models = agents::TrainableAgents();
  if (std::find(agents_models.begin(), agents_models.end(), o.model) != agents_models.end()) {
    RunAgentTrain(o);
    return;
  }
  o.overrides = ExpandShortKeys(o.overrides, &o.device);
  // Under `srun -n N`: this task is one of the N ranks (no local launch).
  worldmodel::AdoptSlurmStep(o.nproc);
  if (o.nproc > 1 && !worldmodel::IsWorkerProcess()) {
    // The parent starts N copies of this command as ranks 0..N-1 and waits for them.
    worldmodel::LaunchOptions launch;
    launch.nproc = o.nproc;
    const worldmodel::LaunchResult result =
        worldmodel::LaunchWorkers(launch, worldmodel::CommandLineArgs());
    if (result.exit_code == 2) throw sim::BadInput(result.message);
    if (result.exit_code != 0) throw std::runtime_error(result.message);
    return;
  }
  worldmodel::TrainRequest request;
  sim::SettingsBinder binder;
  worldmodel::BindTrainSettings(&request.settings, &binder);
  if (!o.config.empty()) binder.ApplyYamlFile(o.config);
  binder.ApplyOverrides(o.overrides);
  if (o.show_config) {
    std::printf("%s", binder.Describe().c_str());
    return;
  }
  request.model = o.model;
  request.data = o.data;
  request.out = o.out;
  request.device = o.device;
  request.resume = o.resume;
  request.settings_text = binder.Values();
  const bool main_rank = !worldmodel::IsWorkerProcess() ||
                         worldmodel::DistributedOptions::FromEnvironment().rank == 0;
  std::unique_ptr<ProgressBar> progress;
  request.on_step = [&](int64_t step) {
    if (!progress) progress = std::make_unique<ProgressBar>("train", request.settings.steps);
    progress->Update(step);
  };
  const worldmodel::TrainResult result = worldmodel::Train(request);
  if (progress) progress->Finish();
  if (!main_rank) return;  // rank 0 prints the summary
  nlohmann::json summary = {{"model", o.model},
                            {"data", o.data},
                            {"content_hash", result.content_hash},
                            {"out", o.out},
                            {"device", result.device},
                            {"start_step", result.start_step},
                            {"steps", result.steps},
                            {"checkpoint", result.checkpoint},
                            {"parameter_hash", result.parameter_hash},
                            {"first_metrics", result.first},
                            {"final_metrics", result.last}};
  if (std::isfinite(result.heldout_ratio)) {
    summary["copy_gate"] = {{"heldout_ratio", result.heldout_ratio},
                            {"beats_copy", result.heldout_ratio < 1.0}};
  }
  summary["warnings"] = result.warnings;
  for (const auto& warning : result.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  if (o.json) {
    std::printf("%s\n", summary.dump(2).c_str());
    return;
  }
  std::printf("trained %s on %s (hash %s) on %s: steps %lld -> %lld\n", o.model.c_str(),
              o.data.c_str(), result.content_hash.c_str(), result.device.c_str(),
              static_cast<long long>(result.start_step), static_cast<long long>(result.steps));
  for (const auto& [key, value] : result.last) {
    const auto first = result.first.find(key);
    std::printf("  %-18s %.6g%s\n", key.c_str(), value,
                first == result.first.end()
                    ? ""
                    : (" (first step of this run: " + std::to_string(first->second) + ")").c_str());
  }
  std::printf("checkpoint: %s\nmetrics:    %s/metrics.jsonl\n", result.checkpoint.c_str(),
              o.out.c_str());
}

// Runs RunTrain; a run that fails removes the run directory it made (a folder that existed
// before, e.g. one being resumed, is left as the run left it). Ranks of a data-parallel run
// leave this to the process that launched them.
void RunTrainLeavingNoFailedRun(const TrainOptions& o) {
  namespace fs = std::filesystem;
  std::error_code error;
  const bool made_here = !o.out.empty() && !fs::exists(o.out, error) &&
                         !worldmodel::IsWorkerProcess();
  try {
    RunTrain(o);
  } catch (...) {
    if (made_here) fs::remove_all(o.out, error);
    throw;
  }
}

}  // namespace

void AddTrainCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a world model on an episode file");
  auto o = std::make_shared<TrainOptions>();
  cmd->add_option("--model", o->model, "Model to train: jepa | generative | supervised | stochastic | bc | ppo | sac | tdmpc")->required();
  cmd->add_option("--data", o->data, "Episode file (.h5) to train on");
  cmd->add_option("--task", o->task, "bc / ppo / sac / tdmpc: task to act in (see `darkmatter tasks`)");
  cmd->add_option("--config", o->config, "YAML preset of settings (see --show-config)");
  cmd->add_option("overrides", o->overrides, "Settings as key=value, e.g. train.steps=200");
  cmd->add_flag("--show-config", o->show_config, "Print every settings key and value, then exit");
  cmd->add_option("--out", o->out, "Run directory (checkpoint.pt, metrics.jsonl, run.json)");
  cmd->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue from DIR/checkpoint.pt up to train.steps");
  cmd->add_flag("--json", o->json, "Print the summary as JSON");
  cmd->add_option("--nproc", o->nproc,
                  "Data-parallel processes (c10d Gloo on CPU); RANK/WORLD_SIZE/MASTER_ADDR/"
                  "MASTER_PORT set by an outside launcher work too")
      ->check(CLI::Range(1, 256));
  cmd->callback([o] { RunTrainLeavingNoFailedRun(*o); });
}

}  // namespace darkmatter::apps
