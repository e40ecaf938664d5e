// One recorded episode as flat buffers; the unit written to and read from episode files.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace darkmatter::sim {

class Hasher;

// A recorded episode of T control steps. Row-major flat buffers, dimensions in comments.
struct Episode {
  std::string task;                   // registered task name, or "mjcf:<path>"
  uint64_t seed = 0;                  // seed passed to Reset for this episode
  int64_t obs_dim = 0;                // observation size
  int64_t act_dim = 0;                // action size
  int64_t state_dim = 0;              // flat physics state size (Env::StateSize)
  std::vector<double> observations;   // ((T+1) x obs_dim), row 0 is the reset observation
  std::vector<double> actions;        // (T x act_dim), as applied (after clipping)
  std::vector<double> rewards;        // (T)
  std::vector<uint8_t> terminations;  // (T), 1 where the task terminated
  std::vector<uint8_t> truncations;   // (T), 1 where time ran out or the sim diverged
  std::vector<double> states;         // ((T+1) x state_dim), state before each step, then final
  std::vector<uint64_t> rng_states;   // ((T+1) x 4), env RNG (xoshiro256**) aligned with states
  std::vector<int64_t> elapsed_steps; // (T+1), env step counter aligned with states
  std::vector<std::string> info_keys; // names of the per-step info values
  std::vector<double> infos;          // (T x info_keys.size())
  int64_t frame_height = 0;           // 0 when no frames were rendered
  int64_t frame_width = 0;            // 0 when no frames were rendered
  std::vector<uint8_t> frames;        // ((T+1) x H x W x 3) RGB, empty when not rendered
  std::vector<std::string> truth_names;            // privileged truth fields, e.g. "positions"
  std::vector<std::vector<int64_t>> truth_shapes;  // per-step shape of each field, e.g. {4, 3}
  std::vector<double> truth;          // ((T+1) x truth_dim), fields concatenated in order
  std::map<std::string, double> scalars;       // episode labels, e.g. "violation_frame" -> 12
  std::map<std::string, std::string> strings;  // episode tags, e.g. "principle" -> "solidity"

  // Number of control steps T.
  int64_t Length() const { return static_cast<int64_t>(rewards.size()); }
  // Elements per step of all truth fields together.
  int64_t TruthDim() const;
  // Mixes every recorded buffer, label and attribute into `hasher` (content hash).
  void AddToHash(Hasher* hasher) const;
  // Sum of rewards.
  double Return() const;
  // Value of an info key at the last step (0 when absent or T == 0).
  double FinalInfo(const std::string& key) const;
  // True when the info key is non-zero at any step.
  bool AnyInfo(const std::string& key) const;
};

}  // namespace darkmatter::sim
