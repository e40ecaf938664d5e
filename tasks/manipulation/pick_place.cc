#include "tasks/manipulation/pick_place.h"

#include <algorithm>
#include <cmath>

#include "tasks/manipulation/arm_env.h"
#include "tasks/manipulation/grasp.h"
#include "tasks/manipulation/tabletop.h"

namespace darkmatter::tasks::manipulation {
namespace {

constexpr double kTolerance = 0.03;                    // m, block centre to goal
constexpr double kMinCarry = 0.05, kMaxCarry = 0.18;   // m, horizontal start-to-goal distance
constexpr double kMinLift = 0.05, kMaxLift = 0.15;     // m, goal height above resting

constexpr double kLiftStep = 0.01;                     // m per control step while lifting

enum Phase { kLift = kGraspDone, kCarry = kGraspDone + 1 };

class PickPlace final : public ArmEnv {
 public:
  explicit PickPlace(const sim::EnvSettings& settings)
      : ArmEnv({.name = "manipulation/pick_place",
                .asset = "manipulation/pick_place.xml",
                .objects = {"block_a"},
                .goal_size = 3,
                .max_episode_steps = 150},
               settings) {
    Finalize();
  }

  bool Success() const override { return GoalDistance() < kTolerance; }
  double Tolerance() const override { return kTolerance; }
  double GoalDistance() const override { return DistanceToGoal(*this, 0, 0); }

 protected:
  void SampleEpisode(sim::Rng& rng) override {
    const double yaw = rng.Uniform(-M_PI / 4, M_PI / 4);
    const Vec3 start = SampleOnTable(rng, kBlockRegion);
    Vec3 goal = SampleGoalNear(rng, start, kMinCarry, kMaxCarry, kGoalRegion);
    goal[2] += rng.Uniform(kMinLift, kMaxLift);
    PlaceObject(0, start, YawQuaternion(yaw));
    SetHiddenProperties(0, rng.Uniform(kMassRange[0], kMassRange[1]),
                        rng.Uniform(kFrictionRange[0], kFrictionRange[1]));
    SetGoal(goal, YawQuaternion(yaw));
  }

  double ShapedReward() const override {
    return -GoalDistance() - 0.5 * Distance(GripPosition(), ObjectPosition(0));
  }

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
