#include "tasks/manipulation/grasp.h"

#include <cmath>

#include "tasks/manipulation/tabletop.h"

namespace darkmatter::tasks::manipulation {
namespace {

constexpr double kAlignTolerance = 0.006;  // m, grip over the block before descending
constexpr double kDescendStep = 0.01;      // m per control step while descending

}  // namespace

ExpertCommand GraspCommand(ArmEnv& env, int object) {
  const Vec3 grip = env.GripPosition(), block = env.ObjectPosition(object);
  const Vec3 above = {block[0], block[1], block[2] + kTravelHeight - kRestHeight};
  ExpertCommand command;
  command.yaw = env.NearestYaw(block, env.ObjectYaw(object), M_PI / 2);
  command.gripper = kGripperOpen;
  const double misalignment = std::hypot(grip[0] - block[0], grip[1] - block[1]);
  switch (env.Phase()) {
    case kGraspAbove:
      command.waypoint = above;
      if (misalignment < kAlignTolerance && std::abs(grip[2] - above[2]) < 0.02) {
        env.SetPhase(kGraspDescend);
      }
      break;
    case kGraspDescend:
      command.waypoint = block;
      command.max_step = kDescendStep;
      if (misalignment > 3 * kAlignTolerance) {
        env.SetPhase(kGraspAbove);
      } else if (Distance(grip, block) < 0.005) {
        env.SetPhase(kGraspClose);
      }
      break;
    default:  // kGraspClose
      command.waypoint = block;
      command.gripper = 0.0;
      if (env.PhaseSteps() >= kCloseSteps) {
        env.SetPhase(kGraspDone);
        env.SetAnchor(block);
      }
      break;
  }
  return command;
}

bool Holding(const ArmEnv& env, int object) {
  const double opening = env.GripperOpening();
  return Distance(env.GripPosition(), env.ObjectPosition(object)) < 0.03 &&
         opening > 0.6 * ArmEnv::kBlockHalf && opening < ArmEnv::kBlockHalf + 0.004;
}

}  // namespace darkmatter::tasks::manipulation
