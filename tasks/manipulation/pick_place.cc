#include "tasks/manipulation/pick_place.h"

#include <algorithm>
#include <cmath>

#include "tasks/manipulation/arm_env.h"
#include "tasks/manipulation/grasp.h"
#include "tasks/manipulation/tabletop.h"

namespace darkmatter::tasks::manipulation {
namespace {

constexpr double kMinCarry = 0.05, kMaxCarry = 0.18;   // m, horizontal start-to-goal distance
constexpr double kMinLift = 0.05, kMaxLift = 0.15;     // m, goal height above resting

constexpr double kLiftStep = 0.01;                     // m per control step while lifting

enum Phase { kLift = kGraspDone, kCarry = kGraspDone + 1 };

class PickPlace final : public BlockGoalEnv {
 public:
  explicit PickPlace(const sim::EnvSettings& settings)
      : BlockGoalEnv({.name = "manipulation/pick_place",
                      .asset = "manipulation/pick_place.xml",
                      .min_distance = kMinCarry,
                      .max_distance = kMaxCarry,
                      .min_lift = kMinLift,
                      .max_lift = kMaxLift},
                     settings) {
    Finalize();
  }

 protected:
  // Grasp from above, lift, carry the block to the goal and hold it there; grasp again when
  // the block was lost.
  ExpertCommand ExpertPlan() override {
    if (Phase() < kGraspDone) return GraspCommand(*this, 0);
    const Vec3 grip = GripPosition(), block = ObjectPosition(0);
    const Vec3 goal = {Goal()[0], Goal()[1], Goal()[2]};
    ExpertCommand command;
    command.yaw = NearestYaw(grip, ObjectYaw(0), M_PI / 2);
    command.gripper = 0.0;
    if (!Holding(*this, 0)) {
      SetPhase(kGraspAbove);
      command.waypoint = {grip[0], grip[1], kTravelHeight};
      command.gripper = kGripperOpen;
      return command;
    }
    const double lift_height = std::max(goal[2], kTravelHeight);
    if (Phase() == kLift) {
      command.waypoint = {Anchor()[0], Anchor()[1], lift_height};
      command.max_step = kLiftStep;
      if (grip[2] > lift_height - 0.01) SetPhase(kCarry);
      return command;
    }
    // Carry: aim the block (not the grip site) at the goal.
    for (int k = 0; k < 3; ++k) command.waypoint[k] = goal[k] + grip[k] - block[k];
    command.max_step = 0.015;
    return command;
  }
};

}  // namespace

std::unique_ptr<sim::Env> MakePickPlace(const sim::EnvSettings& settings) {
  return std::make_unique<PickPlace>(settings);
}

}  // namespace darkmatter::tasks::manipulation
