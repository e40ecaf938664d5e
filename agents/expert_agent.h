// ExpertAgent: acts with the task's scripted expert (Env::ExpertAction), which may use
// privileged state; used to record demonstrations for behaviour cloning.
#pragma once

#include "agents/agent.h"
#include "sim/env.h"

namespace darkmatter::agents {

class ExpertAgent final : public Agent {
 public:
  // An expert for `env`, which must outlive the agent; throws BadInput when the task has none.
  explicit ExpertAgent(sim::Env& env);
  void Reset(uint64_t seed, int row) override {}
  // Ignores `observations` and asks the env for its expert action (batch of one).
  void Act(std::span<const double> observations, std::span<double> actions) override;

 private:
  sim::Env& env_;
};

}  // namespace darkmatter::agents
