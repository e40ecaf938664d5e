// manipulation/pick_place: pick a block up and hold it at a goal position above the table.
// Goal state (3): the block's goal position (m), 5-15 cm above its resting height.
// Success: the block's centre within 3 cm of the goal. Hidden per seed: block mass and
// sliding friction.
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::manipulation {

// Makes the env (see arm_env.h for the action and observation layout).
std::unique_ptr<sim::Env> MakePickPlace(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::manipulation
