// physics/stack: a tower of 2-4 boxes, the red one on top, may topple onto the yellow zone.
// The red block is dropped onto the tower from a few centimetres. Twin set (gravity: support):
// world B has the tower moved aside; the impossible members swap the red block (it falls
// through the tower / is held up by nothing).
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 20 ms). Episode labels add `stable`
// (1 when no block of the tower moved more than 3 cm) and `blocks` (2-4).
std::unique_ptr<sim::Env> MakeStack(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
