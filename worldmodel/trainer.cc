#include "worldmodel/trainer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "sim/episode_file.h"
#include "sim/error.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/clips.h"
#include "worldmodel/device.h"
#include "worldmodel/jepa.h"

namespace darkmatter::worldmodel {

const std::vector<std::string>& TrainableModels() {
  static const std::vector<std::string> models = {"jepa"};
  return models;
}

void BindTrainSettings(TrainSettings* s, sim::SettingsBinder* b) {
  b->Bind("train.steps", &s->steps, "total optimiser steps");
  b->Bind("train.batch_size", &s->batch_size, "clips per step");
  b->Bind("train.lr", &s->lr, "Adam learning rate");
  b->Bind("train.seed", &s->seed, "initialisation and shuffling seed");
  b->Bind("train.checkpoint_every", &s->checkpoint_every, "steps between checkpoints");
  b->Bind("train.log_every", &s->log_every, "steps between metrics lines");
  b->Bind("model.latent_dim", &s->latent_dim, "embedding size");
  b->Bind("model.hidden", &s->hidden, "MLP hidden units");
  b->Bind("model.context", &s->context, "context frames C");
  b->Bind("model.horizon", &s->horizon, "future steps M rolled out in latent space");
  b->Bind("model.ema", &s->ema, "target encoder decay per step, in [0, 1)");
  b->Bind("model.variance_weight", &s->variance_weight, "VICReg variance term weight");
  b->Bind("model.covariance_weight", &s->covariance_weight, "VICReg covariance term weight");
}

void ValidateTrainSettings(const TrainSettings& s) {
  auto require = [](bool ok, const std::string& key, const std::string& value,
                    const std::string& rule) {
    if (!ok) throw sim::BadInput("setting " + key + "=" + value + ": must be " + rule);
  };
  require(s.steps >= 1, "train.steps", std::to_string(s.steps), ">= 1");
  require(s.batch_size >= 1, "train.batch_size", std::to_string(s.batch_size), ">= 1");
  require(s.lr > 0, "train.lr", std::to_string(s.lr), "> 0");
  require(s.checkpoint_every >= 1, "train.checkpoint_every", std::to_string(s.checkpoint_every),
          ">= 1");
  require(s.log_every >= 1, "train.log_every", std::to_string(s.log_every), ">= 1");
  require(s.latent_dim >= 1, "model.latent_dim", std::to_string(s.latent_dim), ">= 1");
  require(s.hidden >= 1, "model.hidden", std::to_string(s.hidden), ">= 1");
  require(s.context >= 1, "model.context", std::to_string(s.context), ">= 1");
  require(s.horizon >= 1, "model.horizon", std::to_string(s.horizon), ">= 1");
  require(s.ema >= 0 && s.ema < 1, "model.ema", std::to_string(s.ema), "in [0, 1)");
  require(s.variance_weight >= 0, "model.variance_weight", std::to_string(s.variance_weight),
          ">= 0");
  require(s.covariance_weight >= 0, "model.covariance_weight", std::to_string(s.covariance_weight),
          ">= 0");
}

namespace {

nlohmann::json MetricsJson(int64_t step, const std::map<std::string, double>& metrics) {
  nlohmann::json line = {{"step", step}};
  for (const auto& [key, value] : metrics) line[key] = value;
  return line;
}

void WriteJsonAtomically(const std::filesystem::path& path, const nlohmann::json& json) {
  const auto temp = path.string() + ".tmp";
  {
    std::ofstream out(temp);
    out << json.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write '" + temp + "'");
  }
  std::filesystem::rename(temp, path);
}

// Drops the lines a killed run logged after its last checkpoint (step > `step`).
void TruncateMetrics(const std::filesystem::path& path, int64_t step) {
  if (!std::filesystem::is_regular_file(path)) return;
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded() || json.value("step", int64_t{0}) > step) continue;
    kept += line + "\n";
  }
  const auto temp = path.string() + ".tmp";
  {
    std::ofstream out(temp);
    out << kept;
    if (!out) throw std::runtime_error("cannot write '" + temp + "'");
  }
  std::filesystem::rename(temp, path);
}

}  // namespace

