// P4 goal-conditioned control, the measuring part: runs an agent on N episodes of the test
// split's seeds and reports success rate, return, collisions (driving), final goal distance
// (manipulation), and seconds and model calls per action. `darkmatter eval plan` and the
// Python module (a policy callable) both call it. Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "agents/agent.h"
#include "sim/env.h"

namespace darkmatter::eval {

struct PlanEpisodes {
  std::string task;    // as given (reported)
  std::string policy;  // its name (reported)
  int episodes = 50;   // test episodes, >= 1
  uint64_t seed = 0;   // episode k uses the test seed block + seed + k
};

// Runs the episodes with `agent` on `env`. `model_calls` (may be empty) gives the agent's
// batched dynamics calls so far. JSON: protocol "P4", task, policy, episodes, seed, split,
// seed_base, success_rate, successes, mean_return, steps, seconds_per_action,
// ms_per_action, model_calls_per_action, settings, per_episode, and collisions /
// collision_rate (tasks with a "collision" info key), mean_final_goal_distance / tolerance
// (the arm tasks).
nlohmann::json RunPlanEpisodes(sim::Env& env, agents::Agent& agent, const PlanEpisodes& run,
                               const std::function<double()>& model_calls,
                               const nlohmann::json& settings);

}  // namespace darkmatter::eval
