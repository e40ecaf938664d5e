// physics/stack: a tower of 2-4 boxes, the red one on top, may topple onto the yellow zone.
// Impossible twin (gravity): the red block hovers once it has lost all support.
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 20 ms). Episode labels add `stable`
// (1 when no block of the tower moved more than 3 cm) and `blocks` (2-4).
std::unique_ptr<sim::Env> MakeStack(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
