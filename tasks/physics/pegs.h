// physics/pegs: uncertain futures. A red ball is dropped onto the apex of a peg (a cylinder
// lying along y, on a post that splits the floor into a left and a right bin); a hidden
// horizontal offset of its start, uniform in ±1 mm (far below pixel resolution), decides on
// which side it falls. The yellow zone is the floor of the right bin. Episode label
// "outcome": 0 = the ball ends left of the post, 1 = right. Twin set (gravity: support):
// world B has the rig moved aside; the impossible members swap the ball (it falls through
// the peg / bounces off nothing above the floor).
#pragma once

#include <memory>
#include <vector>

#include "sim/env.h"

namespace darkmatter::tasks::physics {

// Makes the scene (passive: no actions; 64 frames of 20 ms).
std::unique_ptr<sim::Env> MakePegs(const sim::EnvSettings& settings);

// Declared distribution of the "outcome" label, {P(left), P(right)} = {0.5, 0.5}: the scene
// (peg, post, walls, bin floors, floor) is mirror-symmetric about the post, the ball starts at
// rest, and its offset is drawn from a distribution symmetric about zero and independent of
// everything visible, so left and right are equally likely on every visible layout. (Seeds
// 0-199 give 86 right on either split, inside the 99% binomial interval 82-118; the test
// checks this.)
std::vector<double> PegsOutcomeDistribution();

}  // namespace darkmatter::tasks::physics
