// PolicyAgent: acts with a trained bc or ppo policy (its deterministic mean, clipped to the
// action bounds; bc's observation history kept per batch row), loaded strictly from a
// checkpoint, so that RecordEpisode and evaluation can run it. No torch types in this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "agents/agent.h"
#include "agents/bc.h"
#include "sim/env.h"

namespace darkmatter::agents {

class PolicyAgent final : public Agent {
 public:
  // Loads `checkpoint` (a checkpoint.pt) into a policy of `hidden` units for these specs
  // (CPU); throws BadInput naming every missing, unexpected or mis-shaped tensor. With
  // `features`, the policy sees features(observations) of size `feature_dim`.
  PolicyAgent(const sim::BoxSpec& observation_spec, const sim::BoxSpec& action_spec,
              int64_t hidden, const std::string& checkpoint, FeatureFn features = {},
              int64_t feature_dim = 0);
  ~PolicyAgent() override;
  // Starts row `row`'s observation history afresh (bc policies with history > 1).
  void Reset(uint64_t seed, int row) override;
  // Mean actions (B x act_dim) for observations (B x obs_dim), clipped to the bounds; a
  // policy with an observation history sees each row's last `history` inputs, newest first.
  void Act(std::span<const double> observations, std::span<double> actions) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// An acting agent for `env` from a bc/ppo/sac run directory or its checkpoint.pt (a
// PolicyAgent, or a SacPolicyAgent for sac); the policy's model and size come from the
// checkpoint's metadata (run.json next to it as fallback). Throws BadInput naming the path
// when it is not such a run, or the tensors that do not match the env.
std::unique_ptr<Agent> LoadPolicyAgent(const std::string& path, const sim::Env& env);

// True when `path` looks like a policy: a directory with checkpoint.pt, or a file ending .pt.
bool IsPolicyPath(const std::string& path);

}  // namespace darkmatter::agents
