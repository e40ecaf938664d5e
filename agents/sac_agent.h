// SacPolicyAgent: acts with a trained SAC actor (deterministic tanh(mean), in env units),
// loaded strictly from a sac checkpoint, so that RecordEpisode, evaluation, the rollout
// command and the suite can run it. No torch types in this header.
#pragma once

#include <memory>
#include <string>

#include "agents/agent.h"
#include "sim/env.h"

namespace darkmatter::agents {

class SacPolicyAgent final : public Agent {
 public:
  // Loads `checkpoint` (a sac checkpoint.pt; sizes from its metadata) for these specs (CPU);
  // throws BadInput when it is not a sac checkpoint or its tensors do not fit the specs.
  SacPolicyAgent(const sim::BoxSpec& observation_spec, const sim::BoxSpec& action_spec,
                 const std::string& checkpoint);
  ~SacPolicyAgent() override;
  void Reset(uint64_t seed, int row) override {}
  // Deterministic actions (B x act_dim) for observations (B x obs_dim), clipped to bounds.
  void Act(std::span<const double> observations, std::span<double> actions) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace darkmatter::agents
