// physics/occlude: a red box slides along the floor, passes behind a tall screen (the
// occluder) and normally comes out again; the yellow zone lies beyond the screen; a blue ball
// rolls slowly along a lane behind the path. Impossible twins, both while the red box is fully
// hidden: permanence (it vanishes and never comes out) and immutability (it comes out with
// another colour and/or size; it stays the body "red").
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 20 ms).
std::unique_ptr<sim::Env> MakeOcclude(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
