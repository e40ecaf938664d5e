// physics/dominoes: a pushed chain of 3-6 dominoes whose last one, red, may fall onto the
// yellow zone beyond the chain. Twin set (solidity): in world B the domino after a drawn
// pusher stands aside; the impossible members swap the pusher's fall (it falls through the
// next domino / stops against nothing).
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 72 frames of 20 ms, so that a chain of six has time
// to finish). Episode labels add `completed` (1 when the last, red domino fell: tilted more
// than 45 degrees) and `dominoes` (3-6).
std::unique_ptr<sim::Env> MakeDominoes(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::physics
