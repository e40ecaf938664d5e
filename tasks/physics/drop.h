// physics/drop: a red ball, a blue capsule and a green ball fall onto a table or the floor and
// bounce or settle; the yellow zone lies on the floor beside the table.
// Impossible twin (gravity): the red ball stops in mid-air, without support, on its way down.
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 48 frames of 20 ms).
std::unique_ptr<sim::Env> MakeDrop(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
