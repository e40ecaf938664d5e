#include "apps/compare_track.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include <torch/torch.h>

#include "eval/ridge.h"
#include "sim/error.h"
#include "worldmodel/clips.h"
#include "worldmodel/world_model.h"

namespace darkmatter::apps {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

eval::Matrix ToMatrix(const torch::Tensor& tensor) {
  auto cpu = tensor.to(torch::kCPU, torch::kFloat64).contiguous();
  eval::Matrix m = eval::Matrix::Zeros(cpu.size(0), cpu.size(1));
  std::copy_n(cpu.data_ptr<double>(), cpu.numel(), m.values.begin());
  return m;
}

// One-step predictions ẑ_t for t >= C*skip (rows C*skip..T), (T+1-C*skip x D).
torch::Tensor OneStepPredictions(worldmodel::WorldModelImpl& model, const worldmodel::ClipBatch& clip) {
  const int64_t c = model.options().context, l = clip.observations.size(1), d = model.options().latent_dim;
  auto z = model.Encode(clip.observations);
  if (const int64_t s = model.options().skip; s > 1) {
    // Frame t is predicted from frames t-C*s, ..., t-s (model steps of s frames).
    const int64_t n = l - c * s;
    std::vector<int64_t> rows;
    for (int64_t t = c * s; t < l; ++t) {
      for (int64_t i = 0; i < c; ++i) rows.push_back(t - (c - i) * s);
    }
    auto context = z[0].index_select(0, torch::tensor(rows, torch::kInt64)).view({n, c, d});
    torch::Tensor action = torch::zeros({n, clip.actions.size(2)});
    if (clip.actions.size(2) > 0) {
      action = clip.actions[0].unfold(0, s, 1).mean(-1).narrow(0, (c - 1) * s, n);
    }
    return model.Predict(context, action);
  }
  auto context = z.unfold(1, c, 1).narrow(1, 0, l - c).permute({0, 1, 3, 2}).reshape({l - c, c, d});
  auto action = clip.actions.narrow(1, c - 1, l - c).reshape({l - c, clip.actions.size(2)});
  return model.Predict(context, action);
}

}  // namespace

CompareTrack ComputeCompareTrack(const std::string& checkpoint,
                                 const std::vector<sim::Episode>& episodes, int64_t k) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);  // stochastic predictors sample their noise
  const auto loaded = worldmodel::LoadWorldModel(checkpoint, torch::kCPU);
  worldmodel::WorldModelImpl& model = *loaded.model;
  const auto& o = model.options();
  const sim::Episode& episode = episodes.at(k);
  if (o.input == "state" && episode.obs_dim != o.obs_dim) {
    throw sim::BadInput("--compare: the model reads " + std::to_string(o.obs_dim) +
                        "-d observations, the file has " + std::to_string(episode.obs_dim));
  }
  if (episode.act_dim != o.act_dim) {
    throw sim::BadInput("--compare: the model takes " + std::to_string(o.act_dim) +
                        "-d actions, the file has " + std::to_string(episode.act_dim));
  }
  const auto clip = worldmodel::EpisodeTensors(episode, o.input, torch::kCPU);
  const int64_t frames = episode.Length() + 1, c = o.context * o.skip;  // first predicted frame
  if (frames <= c) throw sim::BadInput("--compare: the episode is shorter than the context");
  CompareTrack track;
  track.model = o.model;
  track.context = c;
  auto surprise = model.Surprise(clip.observations, clip.actions)[0];
  track.surprise.assign(frames, kNaN);
  for (int64_t t = c; t < frames; ++t) track.surprise[t] = surprise[t].item<double>();
  auto predicted = OneStepPredictions(model, clip);  // (T+1-C x D)

  if (o.model == "generative" && o.input == "pixels") {
    track.frame_size = static_cast<int>(o.frame_size);
    const int64_t s = o.frame_size, frame_bytes = s * s * 3;
    track.imagined.assign(episode.frames.begin(), episode.frames.end());
    auto decoded = model.Decode(predicted)  // (T+1-C x 3 x S x S) in [0, 1]
                       .mul(255.0).round().clamp(0, 255).to(torch::kUInt8)
                       .permute({0, 2, 3, 1}).contiguous();
    std::copy_n(decoded.data_ptr<uint8_t>(), decoded.numel(),
                track.imagined.begin() + c * frame_bytes);
    return track;
  }

  // A ridge probe from target embeddings to object positions, fitted on the other episodes.
  std::vector<torch::Tensor> features, positions;
  std::vector<int64_t> groups;
  int64_t label_dim = 0;
  for (size_t j = 0; j < episodes.size() && features.size() < 200; ++j) {
    if (static_cast<int64_t>(j) == k) continue;
    auto other = worldmodel::EpisodeTensors(episodes[j], o.input, torch::kCPU);
    features.push_back(model.EncodeTarget(other.observations)[0]);
    auto labels = worldmodel::EpisodeLabels(episodes[j], {"positions"}, &label_dim);
    positions.push_back(torch::tensor(labels, torch::kFloat64).view({-1, label_dim}));
    groups.insert(groups.end(), episodes[j].Length() + 1, static_cast<int64_t>(j));
  }
  if (features.empty()) throw sim::BadInput("--compare: the probe needs other episodes in the file");
  const auto probe = eval::FitRidge(ToMatrix(torch::cat(features)), ToMatrix(torch::cat(positions)),
                                    eval::RegressionSettings{}, groups);
  auto own = worldmodel::EpisodeLabels(episode, {"positions"}, &label_dim);
  track.true_positions = own;
  const auto own_truth = ToMatrix(torch::tensor(own, torch::kFloat64).view({-1, label_dim}));
  track.probe_r2 = eval::RSquared(probe.Predict(ToMatrix(model.EncodeTarget(clip.observations)[0])),
                                  own_truth);
  const eval::Matrix out = probe.Predict(ToMatrix(predicted));
  track.num_objects = label_dim / 3;
  track.predicted_positions.assign(frames * label_dim, kNaN);
  std::copy(out.values.begin(), out.values.end(), track.predicted_positions.begin() + c * label_dim);
  return track;
}

}  // namespace darkmatter::apps
