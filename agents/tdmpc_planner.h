// TD-MPC's planner: MPPI in the learned latent (TD-MPC2's recipe). Candidate action sequences
// come from the policy prior (rolled through the latent dynamics) and from a Gaussian
// around a warm-started mean; each is scored by its predicted rewards plus the discounted
// Q value where it ends; the Gaussian is refitted to the elites with softmax weights, and the
// action is the first of an elite drawn by those weights (plus the planner's noise when
// exploring). All randomness comes from a sim::Rng, so a seed fixes every plan.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <torch/types.h>

#include "agents/tdmpc.h"
#include "agents/tdmpc_networks.h"
#include "sim/rng.h"

namespace darkmatter::agents {

struct TdmpcPlanSettings {
  int horizon = 3;           // planning and training horizon (control steps)
  int samples = 128;         // candidate sequences per iteration (policy ones included)
  int pi_samples = 16;       // of which sampled from the policy prior
  int elites = 16;           // best candidates the Gaussian is refitted to
  int iterations = 4;        // sample-score-refit rounds per action
  double temperature = 0.5;  // softmax temperature of the elite weights (x value)
  double min_std = 0.05;     // floor of the Gaussian's std (normalised action units)
  double max_std = 2.0;      // initial and largest std
  double gamma = 0.99;       // discount of predicted rewards and the final Q value
};

// Standard normal floats drawn from rng in row-major order, as a tensor of `shape` on
// `device` (every TD-MPC draw goes through here, so a seed fixes them all).
torch::Tensor TdmpcNormals(sim::Rng& rng, const std::vector<int64_t>& shape,
                           const torch::Device& device);

// The planner part of the training settings.
TdmpcPlanSettings PlanSettingsOf(const TdmpcSettings& settings);
// Throws BadInput naming the tdmpc.* key and value of the first out-of-range setting.
void ValidateTdmpcPlanSettings(const TdmpcPlanSettings& settings);

// Plans one normalised action (act_dim values written to `action`) for one observation
// (1 x obs_dim float32 on the networks' device). `mean` (horizon x act_dim, float32 CPU) is
// the warm start: shifted one step when `warm`, else zeroed, and replaced by the refitted
// mean. `explore` adds the final std times normal noise (training).
void TdmpcPlan(TdmpcNetworksImpl& nets, const torch::Tensor& obs, const TdmpcPlanSettings& settings,
               torch::Tensor& mean, bool warm, bool explore, sim::Rng& rng,
               std::span<float> action);

}  // namespace darkmatter::agents

#include <memory>

#include "agents/agent.h"
#include "sim/env.h"

namespace darkmatter::agents {

// An agent that acts with `nets` (batch of one, no exploration noise): when `plan`, by
// planning (Reset(seed) re-seeds its draws from (seed, `salt`) and drops the warm start),
// else with the policy prior's mean action; actions are in env units, clipped.
std::unique_ptr<Agent> MakeTdmpcPlanningAgent(TdmpcNetworks nets, const TdmpcPlanSettings& settings,
                                              const sim::BoxSpec& action_spec, uint64_t salt,
                                              bool plan = true);

}  // namespace darkmatter::agents
