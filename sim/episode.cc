#include "sim/episode.h"

#include <algorithm>
#include <cstddef>
#include <iterator>

#include "sim/hash.h"

namespace darkmatter::sim {
namespace {

// Column of `key` in the infos buffer, or -1 when the episode has no such key.
int64_t InfoColumn(const Episode& episode, const std::string& key) {
  const auto& keys = episode.info_keys;
  const auto it = std::find(keys.begin(), keys.end(), key);
  return it == keys.end() ? -1 : static_cast<int64_t>(std::distance(keys.begin(), it));
}

}  // namespace

int64_t Episode::TruthDim() const {
  int64_t dim = 0;
  for (const std::vector<int64_t>& shape : truth_shapes) {
    int64_t size = 1;  // an empty shape is a scalar
    for (int64_t extent : shape) size *= extent;
    dim += size;
  }
  return dim;
}

double Episode::Return() const {
  double total = 0.0;
  for (double reward : rewards) total += reward;
  return total;
}

double Episode::FinalInfo(const std::string& key) const {
  const int64_t column = InfoColumn(*this, key);
  if (column < 0 || Length() == 0) return 0.0;
  const auto num_keys = static_cast<int64_t>(info_keys.size());
  return infos.at(static_cast<size_t>((Length() - 1) * num_keys + column));
}

bool Episode::AnyInfo(const std::string& key) const {
  const int64_t column = InfoColumn(*this, key);
  if (column < 0) return false;
  const auto num_keys = static_cast<int64_t>(info_keys.size());
  for (int64_t t = 0; t < Length(); ++t) {
    if (infos.at(static_cast<size_t>(t * num_keys + column)) != 0.0) return true;
  }
  return false;
}

void Episode::AddToHash(Hasher* hasher) const {
  auto add_text = [&](const std::string& text) {
    hasher->AddValue(text.size());
    hasher->Add(text.data(), text.size());
  };
  add_text(task);
  for (int64_t value : {static_cast<int64_t>(seed), obs_dim, act_dim, state_dim, frame_height,
                        frame_width}) {
    hasher->AddValue(value);
  }
  hasher->Add(std::span<const double>(observations));
  hasher->Add(std::span<const double>(actions));
  hasher->Add(std::span<const double>(rewards));
  hasher->Add(std::span<const uint8_t>(terminations));
  hasher->Add(std::span<const uint8_t>(truncations));
  hasher->Add(std::span<const double>(states));
  hasher->Add(std::span<const uint64_t>(rng_states));
  hasher->Add(std::span<const int64_t>(elapsed_steps));
  for (const std::string& key : info_keys) add_text(key);
  hasher->Add(std::span<const double>(infos));
  hasher->Add(std::span<const uint8_t>(frames));
  for (size_t i = 0; i < truth_names.size(); ++i) {
    add_text(truth_names[i]);
    hasher->Add(std::span<const int64_t>(truth_shapes[i]));
  }
  hasher->Add(std::span<const double>(truth));
  for (const auto& [key, value] : scalars) {
    add_text(key);
    hasher->AddValue(value);
  }
  for (const auto& [key, value] : strings) {
    add_text(key);
    add_text(value);
  }
}

}  // namespace darkmatter::sim
