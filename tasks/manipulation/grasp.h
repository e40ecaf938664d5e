// The grasping part of the manipulation experts, shared by pick_place and stack: open above
// a block, descend, close, and tell whether the block is held.
#pragma once

#include "tasks/manipulation/arm_env.h"

namespace darkmatter::tasks::manipulation {

// Expert phases of the grasp; tasks number their own phases from kGraspDone on.
enum GraspPhase { kGraspAbove = 0, kGraspDescend = 1, kGraspClose = 2, kGraspDone = 3 };

inline constexpr double kGripperOpen = 0.04;     // m per finger, wider than a block
inline constexpr double kTravelHeight = 0.08;    // m, grip height when moving over the table
inline constexpr int kCloseSteps = 10;           // control steps to close the fingers

// The command for the grasp phases (Phase() < kGraspDone) on object i; advances the phase
// and, once the fingers are closed, anchors the expert at the grasp point.
ExpertCommand GraspCommand(ArmEnv& env, int object);
// True when object i sits between the closed fingers.
bool Holding(const ArmEnv& env, int object);

}  // namespace darkmatter::tasks::manipulation
