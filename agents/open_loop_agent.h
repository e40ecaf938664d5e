// OpenLoopAgent: replays a fixed action sequence (one action per row), cycling when it runs
// out; used to reproduce an episode or a bug from a plain CSV file.
#pragma once

#include <string>
#include <vector>

#include "agents/agent.h"

namespace darkmatter::agents {

class OpenLoopAgent final : public Agent {
 public:
  // `actions` is (rows x act_dim), rows >= 1.
  OpenLoopAgent(std::vector<double> actions, int act_dim);
  void Reset(uint64_t seed, int row) override { next_row_ = 0; }
  void Act(std::span<const double> observations, std::span<double> actions) override;

 private:
  std::vector<double> actions_;  // (rows x act_dim)
  int act_dim_;
  size_t next_row_ = 0;
};

// Reads a CSV of actions (one row per step, comma- or space-separated, '#' comments).
// Throws BadInput naming the file and line on a missing file, a non-number, a NaN/inf
// value, or a row whose size differs from act_dim.
std::vector<double> LoadActionCsv(const std::string& path, int act_dim);

}  // namespace darkmatter::agents
