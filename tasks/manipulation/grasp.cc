#include "tasks/manipulation/grasp.h"

#include <cmath>

#include "tasks/manipulation/tabletop.h"

namespace darkmatter::tasks::manipulation {
namespace {

constexpr double kDescendAlign = 0.008;   // m, grip over the block before descending
constexpr double kCloseAlign = 0.018;     // m, misalignment that aborts a closing grasp
constexpr double kDescendStep = 0.01;     // m per control step while descending
constexpr double kAtBlock = 0.005;        // m, grip site to block centre where closing starts
constexpr double kClosingReach = 0.015;   // m, grip to block within which closing continues
constexpr double kOpenSlack = 0.004;      // m, fingers this far inside kGripperOpen are closing
constexpr double kSettledSpeed = 0.01;    // m/s, finger speed of a finished grasp

}  // namespace

std::optional<ExpertCommand> GraspCommand(const ArmEnv& env, int object) {
  const Vec3 grip = env.GripPosition(), block = env.ObjectPosition(object);
  const double misalignment = std::hypot(grip[0] - block[0], grip[1] - block[1]);
  const double reach = Distance(grip, block);
  const bool closing = env.GripperOpening() < kGripperOpen - kOpenSlack;
  if (closing && Holding(env, object) && env.GripperSpeed() < kSettledSpeed) return std::nullopt;
  ExpertCommand command;
  command.yaw = env.NearestYaw(block, env.ObjectYaw(object), M_PI / 2);
  command.gripper = kGripperOpen;
  if (reach < kAtBlock || (closing && reach < kClosingReach && misalignment < kCloseAlign)) {
    command.waypoint = block;  // close on the block
    command.gripper = 0.0;
    command.max_step = kDescendStep;
  } else if (closing && reach < 2 * kTravelHeight) {
    command.waypoint = {grip[0], grip[1], kTravelHeight};  // missed: open while rising
  } else if (misalignment < kDescendAlign) {
    command.waypoint = block;
    command.max_step = kDescendStep;
  } else {
    command.waypoint = {block[0], block[1], block[2] + kTravelHeight - kRestHeight};
  }
  return command;
}

bool Holding(const ArmEnv& env, int object) {
  const double opening = env.GripperOpening();
  return Distance(env.GripPosition(), env.ObjectPosition(object)) < 0.03 &&
         opening > 0.6 * ArmEnv::kBlockHalf && opening < ArmEnv::kBlockHalf + 0.004;
}

}  // namespace darkmatter::tasks::manipulation
