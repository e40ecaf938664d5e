#include "worldmodel/clips.h"

#include <numeric>
#include <random>
#include <string>

#include "sim/error.h"

namespace darkmatter::worldmodel {

ClipDataset::ClipDataset(const std::vector<sim::Episode>& episodes, int64_t context,
                         int64_t horizon, torch::Device device)
    : context_(context), horizon_(horizon), device_(device) {
  if (context < 1 || horizon < 1) {
    throw sim::BadInput("clips need context >= 1 and horizon >= 1 (got " + std::to_string(context) +
                        ", " + std::to_string(horizon) + ")");
  }
  if (episodes.empty()) throw sim::BadInput("no episodes to make clips from");
  const int64_t obs_dim = episodes[0].obs_dim, act_dim = episodes[0].act_dim;
  int64_t frames = 0;
  for (const sim::Episode& episode : episodes) {
    if (episode.obs_dim != obs_dim || episode.act_dim != act_dim) {
      throw sim::BadInput("episodes have different observation or action sizes (task '" +
                          episode.task + "')");
    }
    frames += episode.Length() + 1;
  }
  auto obs = torch::zeros({frames, obs_dim}, torch::kFloat64);
  auto act = torch::zeros({frames, act_dim}, torch::kFloat64);
  const int64_t length = context + horizon;
  int64_t row = 0;
  for (const sim::Episode& episode : episodes) {
    const int64_t t = episode.Length();
    obs.narrow(0, row, t + 1)
        .copy_(torch::from_blob(const_cast<double*>(episode.observations.data()), {t + 1, obs_dim},
                                torch::kFloat64));
    if (t > 0 && act_dim > 0) {
      act.narrow(0, row, t).copy_(torch::from_blob(const_cast<double*>(episode.actions.data()),
                                                   {t, act_dim}, torch::kFloat64));
    }
    for (int64_t s = 0; s + length <= t + 1; ++s) starts_.push_back(row + s);
    row += t + 1;
  }
  if (starts_.empty()) {
    throw sim::BadInput("no episode has " + std::to_string(length) +
                        " observations for one clip (context + horizon)");
  }
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  observations_ = obs.to(options);
  actions_ = act.to(options);
}

torch::Tensor ClipDataset::ObsMean() const { return observations_.mean(0); }

torch::Tensor ClipDataset::ObsStd() const {
  return observations_.std(0, /*unbiased=*/false).clamp_min(1e-6);
}

ClipBatch ClipDataset::Gather(const std::vector<int64_t>& indices) const {
  const int64_t b = static_cast<int64_t>(indices.size()), length = context_ + horizon_;
  std::vector<int64_t> frames(b * length), action_frames(b * horizon_);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t start = starts_.at(indices[i]);
    for (int64_t j = 0; j < length; ++j) frames[i * length + j] = start + j;
    for (int64_t j = 0; j < horizon_; ++j) {
      action_frames[i * horizon_ + j] = start + context_ - 1 + j;
    }
  }
  auto to_device = [&](std::vector<int64_t>& v) {
    return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kInt64).to(device_);
  };
  return {observations_.index_select(0, to_device(frames)).view({b, length, ObsDim()}),
          actions_.index_select(0, to_device(action_frames)).view({b, horizon_, ActDim()})};
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
