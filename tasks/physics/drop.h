// physics/drop: a red ball, a blue capsule and a green ball fall onto a table or the floor and
// bounce or settle; the yellow zone lies on the floor beside the table.
// Twin set (gravity: support): world A has the table under the red ball's landing point,
// world B has it moved nearer the camera; the impossible members swap the ball (it falls through the table
// / is held up by nothing).
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 20 ms).
std::unique_ptr<sim::Env> MakeDrop(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
