#include "agents/random_agent.h"

#include <chrono>
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

double RandomPoolStepsPerSecond(sim::EnvPool& pool, double seconds) {
  const int envs = pool.NumEnvs();
  RandomAgent agent(pool.ActionSpec(), envs);
  for (int i = 0; i < envs; ++i) agent.Reset(i, i);
  std::vector<double> actions(envs * pool.ActionSpec().Size());
  sim::BatchView batch = pool.Reset(0);
  for (int warmup = 0; warmup < 3; ++warmup) {
    agent.Act(batch.observations, actions);
    batch = pool.Step(actions);
  }
  int64_t steps = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0.0;
  while (elapsed < seconds) {
    agent.Act(batch.observations, actions);
    batch = pool.Step(actions);
    steps += envs;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return steps / elapsed;
}

}  // namespace darkmatter::agents
