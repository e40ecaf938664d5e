// physics/collide: a ball rolls into the red block, which may slide into the yellow zone.
// Twin set (solidity): world A has the block in the ball's path, world B beside it; the
// impossible members swap the ball's trajectory (it passes through the block / stops at
// nothing).
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 20 ms).
std::unique_ptr<sim::Env> MakeCollide(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
