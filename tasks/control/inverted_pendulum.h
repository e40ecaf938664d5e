// control/inverted_pendulum: keep a pole upright on a cart (Gymnasium InvertedPendulum
// semantics): reward 1 per step, terminated when |pole angle| > 0.2 rad.
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::control {

// Makes the env; obs = (cart x, pole angle, cart xdot, pole angular velocity),
// action = cart force in [-3, 3] (x100 N through the motor gear).
std::unique_ptr<sim::Env> MakeInvertedPendulum(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::control
