// Driving tasks on the Bullet backend (see docs/driving.md).
#pragma once

#include <memory>

#include "sim/env.h"

namespace darkmatter::tasks::driving {

// Follow a winding two-lane road at a target speed among 10 IDM traffic cars.
std::unique_ptr<sim::Env> MakeLaneKeep(const sim::EnvSettings& settings);
// Follow a lead car that brakes hard, or a car that cuts in, without a collision.
std::unique_ptr<sim::Env> MakeFollow(const sim::EnvSettings& settings);
// Pass static obstacles and slow cars on a three-lane road by changing lanes.
std::unique_ptr<sim::Env> MakeAvoid(const sim::EnvSettings& settings);
// A pedestrian hidden by a parked van steps out and crosses in front of the ego.
std::unique_ptr<sim::Env> MakeOccludedPedestrian(const sim::EnvSettings& settings);

}  // namespace darkmatter::tasks::driving
