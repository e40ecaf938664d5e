// The Agent interface: batched acting, per-episode reset, named update metrics.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace darkmatter::agents {

class Agent {
 public:
  virtual ~Agent() = default;
  // Starts a new episode for batch row `row`; `seed` makes stochastic policies reproducible.
  virtual void Reset(uint64_t seed, int row) = 0;
  // Fills actions (B x act_dim) for observations (B x obs_dim).
  virtual void Act(std::span<const double> observations, std::span<double> actions) = 0;
  // Learns from experience collected so far; returns named metrics (none for fixed policies).
  virtual std::map<std::string, double> Update() { return {}; }
};

}  // namespace darkmatter::agents
