#include "eval/probe.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <map>
#include <random>
#include <set>

#include <torch/torch.h>

#include "eval/model_source.h"
#include "eval/ridge.h"
#include "sim/error.h"
#include "worldmodel/device.h"
#include "worldmodel/supervised.h"
#include "worldmodel/trainer.h"

namespace darkmatter::eval {
namespace {

// One field of every episode of a file: ((T+1) x dim) row-major per episode.
struct FieldTruth {
  int64_t dim = 0;
  std::vector<std::vector<double>> episodes;
};

FieldTruth ReadField(const DataFile& file, const std::string& field) {
  FieldTruth truth;
  for (const sim::Episode& e : file.episodes) {
    int64_t dim = 0;
    try {
      truth.episodes.push_back(worldmodel::EpisodeLabels(e, {field}, &dim));
    } catch (const sim::BadInput& error) {
      throw sim::BadInput("--fields: '" + file.path + "': " + error.what());
    }
    if (truth.dim != 0 && dim != truth.dim) {
      throw sim::BadInput("--fields: '" + file.path + "': field '" + field +
                          "' changes size across episodes");
    }
    truth.dim = dim;
  }
  return truth;
}

// Feature rows of a file: one per (episode, target frame).
struct Rows {
  std::vector<torch::Tensor> features;  // per episode (n_e x D), float64
  std::vector<int64_t> episode;         // (n) episode of each row
  std::vector<int64_t> frame;           // (n) frame the row describes (t + k)
  Matrix Features() const {
    const auto all = torch::cat(features, 0).contiguous();
    Matrix m{all.size(0), all.size(1), {}};
    m.values.assign(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
    return m;
  }
};

// Horizon 0: z_t for every frame t. Horizon k: ẑ_{t+k} rolled out from the C frames ending at
// t, for t = C-1 .. T-k.
Rows ProbeRows(ModelSource& model, const DataFile& file, int k) {
  torch::NoGradGuard no_grad;
  Rows rows;
  const int64_t c = model.Options().context;
  for (size_t ei = 0; ei < file.episodes.size(); ++ei) {
    const sim::Episode& e = file.episodes[ei];
    const auto input = ModelInput(model, e);
    const auto z = model.net->Encode(input.observations).squeeze(0);  // (L x D)
    const int64_t l = z.size(0);
    torch::Tensor features;
    int64_t first = 0;
    if (k == 0) {
      features = z;
    } else if (model.Options().skip > 1) {
      // Model steps of `skip` frames: anchors t = (c-1)*s .. l-1-k*s, context frames
      // t-(c-1)*s, ..., t; k model steps reach frame t + k*s. A step's action is the mean of
      // the s actions it spans.
      const int64_t s = model.Options().skip;
      const int64_t n = l - k * s - (c - 1) * s;
      if (n <= 0) continue;
      std::vector<int64_t> rows;
      for (int64_t a = 0; a < n; ++a) {
        for (int64_t i = 0; i < c; ++i) rows.push_back(a + i * s);
      }
      const auto index = torch::tensor(rows, torch::kInt64).to(z.device());
      const auto context = z.index_select(0, index).view({n, c, z.size(1)});
      const auto actions_all = input.actions.squeeze(0);  // (T x A)
      torch::Tensor actions;
      if (actions_all.size(1) == 0) {
        actions = torch::zeros({n, k, 0}, z.options());
      } else {
        std::vector<torch::Tensor> steps;
        const auto spans = actions_all.unfold(0, s, 1).mean(-1);  // (T-s+1 x A): span starts
        for (int64_t j = 0; j < k; ++j) {
          steps.push_back(spans.narrow(0, (c - 1) * s + j * s, n));
        }
        actions = torch::stack(steps, 1);  // (n x k x A)
      }
      features = model.net->Rollout(context.contiguous(), actions.contiguous()).select(1, k - 1);
      first = (c - 1) * s + k * s;
    } else {
      const int64_t n = l - k - c + 1;  // anchors t = c-1 .. l-1-k
      if (n <= 0) continue;
      const auto context = z.unfold(0, c, 1).permute({0, 2, 1}).narrow(0, 0, n);  // (n x C x D)
      const auto actions_all = input.actions.squeeze(0);                          // (T x A)
      torch::Tensor actions;
      if (actions_all.size(1) == 0) {
        actions = torch::zeros({n, k, 0}, z.options());
      } else {
        actions = actions_all.unfold(0, k, 1).permute({0, 2, 1}).narrow(0, c - 1, n);
      }
      features = model.net->Rollout(context.contiguous(), actions.contiguous())
                     .select(1, k - 1);  // (n x D)
      first = c - 1 + k;
    }
    rows.features.push_back(features.to(torch::kCPU, torch::kFloat64).contiguous());
    for (int64_t i = 0; i < features.size(0); ++i) {
      rows.episode.push_back(static_cast<int64_t>(ei));
      rows.frame.push_back(first + i);
    }
  }
  if (rows.features.empty()) {
    throw sim::BadInput("'" + file.path + "': no episode is long enough for horizon " +
                        std::to_string(k) + " with " + std::to_string(c) + " context frames");
  }
  return rows;
}

// Horizon 0 rows of external features: every frame of every episode, checked (T+1 rows of
// one width, finite).
Rows ExternalRows(const ExternalFeatures& external, const DataFile& file) {
  Rows rows;
  int64_t width = -1;
  for (size_t ei = 0; ei < file.episodes.size(); ++ei) {
    const sim::Episode& e = file.episodes[ei];
    int64_t dim = 0;
    std::vector<double> values = external.features(e, &dim);
    const int64_t frames = e.Length() + 1;
    const std::string where = "features " + external.name + ", '" + file.path + "' episode " +
                              std::to_string(ei);
    if (dim < 1 || static_cast<int64_t>(values.size()) != frames * dim) {
      throw sim::BadInput(where + ": expected " + std::to_string(frames) +
                          " rows (one per frame) of at least one feature");
    }
    if (width >= 0 && dim != width) {
      throw sim::BadInput(where + ": " + std::to_string(dim) + " features, earlier episodes had " +
                          std::to_string(width));
    }
    width = dim;
    for (double v : values) {
      if (!std::isfinite(v)) throw sim::BadInput(where + ": a feature is not finite");
    }
    rows.features.push_back(
        torch::from_blob(values.data(), {frames, dim}, torch::kFloat64).clone());
    for (int64_t t = 0; t < frames; ++t) {
      rows.episode.push_back(static_cast<int64_t>(ei));
      rows.frame.push_back(t);
    }
  }
  if (rows.features.empty()) throw sim::BadInput("'" + file.path + "': no episodes to probe");
  return rows;
}

// Truth rows of `field` at the given (episode, frame) pairs; `shift` frames earlier (copy
// baseline).
Matrix Targets(const FieldTruth& truth, const std::vector<int64_t>& episode,
               const std::vector<int64_t>& frame, int64_t shift = 0) {
  Matrix m = Matrix::Zeros(static_cast<int64_t>(episode.size()), truth.dim);
  for (size_t i = 0; i < episode.size(); ++i) {
    const double* src = truth.episodes[episode[i]].data() + (frame[i] - shift) * truth.dim;
    std::copy_n(src, truth.dim, m.values.data() + i * truth.dim);
  }
  return m;
}

Matrix SelectRows(const Matrix& m, const std::vector<int64_t>& rows) {
  Matrix out = Matrix::Zeros(static_cast<int64_t>(rows.size()), m.cols);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(m.values.data() + rows[i] * m.cols, m.cols, out.values.data() + i * m.cols);
  }
  return out;
}

// Stores finite values only (results.json has no NaN).
void Put(nlohmann::json* j, const std::string& key, double value) {
  if (std::isfinite(value)) (*j)[key] = value;
}

// R² of a supervised model trained from scratch on `budget` labelled frames of `train`.
double SupervisedR2(const ProbeSettings& s, const ModelSource& like, const std::string& field,
                    int budget, const DataFile& test, const FieldTruth& truth,
                    const std::filesystem::path& dir) {
  worldmodel::TrainRequest request;
  request.model = "supervised";
  request.data = s.train;
  request.out = (dir / ("supervised_" + std::to_string(budget))).string();
  request.device = s.device;
  auto& t = request.settings;
  t.steps = s.supervised_steps;
  t.batch_size = std::min(64, budget);
  t.max_clips = budget;
  t.seed = s.seed;
  t.checkpoint_every = s.supervised_steps;
  t.log_every = std::max(1, s.supervised_steps);
  t.input = like.Options().input;
  t.labels = field;
  t.latent_dim = static_cast<int>(like.Options().latent_dim);
  t.hidden = static_cast<int>(like.Options().hidden);
  t.channels = static_cast<int>(like.Options().channels);
  // The same encoder layout as the probed model (a spatial map or one global vector).
  t.encoder = like.Options().encoder;
  t.map = static_cast<int>(like.Options().map);
  t.map_channels = static_cast<int>(like.Options().map_channels);
  request.settings_text = {{"train.steps", std::to_string(t.steps)},
                           {"train.max_clips", std::to_string(budget)},
                           {"model.labels", field},
                           {"model.input", t.input}};
  const auto result = worldmodel::Train(request);
  auto loaded = worldmodel::LoadWorldModel(result.checkpoint, worldmodel::ResolveDevice(s.device));
  auto supervised = std::dynamic_pointer_cast<worldmodel::SupervisedImpl>(loaded.model);
  if (!supervised) throw std::runtime_error("the supervised baseline did not load as supervised");
  torch::NoGradGuard no_grad;
  std::vector<double> predicted, actual;
  for (size_t ei = 0; ei < test.episodes.size(); ++ei) {
    const auto input =
        worldmodel::EpisodeTensors(test.episodes[ei], t.input, loaded.model->parameters()[0].device());
    const auto labels = supervised->PredictLabels(input.observations)
                            .squeeze(0)
                            .to(torch::kCPU, torch::kFloat64)
                            .contiguous();
    predicted.insert(predicted.end(), labels.data_ptr<double>(),
                     labels.data_ptr<double>() + labels.numel());
    actual.insert(actual.end(), truth.episodes[ei].begin(), truth.episodes[ei].end());
  }
  const int64_t n = static_cast<int64_t>(actual.size()) / truth.dim;
  return RSquared(Matrix{n, truth.dim, predicted}, Matrix{n, truth.dim, actual});
}

}  // namespace

nlohmann::json RunProbe(const ProbeSettings& s) {
  if (s.models.empty() && s.external.empty()) throw sim::BadInput("--model is required");
  if (s.fields.empty()) throw sim::BadInput("--fields: no truth field to probe");
  if (s.horizons.empty()) throw sim::BadInput("--horizons: no horizon");
  for (int k : s.horizons) {
    if (k < 0) throw sim::BadInput("--horizons " + std::to_string(k) + ": must be >= 0");
  }
  for (int n : s.labels) {
    if (n < 1) throw sim::BadInput("--labels " + std::to_string(n) + ": must be >= 1");
  }
  if (s.supervised_steps < 0) {
    throw sim::BadInput("--supervised-steps " + std::to_string(s.supervised_steps) +
                        ": must be >= 0");
  }
  const std::string label_field = s.label_field.empty() ? s.fields.front() : s.label_field;
  const DataFile train = LoadDataFile(s.train, "--train");
  const DataFile test = LoadDataFile(s.data, "--data");
  std::map<std::string, FieldTruth> train_truth, test_truth;
  std::vector<std::string> fields = s.fields;
  if (std::find(fields.begin(), fields.end(), label_field) == fields.end() && !s.labels.empty()) {
    fields.push_back(label_field);
  }
  for (const std::string& f : fields) {
    train_truth[f] = ReadField(train, f);
    test_truth[f] = ReadField(test, f);
  }
  const torch::Device device = worldmodel::ResolveDevice(s.device);
  std::vector<ModelSource> models;
  for (const std::string& spec : s.models) {
    models.push_back(ResolveModel(spec, train, s.input, s.seed, device));
    CheckModelReadsData(models.back(), test);
  }
  MakeNamesUnique(&models);
  RegressionSettings regression;
  regression.seed = s.seed;

  nlohmann::json out = {{"protocol", "probe"},
                        {"train", train.Describe()},
                        {"data", test.Describe()},
                        {"content_hash", test.content_hash},
                        {"split", test.split},
                        {"fields", s.fields},
                        {"horizons", s.horizons},
                        {"r2_definition",
                         "pooled over the field's components: 1 - sum SSE / sum SST on the "
                         "held-out file"}};
  nlohmann::json r2 = nlohmann::json::object(), copy = nlohmann::json::object(),
                 efficiency = nlohmann::json::object(), descriptions = nlohmann::json::array();
  // Copy the last frame: the field at t+k predicted by its value at t, for t = 0 .. T-k.
  for (const std::string& f : s.fields) {
    nlohmann::json per_horizon = nlohmann::json::object();
    for (int k : s.horizons) {
      if (k == 0) continue;
      std::vector<int64_t> episode, frame;
      for (size_t ei = 0; ei < test.episodes.size(); ++ei) {
        for (int64_t t = k; t <= test.episodes[ei].Length(); ++t) {
          episode.push_back(static_cast<int64_t>(ei));
          frame.push_back(t);
        }
      }
      if (episode.empty()) continue;
      Put(&per_horizon, std::to_string(k),
          RSquared(Targets(test_truth[f], episode, frame, k), Targets(test_truth[f], episode, frame)));
    }
    copy[f] = per_horizon;
  }
  // The label choice: the same N frames (a seeded choice among all frames of the training
  // file) for every model.
  std::vector<std::pair<int64_t, int64_t>> all_frames;  // (episode, frame)
  for (size_t ei = 0; ei < train.episodes.size(); ++ei) {
    for (int64_t t = 0; t <= train.episodes[ei].Length(); ++t) {
      all_frames.emplace_back(static_cast<int64_t>(ei), t);
    }
  }
  std::mt19937_64 rng(s.seed * 0x9E3779B97F4A7C15ULL + 7);
  for (size_t i = all_frames.size(); i > 1; --i) std::swap(all_frames[i - 1], all_frames[rng() % i]);

  // Probes one subject (a model or external features): rows(file, k) gives its feature rows,
  // or nothing for a horizon it does not offer.
  auto probe_subject = [&](const std::string& name, nlohmann::json description,
                           const std::function<std::optional<Rows>(const DataFile&, int)>& rows_of) {
    nlohmann::json per_field = nlohmann::json::object();
    for (int k : s.horizons) {
      const std::optional<Rows> fit = rows_of(train, k);
      if (!fit) continue;
      const Rows held = *rows_of(test, k);
      const Matrix x_fit = fit->Features(), x_held = held.Features();
      for (const std::string& f : s.fields) {
        const RidgeModel probe = FitRidge(x_fit, Targets(train_truth[f], fit->episode, fit->frame),
                                          regression, fit->episode);
        const double value =
            RSquared(probe.Predict(x_held), Targets(test_truth[f], held.episode, held.frame));
        if (!per_field.contains(f)) per_field[f] = nlohmann::json::object();
        Put(&per_field[f], std::to_string(k), value);
      }
    }
    r2[name] = per_field;
    if (!s.labels.empty()) {
      // Label efficiency: the horizon-0 probe fitted on N labelled frames only.
      const Rows fit = *rows_of(train, 0);
      const Rows held = *rows_of(test, 0);
      const Matrix x_fit = fit.Features(), x_held = held.Features();
      std::map<std::pair<int64_t, int64_t>, int64_t> row_of;
      for (size_t i = 0; i < fit.episode.size(); ++i) row_of[{fit.episode[i], fit.frame[i]}] = i;
      const Matrix y_held = Targets(test_truth[label_field], held.episode, held.frame);
      nlohmann::json curve = nlohmann::json::object(), used = nlohmann::json::object();
      for (int budget : s.labels) {
        const size_t n = std::min<size_t>(budget, all_frames.size());
        std::vector<int64_t> rows, episodes, frames;
        for (size_t i = 0; i < n; ++i) {
          rows.push_back(row_of.at(all_frames[i]));
          episodes.push_back(all_frames[i].first);
          frames.push_back(all_frames[i].second);
        }
        if (rows.size() < 2) continue;
        const RidgeModel probe =
            FitRidge(SelectRows(x_fit, rows), Targets(train_truth[label_field], episodes, frames),
                     regression, episodes);
        Put(&curve, std::to_string(budget), RSquared(probe.Predict(x_held), y_held));
        used[std::to_string(budget)] = static_cast<int64_t>(n);
      }
      efficiency[name] = curve;
      description["labels_used"] = used;
    }
    descriptions.push_back(description);
  };
  for (ModelSource& model : models) {
    probe_subject(model.name, model.Describe(), [&](const DataFile& file, int k) {
      return std::optional<Rows>(ProbeRows(model, file, k));
    });
  }
  for (const ExternalFeatures& external : s.external) {
    nlohmann::json description = {{"spec", external.name}, {"name", external.name},
                                  {"model", "external"}, {"untrained", false}, {"step", 0},
                                  {"content_hash", ""}, {"horizons", nlohmann::json::array({0})}};
    description.update(external.describe);
    std::map<const DataFile*, Rows> cache;
    probe_subject(external.name, description, [&](const DataFile& file, int k) {
      if (k != 0) return std::optional<Rows>();
      auto it = cache.find(&file);
      if (it == cache.end()) it = cache.emplace(&file, ExternalRows(external, file)).first;
      return std::optional<Rows>(it->second);
    });
  }
  if (!s.labels.empty() && s.supervised_steps > 0 && !models.empty()) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("darkmatter_probe_" + std::to_string(::getpid()) + "_" +
                      std::to_string(s.seed));
    std::filesystem::remove_all(dir);
    nlohmann::json curve = nlohmann::json::object();
    try {
      for (int budget : s.labels) {
        const int n = static_cast<int>(std::min<size_t>(budget, all_frames.size()));
        Put(&curve, std::to_string(budget),
            SupervisedR2(s, models.front(), label_field, n, test, test_truth[label_field], dir));
      }
    } catch (...) {
      std::filesystem::remove_all(dir);
      throw;
    }
    std::filesystem::remove_all(dir);
    efficiency["supervised"] = curve;
    out["supervised_steps"] = s.supervised_steps;
  }
  out["models"] = descriptions;
  out["model"] = descriptions[0]["spec"];
  out["r2"] = r2;
  out["copy_last_frame"] = copy;
  out["label_efficiency"] = efficiency;
  out["label_efficiency_field"] = label_field;
  out["probes"] = {{"r2", r2},
                   {"label_efficiency", efficiency},
                   {"label_efficiency_field", label_field}};
  return out;
}

}  // namespace darkmatter::eval
