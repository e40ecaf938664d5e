// physics/roll: a red ball, a blue capsule (lying across the slope, rolling like a cylinder)
// and a green ball roll down a tilted ramp onto the floor towards the yellow zone; an
// occluder hides part of the floor path.
// Impossible twin (continuity): the red ball jumps forward while hidden behind the occluder.
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 24 ms).
std::unique_ptr<sim::Env> MakeRoll(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
