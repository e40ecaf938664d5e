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
constexpr double kLifted = kRestHeight + 0.035;        // m, block height where carrying starts
constexpr double kOverGoal = 0.02;                     // m, block to goal (horizontal) to skip lifting

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
  // the block was lost. Markov in the observation: no remembered phase.
  ExpertCommand ExpertPlan() override {
    if (auto grasp = GraspCommand(*this, 0)) return *grasp;
    const Vec3 grip = GripPosition(), block = ObjectPosition(0);
    const Vec3 goal = {Goal()[0], Goal()[1], Goal()[2]};
    ExpertCommand command;
    command.yaw = NearestYaw(grip, ObjectYaw(0), M_PI / 2);
    command.gripper = 0.0;
    if (block[2] < kLifted && std::hypot(block[0] - goal[0], block[1] - goal[1]) > kOverGoal) {
      command.waypoint = {grip[0], grip[1], std::max(goal[2], kTravelHeight)};  // lift
      command.max_step = kLiftStep;
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
