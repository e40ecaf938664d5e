// physics/roll: a red ball, a blue capsule (lying across the slope, rolling like a cylinder)
// and a green ball roll down a tilted ramp onto the floor towards the yellow zone; an
// occluder hides part of the floor path.
// Twin set (continuity): world B's red ball starts further down the ramp; spliced while the
// ball is hidden in both worlds, it jumps ahead / back behind the occluder.
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 24 ms).
std::unique_ptr<sim::Env> MakeRoll(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
