// physics/occlude: a red box slides along the floor, passes behind a tall screen (the
// occluder) and normally comes out again; the yellow zone lies beyond the screen; a blue ball
// rolls slowly along a lane behind the path. Twin sets, spliced while the box is fully hidden:
// permanence (world B has no box: it vanishes / appears from nowhere) and immutability (world
// B's box has another colour and/or footprint: it changes / changes back; it stays the body
// "red").
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 20 ms).
std::unique_ptr<sim::Env> MakeOcclude(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
