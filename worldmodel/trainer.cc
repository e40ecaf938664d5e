#include "worldmodel/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "sim/episode_file.h"
#include "sim/error.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/run_files.h"
#include "worldmodel/clips.h"
#include "worldmodel/device.h"
#include "worldmodel/distributed.h"
#include "worldmodel/supervised.h"
#include "worldmodel/world_model.h"

namespace darkmatter::worldmodel {

void BindTrainSettings(TrainSettings* s, sim::SettingsBinder* b) {
  b->Bind("train.steps", &s->steps, "total optimiser steps");
  b->Bind("train.batch_size", &s->batch_size, "clips per step");
  b->Bind("train.lr", &s->lr, "Adam learning rate");
  b->Bind("train.seed", &s->seed, "initialisation and shuffling seed");
  b->Bind("train.checkpoint_every", &s->checkpoint_every, "steps between checkpoints");
  b->Bind("train.log_every", &s->log_every, "steps between metrics lines");
  b->Bind("train.max_clips", &s->max_clips, "clips used (label budget of supervised); 0 = all");
  b->Bind("model.input", &s->input, "state | pixels");
  b->Bind("model.labels", &s->labels, "supervised: truth fields, comma-separated");
  b->Bind("model.channels", &s->channels, "CNN width (pixels)");
  b->Bind("model.mask_ratio", &s->mask_ratio, "jepa: probability a context frame is masked");
  b->Bind("model.samples", &s->samples, "stochastic: futures per clip (best-of-K)");
  b->Bind("model.noise_dim", &s->noise_dim, "stochastic: noise vector size");
  b->Bind("model.latent_dim", &s->latent_dim, "embedding size");
  b->Bind("model.hidden", &s->hidden, "MLP hidden units");
  b->Bind("model.context", &s->context, "context frames C");
  b->Bind("model.horizon", &s->horizon, "future steps M rolled out in latent space");
  b->Bind("model.ema", &s->ema, "target encoder decay per step, in [0, 1)");
  b->Bind("model.variance_weight", &s->variance_weight, "VICReg variance term weight");
  b->Bind("model.covariance_weight", &s->covariance_weight, "VICReg covariance term weight");
  b->Bind("model.reg", &s->reg, "jepa anti-collapse: vicreg | sigreg (LeJEPA)");
  b->Bind("model.sigreg_weight", &s->sigreg_weight, "sigreg: weight of the SIGReg term");
  b->Bind("model.sigreg_projections", &s->sigreg_projections,
          "sigreg: random unit directions, resampled each step");
  b->Bind("model.encoder", &s->encoder, "pixels: spatial (feature map) | global (one vector)");
  b->Bind("model.map", &s->map, "spatial: feature-map side in locations");
  b->Bind("model.map_channels", &s->map_channels, "spatial: channels per map location");
  b->Bind("model.skip", &s->skip, "frames per model step");
  b->Bind("train.holdout", &s->holdout, "fraction of episodes held out for the copy gate");
}

void ValidateTrainSettings(const TrainSettings& s) {
  auto require = [](bool ok, const std::string& key, const std::string& value,
                    const std::string& rule) {
    if (!ok) throw sim::BadInput("setting " + key + "=" + value + ": must be " + rule);
  };
  require(s.steps >= 1, "train.steps", std::to_string(s.steps), ">= 1");
  sim::RequireInRange("train.batch_size", s.batch_size, 1, sim::kMaxBatch);
  require(s.lr > 0, "train.lr", std::to_string(s.lr), "> 0");
  require(s.checkpoint_every >= 1, "train.checkpoint_every", std::to_string(s.checkpoint_every),
          ">= 1");
  require(s.log_every >= 1, "train.log_every", std::to_string(s.log_every), ">= 1");
  sim::RequireInRange("model.latent_dim", s.latent_dim, 1, sim::kMaxWidth);
  sim::RequireInRange("model.hidden", s.hidden, 1, sim::kMaxWidth);
  sim::RequireInRange("model.context", s.context, 1, sim::kMaxWindow);
  sim::RequireInRange("model.horizon", s.horizon, 1, sim::kMaxWindow);
  require(s.ema >= 0 && s.ema < 1, "model.ema", std::to_string(s.ema), "in [0, 1)");
  require(s.variance_weight >= 0, "model.variance_weight", std::to_string(s.variance_weight),
          ">= 0");
  require(s.max_clips >= 0, "train.max_clips", std::to_string(s.max_clips), ">= 0");
  require(s.input == "state" || s.input == "pixels", "model.input", s.input, "state or pixels");
  sim::RequireInRange("model.channels", s.channels, 1, sim::kMaxWidth);
  require(s.mask_ratio >= 0 && s.mask_ratio < 1, "model.mask_ratio", std::to_string(s.mask_ratio),
          "in [0, 1)");
  sim::RequireInRange("model.samples", s.samples, 1, sim::kMaxSamples);
  sim::RequireInRange("model.noise_dim", s.noise_dim, 1, sim::kMaxWidth);
  require(s.covariance_weight >= 0, "model.covariance_weight", std::to_string(s.covariance_weight),
          ">= 0");
  require(s.encoder == "spatial" || s.encoder == "global", "model.encoder", s.encoder,
          "spatial or global");
  require(s.reg == "vicreg" || s.reg == "sigreg", "model.reg", s.reg, "vicreg or sigreg");
  require(s.sigreg_weight >= 0, "model.sigreg_weight", std::to_string(s.sigreg_weight), ">= 0");
  sim::RequireInRange("model.sigreg_projections", s.sigreg_projections, 1, sim::kMaxSamples);
  sim::RequireInRange("model.map", s.map, 1, sim::kMaxWindow);
  sim::RequireInRange("model.map_channels", s.map_channels, 1, sim::kMaxWidth);
  sim::RequireInRange("model.skip", s.skip, 1, sim::kMaxWindow);
  require(s.holdout >= 0 && s.holdout <= 0.5, "train.holdout", std::to_string(s.holdout),
          "in [0, 0.5]");
}

std::vector<std::string> LabelFields(const std::string& model, const TrainSettings& settings) {
  std::vector<std::string> fields;
  if (model != "supervised") return fields;
  std::string field;
  for (char ch : settings.labels + ",") {
    if (ch != ',') {
      field += ch;
    } else if (!field.empty()) {
      fields.push_back(field);
      field.clear();
    }
  }
  if (fields.empty()) throw sim::BadInput("setting model.labels is empty: supervised needs labels");
  return fields;
}

namespace {

// The comma-separated files of --data; BadInput naming one that does not exist.
std::vector<std::string> DataFiles(const std::string& data) {
  std::vector<std::string> files;
  std::string file;
  for (char ch : data + ",") {
    if (ch != ',') {
      file += ch;
    } else if (!file.empty()) {
      if (!std::filesystem::is_regular_file(file)) {
        throw sim::BadInput("data file '" + file + "' does not exist");
      }
      files.push_back(file);
      file.clear();
    }
  }
  if (files.empty()) throw sim::BadInput("--data FILE.h5 is required");
  return files;
}

using MetricsSink = std::function<void(int64_t step, const std::map<std::string, double>&)>;

// The optimisation loop shared by every rank: gradients are averaged over ranks before each
// step, logged metrics are averaged too (every rank takes part in the same collectives), and
// only rank 0 gets non-empty sinks for metrics and checkpoints.
void TrainLoop(const TrainSettings& s, TrainResult* result, ClipDataset& data,
               WorldModelImpl& model, torch::optim::Optimizer& optimizer, DataParallel& parallel,
               const std::function<void(int64_t)>& on_step, const MetricsSink& log,
               const std::function<void(int64_t)>& checkpoint,
               const std::function<void(std::map<std::string, double>*)>& heldout = nullptr) {
  model.train();
  const uint64_t shuffle_seed = s.seed + static_cast<uint64_t>(parallel.rank());
  for (int64_t step = result->start_step; step < s.steps; ++step) {
    const ClipBatch batch = data.Batch(shuffle_seed, step, s.batch_size);
    ModelLoss loss = model.Loss(batch);
    optimizer.zero_grad();
    loss.total.backward();
    parallel.AllReduceGradients(model);
    optimizer.step();
    model.AfterOptimizerStep();
    const int64_t done = step + 1;
    const bool log_due = done % s.log_every == 0 || done == s.steps || step == result->start_step;
    if (log_due && parallel.enabled()) {
      std::vector<double> values;
      for (const auto& [key, value] : loss.metrics) values.push_back(value);
      parallel.AllReduceMean(&values);
      size_t i = 0;
      for (auto& [key, value] : loss.metrics) value = values[i++];
    }
    if (log_due && log && heldout) heldout(&loss.metrics);
    if (step == result->start_step) result->first = loss.metrics;
    result->last = loss.metrics;
    if (log_due && log) log(done, loss.metrics);
    if ((done % s.checkpoint_every == 0 || done == s.steps) && checkpoint) checkpoint(done);
    if (on_step) on_step(done);
  }
  result->steps = s.steps;
}

// A rank other than 0: trains in step with rank 0 and writes nothing.
TrainResult TrainRanked(const TrainSettings& s, TrainResult result, ClipDataset& data,
                        WorldModelImpl& model, torch::optim::Optimizer& optimizer,
                        DataParallel& parallel, const TrainRequest& request) {
  TrainLoop(s, &result, data, model, optimizer, parallel, nullptr, nullptr, nullptr);
  parallel.Barrier();
  result.parameter_hash = ParameterHash(model);
  return result;
}

}  // namespace

TrainResult Train(const TrainRequest& request) {
  const auto& models = WorldModelNames();
  if (std::find(models.begin(), models.end(), request.model) == models.end()) {
    std::string list;
    for (const auto& m : models) list += (list.empty() ? "" : ", ") + m;
    throw sim::BadInput("unknown model '" + request.model + "' (models that exist: " + list + ")");
  }
  const TrainSettings& s = request.settings;
  ValidateTrainSettings(s);
  if (request.out.empty()) throw sim::BadInput("--out DIR is required");
  const std::vector<std::string> files = DataFiles(request.data);
  // Data-parallel when RANK/WORLD_SIZE/... are set (darkmatter train --nproc N sets them).
  const DistributedOptions distributed = DistributedOptions::FromEnvironment();
  torch::Device device = ResolveDevice(request.device);
  if (distributed.world_size > 1 && device.is_cuda()) {
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(distributed.local_rank));
  }
  std::vector<sim::Episode> episodes;
  std::string content_hash, task;
  int64_t total_episodes = 0;
  for (const std::string& file : files) {
    sim::EpisodeReader reader(file);
    for (int64_t k = 0; k < reader.NumEpisodes(); ++k) episodes.push_back(reader.Read(k));
    total_episodes += reader.NumEpisodes();
    content_hash += (content_hash.empty() ? "" : "+") + reader.Header().content_hash;
    task += (task.empty() ? "" : ",") + reader.Header().task;
  }
  if (episodes.empty()) throw sim::BadInput("data file '" + request.data + "' has no episodes");
  // The copy gate's held-out episodes: the last ones, never trained on.
  const bool gated = request.model != "supervised";
  std::vector<sim::Episode> heldout_episodes;
  if (gated && s.holdout > 0 && episodes.size() >= 5) {
    const size_t n = std::max<size_t>(1, static_cast<size_t>(s.holdout * episodes.size() + 0.5));
    heldout_episodes.assign(std::make_move_iterator(episodes.end() - n),
                            std::make_move_iterator(episodes.end()));
    episodes.resize(episodes.size() - n);
  }
  if (distributed.world_size > 1) {
    // Each rank reads its own shard of the episodes.
    std::vector<sim::Episode> shard;
    for (int64_t k : ShardIndices(static_cast<int64_t>(episodes.size()), distributed.rank,
                                  distributed.world_size)) {
      shard.push_back(std::move(episodes[k]));
    }
    episodes = std::move(shard);
  }
  const bool supervised = request.model == "supervised";
  DataOptions data_options;
  data_options.input = s.input;
  data_options.labels = LabelFields(request.model, s);
  data_options.max_clips = s.max_clips;
  data_options.seed = s.seed;
  data_options.skip = supervised ? 1 : s.skip;
  // The supervised model learns from single labelled frames.
  ClipDataset data(episodes, supervised ? 1 : s.context, supervised ? 0 : s.horizon, device,
                   data_options);
  // A fixed batch of up to 64 held-out clips, evenly spaced (none when too short).
  ClipBatch heldout_batch;
  if (!heldout_episodes.empty()) {
    try {
      DataOptions heldout_options = data_options;
      heldout_options.max_clips = 0;
      ClipDataset heldout(heldout_episodes, s.context, s.horizon, device, heldout_options);
      std::vector<int64_t> indices;
      const int64_t n = std::min<int64_t>(64, heldout.NumClips());
      for (int64_t i = 0; i < n; ++i) indices.push_back(i * heldout.NumClips() / n);
      heldout_batch = heldout.Gather(indices);
    } catch (const sim::BadInput&) {
      // Held-out episodes too short for one clip: no gate.
    }
    heldout_episodes.clear();
  }

