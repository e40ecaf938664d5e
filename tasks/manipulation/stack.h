// manipulation/stack: put the red block on top of the blue block.
// Goal state (6): the red block's goal position (on the blue block's start position), then
// the blue block's goal position (its start position), m. Success: both blocks within
// 2.5 cm of their goals, the red block released (fingers open wider than the block by 5 mm,
// or the grip site over 4 cm away) and nearly at rest (< 0.1 m/s). Hidden per seed: mass and
// sliding friction of each block.
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::manipulation {

// Makes the env (see arm_env.h for the action and observation layout).
std::unique_ptr<sim::Env> MakeStack(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::manipulation
