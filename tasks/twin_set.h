// Matched twin sets (IntPhys-style) for violation-of-expectation: for one seed and one
// principle, two *possible* worlds that differ in one thing (a block in the ball's path or
// beside it; a box present or absent), and two *impossible* clips made from them, so that,
// summed over the set, every object moves the same way in the possible and in the impossible
// clips. A detector of motion or of any per-frame statistic then scores chance by
// construction; only the impossible transition tells the members apart.
//
// Two ways to make the impossible members, declared per family and principle:
// - splice: world A until the splice frame s, then world B from s on (and B then A). The
//   family chooses s where the difference between the worlds cannot be seen (behind the
//   occluder), so the splice itself is invisible: permanence, immutability, continuity.
// - swap: world A with some objects' trajectories taken from world B for every frame (and B
//   with A's). Each object's trajectory appears once among the possible and once among the
//   impossible members: solidity (a ball passes through a block / bounces off nothing),
//   support (an object falls through its support / is held up by nothing).
// The violation frame v (the same for both impossible members) is the first frame at which an
// impossible member differs from its possible partner; before v they are bit-identical.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sim/env.h"
#include "sim/episode.h"

namespace darkmatter::tasks {

// How a family makes the impossible members of one principle's set.
struct TwinRule {
  enum class Kind { kSplice, kSwap };
  Kind kind = Kind::kSplice;
  std::array<std::string, 2> directions;  // what member 2 (A then B) and 3 (B then A) show,
                                          // e.g. {"vanish", "appear"}
};

// What an env that can make twin sets provides (physics scenes, the occluded pedestrian).
// The env's own env.violation names the principle; env.world picks world A (0) or B (1).
class TwinSetSource {
 public:
  virtual ~TwinSetSource() = default;
  // The rule of the set of the env's principle (env.violation).
  virtual TwinRule Rule() const = 0;
  // Splice: per frame of the two recorded worlds, 1 where their difference cannot be seen
  // (hidden or invisible in both, everything else the same).
  virtual std::vector<uint8_t> UnseenDifference(const sim::Episode& a,
                                                const sim::Episode& b) const;
  // Swap: first frame at which the swapped objects' trajectories differ between the worlds
  // (-1: never).
  virtual int64_t SwapFrame(const sim::Episode& a, const sim::Episode& b) const;
  // Swap: shows world A's state `base` with the swapped objects taken from world B's flat
  // physics state `other` (same frame) and writes that frame's state, observation, pixels and
  // truth. Changes the env's state.
  struct Frame {
    std::vector<double> state;        // (state_dim)
    std::vector<double> observation;  // (obs_dim)
    std::vector<uint8_t> pixels;      // (H x W x 3) when the env observes pixels
    std::vector<double> truth;        // (truth_dim)
  };
  virtual void ObserveSwapped(const sim::EnvState& base, std::span<const double> other,
                              Frame* out);
};

// Labels of a set member (episode scalars/strings): set_id, member (0 world A, 1 world B,
// 2 A then B, 3 B then A), partner (the possible member an impossible one shares its frames
// before v with, and back), possible, violation_frame, principle, direction.
inline constexpr int kTwinSetSize = 4;

// The members of the set of `env`'s principle from its two recorded worlds (same seed,
// env.world 0 and 1): [A, B, A-then-B, B-then-A], labelled with `set_id`. `env` is an env of
// the same task and settings (any world), used to render swapped frames. When no frame allows
// the splice, the impossible members are copies of the worlds with violation_frame -1 (the
// protocol skips and counts them). Throws BadInput when the task makes no twin sets.
std::vector<sim::Episode> ComposeTwinSet(sim::Env& env, sim::Episode a, sim::Episode b,
                                         int64_t set_id);

// Sets of one seed get ids seed * kSetsPerSeed + the principle's index in Principles().
inline constexpr uint64_t kSetsPerSeed = 8;
inline int64_t TwinSetId(uint64_t seed, int principle_index) {
  return static_cast<int64_t>(seed * kSetsPerSeed + static_cast<uint64_t>(principle_index));
}

// The splice frame for `unseen` (UnseenDifference): the middle of the longest run of frames
// t >= 1 with unseen[t - 1] and unseen[t]; -1 when there is none.
int64_t ChooseSpliceFrame(std::span<const uint8_t> unseen);

}  // namespace darkmatter::tasks
