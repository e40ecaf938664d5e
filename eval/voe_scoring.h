// P1 scoring on matched twin sets (tasks/twin_set.h), torch-free: which clips form a set,
// clip scores from per-frame surprise, the set score (summed surprise of the two impossible
// members above that of the two possible ones), pairwise accuracy per direction, AUROC, their
// bootstrap intervals, and the detector that knows no physics: motion energy.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/episode.h"

namespace darkmatter::eval {

// One matched set of a twins file: the episode index of each member (0, 1 possible; 2: A then
// B; 3: B then A) and its labels.
struct TwinSet {
  int64_t set_id = 0;
  std::string principle;
  std::array<std::string, 2> directions;  // of members 2 and 3
  int64_t violation_frame = -1;           // -1: the set could not be made (skipped)
  std::array<int64_t, 4> members{};       // episode indices
};

// The sets of a file's episodes. Throws sim::BadInput naming `path` when no episode carries
// set labels (e.g. a file of the old pair layout: re-record it with rollout --twins) or a set
// lacks a member.
std::vector<TwinSet> FindTwinSets(const std::vector<sim::Episode>& episodes,
                                  const std::string& path);

// Per-frame motion energy of a clip (1 x T+1; frame 0 has none and scores 0): the mean
// absolute difference to the previous frame, of the pixels (values in [0, 1]) or of the
// state observation. The null detector that knows nothing but motion.
std::vector<double> MotionEnergy(const sim::Episode& episode, bool pixels);

// How a scorer's per-frame surprise of every clip (indexed like the file's episodes) scores
// the sets: JSON with set_accuracy (+ _ci), per_principle_set, pairwise_accuracy (+ _ci, and
// _max on the max over frames), per_principle (pairwise), per_direction, auroc (+ _ci),
// n_sets, n_skipped_sets, n_pairs, n_clips. `context`: frames before it are never scored.
struct VoeScoring {
  int bootstrap = 1000;     // replicates of every interval
  double confidence = 0.95; // interval coverage
  uint64_t seed = 0;        // bootstrap seed
};
nlohmann::json ScoreTwinSets(const std::vector<TwinSet>& sets,
                             const std::vector<std::vector<double>>& surprise, int64_t context,
                             const VoeScoring& scoring);

// 1 when a + b (impossible) exceeds c + d (possible), 0.5 when equal within a relative 1e-9
// (floating-point noise of sums of equal terms), else 0.
double SetOutcome(double impossible, double possible);

}  // namespace darkmatter::eval
