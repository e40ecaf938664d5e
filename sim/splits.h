// The dataset splits and their seed ranges: the one home of "which seeds are train, readout,
// test and out-of-distribution". Disjointness of the splits is a correctness property (a model
// is never evaluated on seeds it trained on), so every command derives its seeds from here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/error.h"

namespace darkmatter::sim {

// Each split owns one block of 10^9 seeds: train [0, 1e9), readout [1e9, 2e9), test
// [2e9, 3e9), ood [3e9, 4e9) (ood also draws parameters from the out-of-distribution ranges).
enum class Split { kTrain = 0, kReadout = 1, kTest = 2, kOod = 3 };
inline constexpr uint64_t kSplitSeedBlock = 1000000000ULL;
inline constexpr std::array<std::string_view, 4> kSplitNames = {"train", "readout", "test",
                                                                 "ood"};

// First seed of a split's block.
constexpr uint64_t SplitSeedBase(Split split) {
  return kSplitSeedBlock * static_cast<uint64_t>(split);
}

// Throws BadInput naming `what` (e.g. "--seed") unless seeds [seed, seed + count) lie in one
// split's block: past it they would be another split's seeds (train would overlap readout).
inline void CheckSeedsInSplitBlock(uint64_t seed, uint64_t count, const std::string& what) {
  if (seed >= kSplitSeedBlock || count > kSplitSeedBlock - seed) {
    throw BadInput(what + " " + std::to_string(seed) + " with " + std::to_string(count) +
                   " episodes runs past the split's block of " + std::to_string(kSplitSeedBlock) +
                   " seeds (into another split's seeds): need seed + episodes <= " +
                   std::to_string(kSplitSeedBlock));
  }
}

// The split named `name`; throws BadInput naming `what` (e.g. "--split") and the value.
inline Split ParseSplit(const std::string& name, const std::string& what) {
  for (size_t k = 0; k < kSplitNames.size(); ++k) {
    if (name == kSplitNames[k]) return static_cast<Split>(k);
  }
  throw BadInput("unknown " + what + " '" + name + "' (expected train, readout, test, ood)");
}

}  // namespace darkmatter::sim