TrainResult Train(const TrainRequest& request) {
  const auto& models = TrainableModels();
  if (std::find(models.begin(), models.end(), request.model) == models.end()) {
    std::string list;
    for (const auto& m : models) list += (list.empty() ? "" : ", ") + m;
    throw sim::BadInput("unknown model '" + request.model + "' (models that exist: " + list + ")");
  }
  const TrainSettings& s = request.settings;
  ValidateTrainSettings(s);
  if (request.out.empty()) throw sim::BadInput("--out DIR is required");
  if (request.data.empty()) throw sim::BadInput("--data FILE.h5 is required");
  if (!std::filesystem::is_regular_file(request.data)) {
    throw sim::BadInput("data file '" + request.data + "' does not exist");
  }
  const torch::Device device = ResolveDevice(request.device);
  sim::EpisodeReader reader(request.data);
  std::vector<sim::Episode> episodes;
  for (int64_t k = 0; k < reader.NumEpisodes(); ++k) episodes.push_back(reader.Read(k));
  if (episodes.empty()) throw sim::BadInput("data file '" + request.data + "' has no episodes");
  ClipDataset data(episodes, s.context, s.horizon, device);

  torch::manual_seed(s.seed);
  JepaOptions options;
  options.obs_dim = data.ObsDim();
  options.act_dim = data.ActDim();
  options.latent_dim = s.latent_dim;
  options.hidden = s.hidden;
  options.context = s.context;
  options.horizon = s.horizon;
  options.ema = s.ema;
  options.variance_weight = s.variance_weight;
  options.covariance_weight = s.covariance_weight;
  Jepa model(options);
  model->SetNormalisation(data.ObsMean().cpu(), data.ObsStd().cpu());
  model->to(device);
  std::vector<torch::Tensor> trainable;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(s.lr));

  const std::filesystem::path out(request.out);
  const std::string checkpoint = (out / "checkpoint.pt").string();
  TrainResult result;
  if (request.resume) {
    if (!std::filesystem::is_regular_file(checkpoint)) {
      throw sim::BadInput("--resume: no checkpoint '" + checkpoint + "' to resume from");
    }
    const auto run_file = out / "run.json";
    if (std::filesystem::is_regular_file(run_file)) {
      std::ifstream in(run_file);
      const auto previous = nlohmann::json::parse(in, nullptr, false);
      const std::string hash = reader.Header().content_hash;
      if (!previous.is_discarded() && previous.value("content_hash", hash) != hash) {
        throw sim::BadInput("--resume: '" + request.out +
                            "' was trained on data with content hash " +
                            previous.value("content_hash", std::string()) + ", but '" +
                            request.data + "' has " + hash);
      }
    }
    result.start_step = LoadCheckpoint(checkpoint, *model, &optimizer);
    if (result.start_step > s.steps) {
      throw sim::BadInput("--resume: checkpoint is at step " + std::to_string(result.start_step) +
                          ", beyond train.steps=" + std::to_string(s.steps));
    }
  } else if (std::filesystem::exists(checkpoint)) {
    throw sim::BadInput("'" + request.out +
                        "' already holds a run (checkpoint.pt); use --resume or another --out");
  }

  // Everything is valid: create the run directory.
  std::filesystem::create_directories(out);
  nlohmann::json run = {{"model", request.model},
                        {"data", request.data},
                        {"content_hash", reader.Header().content_hash},
                        {"task", reader.Header().task},
                        {"num_episodes", reader.NumEpisodes()},
                        {"num_clips", data.NumClips()},
                        {"device", device.str()},
                        {"settings", request.settings_text},
                        {"start_step", result.start_step}};
  WriteJsonAtomically(out / "run.json", run);
  if (request.resume) TruncateMetrics(out / "metrics.jsonl", result.start_step);
  std::ofstream metrics_file(out / "metrics.jsonl", std::ios::app);

  model->train();
  for (int64_t step = result.start_step; step < s.steps; ++step) {
    const ClipBatch batch = data.Batch(s.seed, step, s.batch_size);
    JepaLoss loss = model->Loss(batch);
    optimizer.zero_grad();
    loss.total.backward();
    optimizer.step();
    model->UpdateTarget();
    const int64_t done = step + 1;
    if (step == result.start_step) result.first = loss.metrics;
    result.last = loss.metrics;
    if (done % s.log_every == 0 || done == s.steps || step == result.start_step) {
      metrics_file << MetricsJson(done, loss.metrics).dump() << "\n";
      metrics_file.flush();
    }
    if (done % s.checkpoint_every == 0 || done == s.steps) {
      SaveCheckpoint(checkpoint, *model, optimizer, done);
    }
    if (request.on_step) request.on_step(done);
  }
  result.steps = s.steps;
  if (result.start_step == s.steps) SaveCheckpoint(checkpoint, *model, optimizer, s.steps);
  result.parameter_hash = ParameterHash(*model);
  result.content_hash = reader.Header().content_hash;
  result.checkpoint = checkpoint;
  result.device = device.str();
  run["steps"] = result.steps;
  run["parameter_hash"] = result.parameter_hash;
  run["final_metrics"] = result.last;
  WriteJsonAtomically(out / "run.json", run);
  return result;
}

}  // namespace darkmatter::worldmodel
