// darkmatter train --model jepa --data FILE.h5 [--config FILE] [key=value ...] --out DIR
//                  [--device auto|cpu|cuda] [--resume] [--json]
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/progress.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "worldmodel/trainer.h"

namespace darkmatter::apps {
namespace {

struct TrainOptions {
  std::string model;
  std::string data;
  std::string config;                  // YAML preset
  std::vector<std::string> overrides;  // key=value
  std::string out;
  std::string device = "auto";
  bool resume = false;
  bool show_config = false;
  bool json = false;
};

void RunTrain(const TrainOptions& o) {
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
  std::unique_ptr<ProgressBar> progress;
  request.on_step = [&](int64_t step) {
    if (!progress) progress = std::make_unique<ProgressBar>("train", request.settings.steps);
    progress->Update(step);
  };
  const worldmodel::TrainResult result = worldmodel::Train(request);
  if (progress) progress->Finish();
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

}  // namespace

void AddTrainCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a world model on an episode file");
  auto o = std::make_shared<TrainOptions>();
  cmd->add_option("--model", o->model, "Model to train: jepa")->required();
  cmd->add_option("--data", o->data, "Episode file (.h5) to train on");
  cmd->add_option("--config", o->config, "YAML preset of settings (see --show-config)");
  cmd->add_option("overrides", o->overrides, "Settings as key=value, e.g. train.steps=200");
  cmd->add_flag("--show-config", o->show_config, "Print every settings key and value, then exit");
  cmd->add_option("--out", o->out, "Run directory (checkpoint.pt, metrics.jsonl, run.json)");
  cmd->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue from DIR/checkpoint.pt up to train.steps");
  cmd->add_flag("--json", o->json, "Print the summary as JSON");
  cmd->callback([o] { RunTrain(*o); });
}

}  // namespace darkmatter::apps
