// manipulation/reach: move the gripper's grip site to a target point above the table.
// Goal state (3): the target position (m). Success: grip site within 2 cm of the target.
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::manipulation {

// Makes the env (see arm_env.h for the action and observation layout).
std::unique_ptr<sim::Env> MakeReach(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::manipulation
