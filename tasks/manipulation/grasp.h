// The grasping part of the manipulation experts, shared by pick_place and stack: open above
// a block, descend, close, and tell whether the block is held. The grasp is Markov in the
// observation: its command is a function of the grip site, finger opening and speed, and the
// block's pose (no remembered phase), so a clone that sees the observation sees all it needs.
#pragma once

#include <optional>

#include "tasks/manipulation/arm_env.h"

namespace darkmatter::tasks::manipulation {

// Phases of experts that keep a state machine after the grasp (stack); kGraspAbove stands for
// "grasping", tasks number their own phases from kGraspDone on.
enum GraspPhase { kGraspAbove = 0, kGraspDone = 3 };

inline constexpr double kGripperOpen = 0.04;     // m per finger, wider than a block
inline constexpr double kTravelHeight = 0.08;    // m, grip height when moving over the table

// The command that grasps object i from the current observation: rise and open when the
// fingers closed on nothing, close when the grip site is at the block, descend when above
// it, else travel above it. Empty once the block is held and the fingers have settled (the
// caller's next command follows).
std::optional<ExpertCommand> GraspCommand(const ArmEnv& env, int object);
// True when object i sits between the closed fingers.
bool Holding(const ArmEnv& env, int object);

}  // namespace darkmatter::tasks::manipulation
