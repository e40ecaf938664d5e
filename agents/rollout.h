// Recording episodes: run an agent in an env and keep everything an episode file stores.
#pragma once

#include <cstdint>

#include "agents/agent.h"
#include "sim/env.h"
#include "sim/episode.h"

namespace darkmatter::agents {

// Runs one episode from Reset(seed) until terminated or truncated, recording observations,
// applied (clipped) actions, rewards, flags, infos, full states and RNG states.
sim::Episode RecordEpisode(sim::Env& env, Agent& agent, uint64_t seed);

}  // namespace darkmatter::agents
