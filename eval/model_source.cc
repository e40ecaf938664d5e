#include "eval/model_source.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <torch/torch.h>

#include "sim/episode_file.h"
#include "sim/error.h"

namespace darkmatter::eval {
namespace {

constexpr char kUntrained[] = "untrained:";

// Per-dimension mean and std (>= 1e-6) of every state observation of the file.
void StateStatistics(const DataFile& data, torch::Tensor* mean, torch::Tensor* scale) {
  std::vector<torch::Tensor> rows;
  for (const sim::Episode& e : data.episodes) {
    rows.push_back(torch::from_blob(const_cast<double*>(e.observations.data()),
                                    {e.Length() + 1, e.obs_dim}, torch::kFloat64)
                       .to(torch::kFloat32));
  }
  const auto all = torch::cat(rows, 0);
  *mean = all.mean(0);
  *scale = all.std(0, /*unbiased=*/false).clamp_min(1e-6);
}

}  // namespace

bool DataFile::HasFrames() const {
  for (const sim::Episode& e : episodes) {
    if (e.frames.empty() || e.frame_height <= 0) return false;
  }
  return !episodes.empty();
}

nlohmann::json DataFile::Describe() const {
  return {{"path", path},
          {"task", task},
          {"content_hash", content_hash},
          {"split", split},
          {"episodes", static_cast<int64_t>(episodes.size())}};
}

DataFile LoadDataFile(const std::string& path, const std::string& flag) {
  if (path.empty()) throw sim::BadInput(flag + " FILE.h5 is required");
  if (!std::filesystem::is_regular_file(path)) {
    throw sim::BadInput(flag + ": data file '" + path + "' does not exist");
  }
  sim::EpisodeReader reader(path);
  DataFile data;
  data.path = path;
  data.task = reader.Header().task;
  data.content_hash = reader.Header().content_hash;
  const auto config = nlohmann::json::parse(reader.Header().config_json, nullptr, false);
  if (config.is_object() && config.contains("split") && config["split"].is_string()) {
    data.split = config["split"].get<std::string>();
  }
  for (int64_t k = 0; k < reader.NumEpisodes(); ++k) data.episodes.push_back(reader.Read(k));
  if (data.episodes.empty()) throw sim::BadInput(flag + ": '" + path + "' holds no episodes");
  return data;
}

nlohmann::json ModelSource::Describe() const {
  return {{"spec", spec},
          {"name", name},
          {"model", model},
          {"input", net->options().input},
          {"untrained", untrained},
          {"step", step},
          {"content_hash", content_hash}};
}

ModelSource ResolveModel(const std::string& spec, const DataFile& data, const std::string& input,
                         uint64_t seed, torch::Device device) {
  if (spec.empty()) throw sim::BadInput("--model: empty model spec");
  ModelSource source;
  source.spec = spec;
  source.device = device;
  if (spec.rfind(kUntrained, 0) == 0) {
    const std::string what = spec.substr(sizeof(kUntrained) - 1);
    if (input != "" && input != "state" && input != "pixels") {
      throw sim::BadInput("--input " + input + ": must be state or pixels");
    }
    worldmodel::ModelOptions options;
    const auto& names = worldmodel::WorldModelNames();
    if (std::find(names.begin(), names.end(), what) != names.end()) {
      options.model = what;
      options.input = !input.empty() ? input : (data.HasFrames() ? "pixels" : "state");
      const sim::Episode& first = data.episodes.front();
      options.obs_dim = first.obs_dim;
      options.frame_size = first.frame_height > 0 ? first.frame_height : 64;
      options.act_dim = first.act_dim;
      options.label_dim = what == "supervised" ? 1 : 0;
    } else if (std::filesystem::exists(what)) {
      options = worldmodel::LoadWorldModel(what, torch::kCPU).model->options();
    } else {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      throw sim::BadInput("--model " + spec + ": '" + what +
                          "' is neither a model (" + list + ") nor a run directory");
    }
    torch::manual_seed(seed);
    source.net = worldmodel::MakeWorldModel(options);
    if (options.input == "state" && data.episodes.front().obs_dim == options.obs_dim) {
      torch::Tensor mean, scale;
      StateStatistics(data, &mean, &scale);
      source.net->SetNormalisation(mean, scale);
    }
    source.untrained = true;
    source.model = options.model;
    source.name = "untrained:" + options.model;
  } else {
    if (!std::filesystem::exists(spec)) {
      throw sim::BadInput("--model: checkpoint or run directory '" + spec + "' does not exist");
    }
    worldmodel::LoadedModel loaded = worldmodel::LoadWorldModel(spec, device);
    source.net = loaded.model;
    source.step = loaded.step;
    source.content_hash = loaded.content_hash;
    source.labels = loaded.labels;
    source.model = loaded.model->options().model;
    std::filesystem::path p(spec);
    if (p.filename() == "checkpoint.pt" || p.filename().empty()) p = p.parent_path();
    if (p.filename() == "checkpoint.pt") p = p.parent_path();
    source.name = p.filename().string().empty() ? source.model : p.filename().string();
  }
  source.net->to(device);
  source.net->eval();
  CheckModelReadsData(source, data);
  return source;
}

void CheckModelReadsData(const ModelSource& model, const DataFile& data) {
  const auto& o = model.Options();
  const std::string who = "--model " + model.spec + " (" + o.model + ", " + o.input + ")";
  for (const sim::Episode& e : data.episodes) {
    const std::string where = "'" + data.path + "' (task " + e.task + ", seed " +
                              std::to_string(e.seed) + ")";
    if (o.input == "pixels") {
      if (e.frames.empty() || e.frame_height <= 0) {
        throw sim::BadInput(who + " reads pixels, but " + where +
                            " has no frames (record it with rollout --render " +
                            std::to_string(o.frame_size) + "x" + std::to_string(o.frame_size) +
                            ")");
      }
      if (e.frame_height != o.frame_size || e.frame_width != o.frame_size) {
        throw sim::BadInput(who + " reads " + std::to_string(o.frame_size) + "x" +
                            std::to_string(o.frame_size) + " frames, but " + where + " has " +
                            std::to_string(e.frame_width) + "x" +
                            std::to_string(e.frame_height));
      }
    } else if (e.obs_dim != o.obs_dim) {
      throw sim::BadInput(who + " reads " + std::to_string(o.obs_dim) +
                          "-d observations, but " + where + " has " + std::to_string(e.obs_dim) +
                          "-d ones (another task?)");
    }
    if (e.act_dim != o.act_dim) {
      throw sim::BadInput(who + " takes " + std::to_string(o.act_dim) + "-d actions, but " +
                          where + " has " + std::to_string(e.act_dim) + "-d ones");
    }
  }
}

worldmodel::ClipBatch ModelInput(const ModelSource& model, const sim::Episode& episode) {
  return worldmodel::EpisodeTensors(episode, model.Options().input, model.device);
}

torch::Tensor EncodeEpisode(ModelSource& model, const sim::Episode& episode) {
  torch::NoGradGuard no_grad;
  const auto input = ModelInput(model, episode);
  return model.net->Encode(input.observations).squeeze(0).to(torch::kCPU, torch::kFloat32);
}

void MakeNamesUnique(std::vector<ModelSource>* models) {
  std::map<std::string, int> seen;
  for (ModelSource& m : *models) {
    const int count = ++seen[m.name];
    if (count > 1) m.name += "#" + std::to_string(count);
  }
}

double EpisodeScalar(const sim::Episode& episode, const std::string& key, const DataFile& file) {
  const auto it = episode.scalars.find(key);
  if (it == episode.scalars.end()) {
    throw sim::BadInput("'" + file.path + "': episode (seed " + std::to_string(episode.seed) +
                        ") has no label '" + key + "' (record " + episode.task +
                        " with rollout" + (key == "twin_id" || key == "possible" ||
                                                   key == "violation_frame"
                                               ? " --twins"
                                               : "") +
                        ")");
  }
  return it->second;
}

}  // namespace darkmatter::eval
