#include "agents/random_agent.h"

#include <cmath>

namespace darkmatter::agents {

namespace {
constexpr uint64_t kPolicyStream = 0x706f6c696379ULL;  // "policy": independent of env RNG
}

RandomAgent::RandomAgent(const sim::BoxSpec& action_spec, int batch)
    : low_(action_spec.low), high_(action_spec.high), rngs_(batch) {
  for (size_t i = 0; i < low_.size(); ++i) {
    if (!std::isfinite(low_[i]) || !std::isfinite(high_[i])) {
      low_[i] = -1.0;
      high_[i] = 1.0;
    }
  }
}

void RandomAgent::Reset(uint64_t seed, int row) {
  rngs_.at(row).Seed(sim::DeriveSeed(seed, kPolicyStream));
}

void RandomAgent::Act(std::span<const double> observations, std::span<double> actions) {
  const size_t act_dim = low_.size();
  for (size_t row = 0; row < rngs_.size() && (row + 1) * act_dim <= actions.size(); ++row) {
    for (size_t i = 0; i < act_dim; ++i) {
      actions[row * act_dim + i] = rngs_[row].Uniform(low_[i], high_[i]);
    }
  }
}

}  // namespace darkmatter::agents
