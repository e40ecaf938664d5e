// RandomAgent: uniform actions within the action bounds ([-1, 1] where a bound is infinite).
#pragma once

#include <vector>

#include "agents/agent.h"
#include "sim/env.h"
#include "sim/env_pool.h"
#include "sim/rng.h"

namespace darkmatter::agents {

class RandomAgent final : public Agent {
 public:
  // An agent for `batch` parallel rows of the given action space.
  RandomAgent(const sim::BoxSpec& action_spec, int batch = 1);
  void Reset(uint64_t seed, int row) override;
  void Act(std::span<const double> observations, std::span<double> actions) override;

 private:
  std::vector<double> low_, high_;  // (act_dim) sampling bounds
  std::vector<sim::Rng> rngs_;      // (batch) one stream per row
};

// Steps `pool` with a RandomAgent (row i reset with seed i) for about `seconds` after 3
// warm-up steps; returns env steps per second (what `bench pool` reports).
double RandomPoolStepsPerSecond(sim::EnvPool& pool, double seconds);

}  // namespace darkmatter::agents