  torch::manual_seed(s.seed);
  ModelOptions options;
  options.model = request.model;
  options.input = s.input;
  options.obs_dim = data.ObsDim();
  options.frame_size = data.FrameSize() > 0 ? data.FrameSize() : 64;
  options.act_dim = data.ActDim();
  options.label_dim = data.LabelDim();
  options.latent_dim = s.latent_dim;
  options.hidden = s.hidden;
  options.channels = s.channels;
  options.context = s.context;
  options.horizon = s.horizon;
  options.ema = s.ema;
  options.variance_weight = s.variance_weight;
  options.covariance_weight = s.covariance_weight;
  options.mask_ratio = s.mask_ratio;
  options.samples = s.samples;
  options.noise_dim = s.noise_dim;
  options.encoder = s.input == "pixels" ? s.encoder : "global";
  options.map = s.map;
  options.map_channels = s.map_channels;
  options.skip = supervised ? 1 : s.skip;
  options.reg = s.reg;
  options.sigreg_weight = s.sigreg_weight;
  options.sigreg_projections = s.sigreg_projections;
  // A spatial model's latent is its flattened map (model.latent_dim applies to the others).
  if (Spatial(options)) options.latent_dim = s.map * s.map * s.map_channels;
  std::shared_ptr<WorldModelImpl> model = MakeWorldModel(options);
  model->SetNormalisation(data.ObsMean().defined() ? data.ObsMean().cpu() : torch::Tensor(),
                          data.ObsStd().defined() ? data.ObsStd().cpu() : torch::Tensor());
  if (supervised) {
    std::static_pointer_cast<SupervisedImpl>(model)->SetLabelNormalisation(data.LabelMean(),
                                                                           data.LabelStd());
  }
  model->to(device);
  std::vector<torch::Tensor> trainable;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(s.lr));
  const bool main_rank = distributed.rank == 0;
  const std::string metadata = nlohmann::json{{"options", nlohmann::json::parse(OptionsToJson(options))},
                                              {"labels", data_options.labels},
                                              {"content_hash", content_hash},
                                              {"task", task}}
                                   .dump();

  const std::filesystem::path out(request.out);
  const std::string checkpoint = (out / "checkpoint.pt").string();
  TrainResult result;
  if (request.resume) {
    if (!std::filesystem::is_regular_file(checkpoint)) {
      throw sim::BadInput("--resume: no checkpoint '" + checkpoint + "' to resume from");
    }
    const auto run_file = out / "run.json";
    if (std::filesystem::is_regular_file(run_file)) {
      const auto previous = ReadJsonFile(run_file);
      if (previous.is_object() && previous.value("content_hash", content_hash) != content_hash) {
        throw sim::BadInput("--resume: '" + request.out +
                            "' was trained on data with content hash " +
                            previous.value("content_hash", std::string()) + ", but '" +
                            request.data + "' has " + content_hash);
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

  // Every rank starts from rank 0's parameters (and its normalisation buffers).
  DataParallel parallel(distributed);
  parallel.BroadcastParameters(*model);
  // Everything is valid: create the run directory (rank 0 writes every file).
  result.content_hash = content_hash;
  result.checkpoint = checkpoint;
  result.device = device.str();
  if (!main_rank) return TrainRanked(s, result, data, *model, optimizer, parallel, request);
  std::filesystem::create_directories(out);
  nlohmann::json run = {{"model", request.model},
                        {"data", request.data},
                        {"content_hash", content_hash},
                        {"task", task},
                        {"num_episodes", total_episodes},
                        {"processes", distributed.world_size},
                        {"num_clips", data.NumClips()},
                        {"device", device.str()},
                        {"settings", request.settings_text},
                        {"start_step", result.start_step}};
  WriteJsonAtomically(out / "run.json", run);
  if (request.resume) TruncateMetrics(out / "metrics.jsonl", result.start_step);
  std::ofstream metrics_file(out / "metrics.jsonl", std::ios::app);

  // The copy gate on held-out clips, measured without gradient and without touching the
  // training random stream (so --resume stays exact).
  auto heldout = [&](std::map<std::string, double>* metrics) {
    if (!heldout_batch.observations.defined()) return;
    auto generator = at::detail::getDefaultCPUGenerator();
    const auto rng_state = generator.get_state();
    {
      torch::NoGradGuard no_grad;
      model->eval();
      const ModelLoss held = model->Loss(heldout_batch);
      model->train();
      const auto p = held.metrics.find("prediction"), c = held.metrics.find("copy_baseline");
      if (p != held.metrics.end() && c != held.metrics.end()) {
        (*metrics)["heldout_prediction"] = p->second;
        (*metrics)["heldout_copy"] = c->second;
        (*metrics)["heldout_ratio"] = p->second / std::max(c->second, 1e-12);
      }
    }
    generator.set_state(rng_state);
  };
  TrainLoop(s, &result, data, *model, optimizer, parallel, request.on_step,
            [&](int64_t done, const std::map<std::string, double>& metrics) {
              metrics_file << MetricsJson(done, metrics).dump() << "\n";
              metrics_file.flush();
            },
            [&](int64_t done) { SaveCheckpoint(checkpoint, *model, optimizer, done, metadata); },
            heldout);
  if (result.start_step == s.steps) SaveCheckpoint(checkpoint, *model, optimizer, s.steps, metadata);
  parallel.Barrier();
  result.parameter_hash = ParameterHash(*model);
  result.content_hash = content_hash;
  result.checkpoint = checkpoint;
  result.device = device.str();
  run["steps"] = result.steps;
  run["parameter_hash"] = result.parameter_hash;
  run["final_metrics"] = result.last;
  const auto gate = result.last.find("heldout_ratio");
  result.heldout_ratio = gate == result.last.end() ? std::nan("") : gate->second;
  if (gate != result.last.end()) {
    run["copy_gate"] = {{"heldout_ratio", gate->second},
                        {"heldout_prediction", result.last["heldout_prediction"]},
                        {"heldout_copy", result.last["heldout_copy"]},
                        {"beats_copy", gate->second < 1.0}};
    if (gate->second >= 1.0) {
      char text[400];
      std::snprintf(text, sizeof(text),
                    "the model predicts no better than copying the last frame: on held-out "
                    "clips its prediction error is %.3g times the error of \"nothing moves\" "
                    "(a ratio >= 1). It has not learned how things move; train longer, raise "
                    "model.skip so objects visibly move between steps, or check the data.",
                    gate->second);
      result.warnings.push_back(text);
    }
  }
  WriteJsonAtomically(out / "run.json", run);
  return result;
}

}  // namespace darkmatter::worldmodel
