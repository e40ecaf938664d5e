#include "worldmodel/clips.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <string>

#include "sim/error.h"

namespace darkmatter::worldmodel {
namespace {

// (T+1) x H x W x 3 uint8 frames -> (T+1) x 3 x H x W uint8 (a copy).
torch::Tensor ChannelsFirst(const sim::Episode& episode) {
  const int64_t t = episode.Length();
  if (episode.frames.empty() || episode.frame_height <= 0) {
    throw sim::BadInput("episode (task '" + episode.task + "', seed " +
                        std::to_string(episode.seed) +
                        ") has no rendered frames: record it with rollout --render 64x64");
  }
  if (episode.frame_height != episode.frame_width) {
    throw sim::BadInput("pixel models need square frames; the episode has " +
                        std::to_string(episode.frame_width) + "x" +
                        std::to_string(episode.frame_height));
  }
  return torch::from_blob(const_cast<uint8_t*>(episode.frames.data()),
                          {t + 1, episode.frame_height, episode.frame_width, 3}, torch::kUInt8)
      .permute({0, 3, 1, 2})
      .contiguous();
}

torch::Tensor StateRows(const sim::Episode& episode) {
  return torch::from_blob(const_cast<double*>(episode.observations.data()),
                          {episode.Length() + 1, episode.obs_dim}, torch::kFloat64)
      .to(torch::kFloat32);
}

torch::Tensor ActionRows(const sim::Episode& episode) {
  const int64_t t = episode.Length();
  if (t == 0 || episode.act_dim == 0) return torch::zeros({t, episode.act_dim});
  return torch::from_blob(const_cast<double*>(episode.actions.data()), {t, episode.act_dim},
                          torch::kFloat64)
      .to(torch::kFloat32);
}

}  // namespace

ClipBatch EpisodeTensors(const sim::Episode& episode, const std::string& input,
                         torch::Device device) {
  ClipBatch batch;
  if (input == "pixels") {
    batch.observations = ChannelsFirst(episode).to(device).to(torch::kFloat32).div_(255.0);
  } else {
    batch.observations = StateRows(episode).to(device);
  }
  batch.observations = batch.observations.unsqueeze(0);
  batch.actions = ActionRows(episode).to(device).unsqueeze(0);
  return batch;
}

std::vector<double> EpisodeLabels(const sim::Episode& episode,
                                  const std::vector<std::string>& fields, int64_t* label_dim) {
  const int64_t rows = episode.Length() + 1, truth_dim = episode.TruthDim();
  std::vector<std::pair<int64_t, int64_t>> spans;  // (offset, size) of each field in a row
  *label_dim = 0;
  for (const std::string& field : fields) {
    int64_t offset = 0;
    bool found = false;
    for (size_t i = 0; i < episode.truth_names.size(); ++i) {
      int64_t size = 1;
      for (int64_t d : episode.truth_shapes[i]) size *= d;
      if (episode.truth_names[i] == field) {
        spans.emplace_back(offset, size);
        *label_dim += size;
        found = true;
        break;
      }
      offset += size;
    }
    if (!found) {
      std::string known;
      for (const auto& name : episode.truth_names) known += (known.empty() ? "" : ", ") + name;
      throw sim::BadInput("label field '" + field + "' is not in the truth of task '" +
                          episode.task + "' (fields: " + (known.empty() ? "none" : known) + ")");
    }
  }
  std::vector<double> labels(rows * *label_dim);
  for (int64_t r = 0; r < rows; ++r) {
    double* out = labels.data() + r * *label_dim;
    for (const auto& [offset, size] : spans) {
      out = std::copy_n(episode.truth.data() + r * truth_dim + offset, size, out);
    }
  }
  return labels;
}

ClipDataset::ClipDataset(const std::vector<sim::Episode>& episodes, int64_t context,
                         int64_t horizon, torch::Device device, const DataOptions& options)
    : context_(context), horizon_(horizon), device_(device), options_(options) {
  if (context < 1 || horizon < 0) {
    throw sim::BadInput("clips need context >= 1 and horizon >= 0 (got " +
                        std::to_string(context) + ", " + std::to_string(horizon) + ")");
  }
  if (options.input != "state" && options.input != "pixels") {
    throw sim::BadInput("model.input=" + options.input + ": must be state or pixels");
  }
  if (options.skip < 1) {
    throw sim::BadInput("model.skip=" + std::to_string(options.skip) + ": must be >= 1");
  }
  if (episodes.empty()) throw sim::BadInput("no episodes to make clips from");
  const sim::Episode& first = episodes[0];
  std::vector<torch::Tensor> frames, actions, labels;
  const int64_t length = context + horizon;
  int64_t row = 0, label_dim = -1;
  for (const sim::Episode& episode : episodes) {
    if (episode.act_dim != first.act_dim ||
        (!Pixels() && episode.obs_dim != first.obs_dim) ||
        (Pixels() && episode.frame_height != first.frame_height)) {
      throw sim::BadInput("episodes have different observation, frame or action sizes (task '" +
                          episode.task + "', seed " + std::to_string(episode.seed) + ")");
    }
    const int64_t t = episode.Length();
    frames.push_back(Pixels() ? ChannelsFirst(episode) : StateRows(episode));
    auto act = torch::zeros({t + 1, first.act_dim});
    if (t > 0) act.narrow(0, 0, t).copy_(ActionRows(episode));
    actions.push_back(act);
    if (!options.labels.empty()) {
      int64_t dim = 0;
      auto rows = EpisodeLabels(episode, options.labels, &dim);
      if (label_dim >= 0 && dim != label_dim) {
        throw sim::BadInput("label fields have different sizes across episodes (task '" +
                            episode.task + "')");
      }
      label_dim = dim;
      labels.push_back(torch::from_blob(rows.data(), {t + 1, dim}, torch::kFloat64)
                           .to(torch::kFloat32));
    }
    const int64_t span = (length - 1) * options.skip + 1;  // frames one clip covers
    for (int64_t s = 0; s + span <= t + 1; ++s) starts_.push_back(row + s);
    row += t + 1;
  }
  if (starts_.empty()) {
    throw sim::BadInput("no episode has " + std::to_string((length - 1) * options.skip + 1) +
                        " frames for one clip (context + horizon = " + std::to_string(length) +
                        " model steps of model.skip=" + std::to_string(options.skip) +
                        " frames): lower model.horizon or model.skip");
  }
  if (options.max_clips > 0 && options.max_clips < NumClips()) {
    std::mt19937_64 rng(options.seed * 0x9E3779B97F4A7C15ULL + 17);
    for (size_t i = starts_.size(); i > 1; --i) std::swap(starts_[i - 1], starts_[rng() % i]);
    starts_.resize(options.max_clips);
    std::sort(starts_.begin(), starts_.end());
  }
  frames_ = torch::cat(frames, 0).to(device);
  actions_ = torch::cat(actions, 0).to(device);
  if (!labels.empty()) {
    auto all = torch::cat(labels, 0);
    label_mean_ = all.mean(0);
    label_std_ = all.std(0, /*unbiased=*/false).clamp_min(1e-6);
    labels_ = ((all - label_mean_) / label_std_).to(device);
  }
}

torch::Tensor ClipDataset::ObsMean() const {
  return Pixels() ? torch::Tensor() : frames_.mean(0);
}

torch::Tensor ClipDataset::ObsStd() const {
  return Pixels() ? torch::Tensor() : frames_.std(0, /*unbiased=*/false).clamp_min(1e-6);
}

ClipBatch ClipDataset::Gather(const std::vector<int64_t>& indices) const {
  const int64_t b = static_cast<int64_t>(indices.size()), length = context_ + horizon_;
  const int64_t skip = options_.skip;
  std::vector<int64_t> frames(b * length), action_frames(b * (length - 1) * skip);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t start = starts_.at(indices[i]);
    for (int64_t j = 0; j < length; ++j) frames[i * length + j] = start + j * skip;
    for (int64_t j = 0; j + 1 < length; ++j) {
      for (int64_t r = 0; r < skip; ++r) {
        action_frames[(i * (length - 1) + j) * skip + r] = start + j * skip + r;
      }
    }
  }
  auto to_device = [&](std::vector<int64_t>& v) {
    return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kInt64)
        .to(device_);
  };
  const auto frame_index = to_device(frames);
  ClipBatch batch;
  auto observations = frames_.index_select(0, frame_index);
  if (Pixels()) {
    batch.observations = observations.to(torch::kFloat32).div_(255.0).view(
        {b, length, 3, frames_.size(2), frames_.size(3)});
  } else {
    batch.observations = observations.view({b, length, ObsDim()});
  }
  batch.actions = actions_.index_select(0, to_device(action_frames));
  if (skip == 1) {
    batch.actions = batch.actions.view({b, length - 1, ActDim()});
  } else {
    // A model step's action is the mean of the `skip` actions it spans.
    batch.actions = batch.actions.view({b, length - 1, skip, ActDim()}).mean(2);
  }
  if (labels_.defined()) {
    batch.labels = labels_.index_select(0, frame_index).view({b, length, LabelDim()});
  }
  return batch;
}

const std::vector<int64_t>& ClipDataset::Permutation(uint64_t seed, int64_t epoch) {
  const auto key = std::make_pair(seed, epoch);
  auto it = permutations_.find(key);
  if (it != permutations_.end()) return it->second;
  if (permutations_.size() > 4) permutations_.clear();
  std::vector<int64_t> order(starts_.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch));
  // Fisher-Yates with our own index draw (std::shuffle's output is library-specific).
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return permutations_.emplace(key, std::move(order)).first->second;
}

ClipBatch ClipDataset::Batch(uint64_t seed, int64_t step, int64_t batch_size) {
  const int64_t n = NumClips();
  std::vector<int64_t> indices(batch_size);
  for (int64_t i = 0; i < batch_size; ++i) {
    const int64_t position = step * batch_size + i;
    indices[i] = Permutation(seed, position / n)[position % n];
  }
  return Gather(indices);
}

}  // namespace darkmatter::worldmodel
