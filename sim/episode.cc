#include "sim/episode.h"

#include <algorithm>
#include <cstddef>
#include <iterator>

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

}  // namespace darkmatter::sim
