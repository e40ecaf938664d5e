// Recording episodes: run an agent in an env and keep everything an episode file stores.
#pragma once

#include <cstdint>
#include <vector>

#include "agents/agent.h"
#include "sim/env.h"
#include "sim/episode.h"

namespace darkmatter::agents {

// Runs one episode from Reset(seed) until terminated or truncated, recording observations,
// applied (clipped) actions, rewards, flags, infos, full states and RNG states.
sim::Episode RecordEpisode(sim::Env& env, Agent& agent, uint64_t seed);

// Records the matched twin set of `seed` (tasks/twin_set.h): episodes of its two possible
// worlds (envs of one task with env.violation = the principle and env.world 0 / 1, each with
// its agent), composed into the four labelled members [A, B, A then B, B then A].
std::vector<sim::Episode> RecordTwinSet(sim::Env& world_a, Agent& agent_a, sim::Env& world_b,
                                        Agent& agent_b, uint64_t seed, int64_t set_id);

}  // namespace darkmatter::agents
