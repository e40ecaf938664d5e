#include "worldmodel/world_model.h"

#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "sim/error.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/generative.h"
#include "worldmodel/jepa.h"
#include "worldmodel/stochastic.h"
#include "worldmodel/supervised.h"

namespace darkmatter::worldmodel {

const std::vector<std::string>& WorldModelNames() {
  static const std::vector<std::string> names = {"jepa", "generative", "supervised",
                                                 "stochastic"};
  return names;
}

torch::Tensor WorldModelImpl::Rollout(torch::Tensor context_latents, const torch::Tensor& actions,
                                      const torch::Tensor& noise) {
  std::vector<torch::Tensor> predicted;
  for (int64_t m = 0; m < actions.size(1); ++m) {
    auto next = Predict(context_latents, actions.select(1, m), noise);
    predicted.push_back(next);
    context_latents = torch::cat(
        {context_latents.narrow(1, 1, context_latents.size(1) - 1), next.unsqueeze(1)}, 1);
  }
  return torch::stack(predicted, 1);
}

torch::Tensor WorldModelImpl::StepSurprise(const torch::Tensor& context,
                                           const torch::Tensor& action,
                                           const torch::Tensor& target,
                                           const torch::Tensor& observation) {
  return (Predict(context, action) - target).abs().mean(1);
}

torch::Tensor WorldModelImpl::Surprise(const torch::Tensor& observations,
                                       const torch::Tensor& actions) {
  torch::NoGradGuard no_grad;
  const int64_t b = observations.size(0), l = observations.size(1), c = options_.context;
  const int64_t s = options_.skip, first = c * s;
  auto surprise = torch::zeros({b, l}, observations.options());
  if (l <= first) return surprise;
  const int64_t n = l - first, d = options_.latent_dim;
  auto z = Encode(observations);
  auto target = EncodeTarget(observations);
  torch::Tensor context, action;
  if (s == 1) {
    // Window k (frames k..k+C-1) predicts frame k + C.
    context = z.unfold(1, c, 1).narrow(1, 0, n).permute({0, 1, 3, 2}).reshape({b * n, c, d});
    action = actions.narrow(1, c - 1, n).reshape({b * n, actions.size(2)});
  } else {
    // Frame t = first + k is predicted from frames t - C*s, ..., t - s; the action of a model
    // step is the mean of the s actions it spans.
    std::vector<int64_t> rows;
    for (int64_t k = 0; k < n; ++k) {
      for (int64_t i = 0; i < c; ++i) rows.push_back(first + k - (c - i) * s);
    }
    auto index = torch::tensor(rows, torch::kInt64).to(z.device());
    context = z.index_select(1, index).reshape({b * n, c, d});
    if (actions.size(2) > 0) {
      action = actions.unfold(1, s, 1).mean(-1).narrow(1, (c - 1) * s, n).reshape(
          {b * n, actions.size(2)});
    } else {
      action = torch::zeros({b * n, 0}, z.options());
    }
  }
  auto future_target = target.narrow(1, first, n).reshape({b * n, d});
  std::vector<int64_t> shape = {b * n};
  for (int64_t i = 2; i < observations.dim(); ++i) shape.push_back(observations.size(i));
  auto future = observations.narrow(1, first, n).reshape(shape);
  surprise.narrow(1, first, n).copy_(StepSurprise(context, action, future_target, future).view({b, n}));
  return surprise;
}

torch::Tensor WorldModelImpl::Decode(const torch::Tensor& latents) {
  throw sim::BadInput("model " + options_.model +
                      " has no decoder (only generative models decode observations)");
}

std::string OptionsToJson(const ModelOptions& o) {
  nlohmann::json j = {{"model", o.model},
                      {"input", o.input},
                      {"obs_dim", o.obs_dim},
                      {"frame_size", o.frame_size},
                      {"act_dim", o.act_dim},
                      {"label_dim", o.label_dim},
                      {"latent_dim", o.latent_dim},
                      {"hidden", o.hidden},
                      {"channels", o.channels},
                      {"context", o.context},
                      {"horizon", o.horizon},
                      {"ema", o.ema},
                      {"variance_weight", o.variance_weight},
                      {"covariance_weight", o.covariance_weight},
                      {"mask_ratio", o.mask_ratio},
                      {"samples", o.samples},
                      {"noise_dim", o.noise_dim},
                      {"encoder", o.encoder},
                      {"map", o.map},
                      {"map_channels", o.map_channels},
                      {"skip", o.skip},
                      {"reg", o.reg},
                      {"sigreg_weight", o.sigreg_weight},
                      {"sigreg_projections", o.sigreg_projections}};
  return j.dump();
}

ModelOptions OptionsFromJson(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw sim::BadInput("model options are not JSON");
  ModelOptions o;
  try {
    o.model = j.at("model").get<std::string>();
    o.input = j.at("input").get<std::string>();
    o.obs_dim = j.at("obs_dim").get<int64_t>();
    o.frame_size = j.at("frame_size").get<int64_t>();
    o.act_dim = j.at("act_dim").get<int64_t>();
    o.label_dim = j.at("label_dim").get<int64_t>();
    o.latent_dim = j.at("latent_dim").get<int64_t>();
    o.hidden = j.at("hidden").get<int64_t>();
    o.channels = j.at("channels").get<int64_t>();
    o.context = j.at("context").get<int64_t>();
    o.horizon = j.at("horizon").get<int64_t>();
    o.ema = j.at("ema").get<double>();
    o.variance_weight = j.at("variance_weight").get<double>();
    o.covariance_weight = j.at("covariance_weight").get<double>();
    o.mask_ratio = j.at("mask_ratio").get<double>();
    o.samples = j.at("samples").get<int64_t>();
    o.noise_dim = j.at("noise_dim").get<int64_t>();
    // Checkpoints written before the spatial encoder existed hold the global layout.
    o.encoder = j.value("encoder", std::string("global"));
    o.map = j.value("map", int64_t{8});
    o.map_channels = j.value("map_channels", int64_t{16});
    o.skip = j.value("skip", int64_t{1});
    // Checkpoints written before SIGReg existed were trained with VICReg.
    o.reg = j.value("reg", std::string("vicreg"));
    o.sigreg_weight = j.value("sigreg_weight", 0.1);
    o.sigreg_projections = j.value("sigreg_projections", int64_t{32});
  } catch (const nlohmann::json::exception& e) {
    throw sim::BadInput(std::string("model options: ") + e.what());
  }
  return o;
}

bool Spatial(const ModelOptions& o) { return o.input == "pixels" && o.encoder == "spatial"; }

std::shared_ptr<WorldModelImpl> MakeWorldModel(const ModelOptions& o) {
  if (o.encoder != "global" && o.encoder != "spatial") {
    throw sim::BadInput("model.encoder=" + o.encoder + ": must be global or spatial");
  }
  if (o.skip < 1) throw sim::BadInput("model.skip=" + std::to_string(o.skip) + ": must be >= 1");
  if (o.reg != "vicreg" && o.reg != "sigreg") {
    throw sim::BadInput("model.reg=" + o.reg + ": must be vicreg or sigreg");
  }
  if (o.sigreg_weight < 0) {
    throw sim::BadInput("model.sigreg_weight=" + std::to_string(o.sigreg_weight) +
                        ": must be >= 0");
  }
  if (o.sigreg_projections < 1) {
    throw sim::BadInput("model.sigreg_projections=" + std::to_string(o.sigreg_projections) +
                        ": must be >= 1");
  }
  if (Spatial(o)) {
    int64_t ratio = o.map > 0 && o.frame_size % o.map == 0 ? o.frame_size / o.map : 0;
    if (ratio < 2 || (ratio & (ratio - 1)) != 0) {
      throw sim::BadInput("model.map=" + std::to_string(o.map) + ": the frame size " +
                          std::to_string(o.frame_size) +
                          " divided by it must be a power of two >= 2");
    }
    if (o.map_channels < 1) {
      throw sim::BadInput("model.map_channels=" + std::to_string(o.map_channels) +
                          ": must be >= 1");
    }
    if (o.latent_dim != o.map * o.map * o.map_channels) {
      throw sim::BadInput("model.latent_dim=" + std::to_string(o.latent_dim) +
                          ": a spatial model's latent is its flattened map, map * map * "
                          "map_channels = " + std::to_string(o.map * o.map * o.map_channels));
    }
  }
  if (o.input != "state" && o.input != "pixels") {
    throw sim::BadInput("model.input=" + o.input + ": must be state or pixels");
  }
  if (o.input == "pixels" && (o.frame_size < 16 || o.frame_size % 16 != 0)) {
    throw sim::BadInput("pixel models need frames whose size is a multiple of 16 (got " +
                        std::to_string(o.frame_size) + ")");
  }
  if (o.input == "state" && o.obs_dim < 1) throw sim::BadInput("state models need obs_dim >= 1");
  if (o.model == "jepa") return std::make_shared<JepaImpl>(o);
  if (o.model == "generative") return std::make_shared<GenerativeImpl>(o);
  if (o.model == "supervised") return std::make_shared<SupervisedImpl>(o);
  if (o.model == "stochastic") return std::make_shared<StochasticImpl>(o);
  std::string list;
  for (const auto& name : WorldModelNames()) list += (list.empty() ? "" : ", ") + name;
  throw sim::BadInput("unknown model '" + o.model + "' (models that exist: " + list + ")");
}

LoadedModel LoadWorldModel(const std::string& path, torch::Device device) {
  std::filesystem::path file(path);
  if (std::filesystem::is_directory(file)) file /= "checkpoint.pt";
  const std::string metadata_text = ReadCheckpointMetadata(file.string());
  const auto metadata = nlohmann::json::parse(metadata_text, nullptr, false);
  if (metadata.is_discarded() || !metadata.contains("options")) {
    throw sim::BadInput("checkpoint '" + file.string() +
                        "' holds no world-model options (not written by darkmatter train)");
  }
  LoadedModel loaded;
  loaded.model = MakeWorldModel(OptionsFromJson(metadata["options"].dump()));
  loaded.model->to(device);
  loaded.step = LoadCheckpoint(file.string(), *loaded.model, nullptr);
  loaded.model->eval();
  loaded.content_hash = metadata.value("content_hash", std::string());
  loaded.labels = metadata.value("labels", std::vector<std::string>());
  return loaded;
}

}  // namespace darkmatter::worldmodel
