// physics/collide: a ball rolls into the red block, which may slide into the yellow zone.
// Impossible twin (solidity): the ball passes through the block.
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 20 ms).
std::unique_ptr<sim::Env> MakeCollide(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
