#include "tasks/manipulation/stack.h"

#include <algorithm>
#include <cmath>

#include "tasks/manipulation/arm_env.h"
#include "tasks/manipulation/grasp.h"
#include "tasks/manipulation/tabletop.h"

namespace darkmatter::tasks::manipulation {
namespace {

constexpr double kTolerance = 0.025;      // m, each block's centre to its goal
constexpr double kRestingSpeed = 0.1;     // m/s, the red block's speed at success
constexpr double kReleaseDistance = 0.04; // m, grip site to red block beyond which it is free
constexpr double kReleaseMargin = 0.005;  // m, finger opening beyond the block's half width
constexpr double kMinSeparation = 0.08;   // m, horizontal distance between the blocks at start
constexpr double kMaxSeparation = 0.2;
constexpr double kClearance = 0.03;       // m, red block's bottom above the blue top in carry
constexpr double kLiftStep = 0.01;        // m per control step while lifting
constexpr double kLowerStep = 0.004;      // m per control step while lowering
constexpr double kAlign = 0.004;          // m, horizontal alignment before lowering

enum Phase {
  kLift = kGraspDone,
  kCarry = kGraspDone + 1,
  kLower = kGraspDone + 2,
  kRelease = kGraspDone + 3,
  kRetreat = kGraspDone + 4,
};

class Stack final : public ArmEnv {
 public:
  explicit Stack(const sim::EnvSettings& settings)
      : ArmEnv({.name = "manipulation/stack",
                .asset = "manipulation/stack.xml",
                .objects = {"block_a", "block_b"},
                .goal_size = 6,
                .max_episode_steps = 200},
               settings) {
    Finalize();
  }

  bool Success() const override {
    if (GoalDistance() >= kTolerance || Gripping()) return false;
    const mjtNum* v = data()->qvel + model()->jnt_dofadr[model()->body_jntadr[ObjectBody(0)]];
    return std::hypot(v[0], v[1], v[2]) < kRestingSpeed;
  }
  double Tolerance() const override { return kTolerance; }
  double GoalDistance() const override {
    return std::max(DistanceToGoal(*this, 0, 0), DistanceToGoal(*this, 1, 3));
  }

  // True while the fingers may still hold the red block: the grip site is near it and the
  // fingers are not open wider than the block (from positions only, so it holds after
  // set_state too).
  bool Gripping() const {
    return Distance(GripPosition(), ObjectPosition(0)) < kReleaseDistance &&
           GripperOpening() < kBlockHalf + kReleaseMargin;
  }

 protected:
  void SampleEpisode(sim::Rng& rng) override {
    const double yaw_a = rng.Uniform(-M_PI / 4, M_PI / 4);
    const double yaw_b = rng.Uniform(-M_PI / 4, M_PI / 4);
    const Vec3 b = SampleOnTable(rng, kBlockRegion);
    const Vec3 a = SampleGoalNear(rng, b, kMinSeparation, kMaxSeparation, kBlockRegion);
    PlaceObject(0, a, YawQuaternion(yaw_a));
    PlaceObject(1, b, YawQuaternion(yaw_b));
    for (int i = 0; i < 2; ++i) {
      SetHiddenProperties(i, rng.Uniform(kMassRange[0], kMassRange[1]),
                          rng.Uniform(kFrictionRange[0], kFrictionRange[1]));
    }
    const double goal[6] = {b[0], b[1], b[2] + 2 * kBlockHalf, b[0], b[1], b[2]};
    SetGoal(goal, YawQuaternion(yaw_a));
  }

  double ShapedReward() const override {
    return -DistanceToGoal(*this, 0, 0) - DistanceToGoal(*this, 1, 3) -
           0.5 * Distance(GripPosition(), ObjectPosition(0));
  }

  // The blue block rests where it started, under the red one.
  void GoalPose(int i, Vec3* pos, std::array<double, 4>* quat) const override {
    ArmEnv::GoalPose(i, pos, quat);
    if (i == 1) *quat = ObjectQuaternion(1);
  }

  // Grasp the red block, lift it over the blue one, lower it on top, release and back off;
  // grasp again when the block was lost or ended up off target.
  ExpertCommand ExpertPlan() override {
    if (Phase() < kGraspDone) {
      if (auto grasp = GraspCommand(*this, 0)) return *grasp;
      SetPhase(kLift);
      SetAnchor(ObjectPosition(0));
    }
    const Vec3 grip = GripPosition(), a = ObjectPosition(0), b = ObjectPosition(1);
    const Vec3 offset = {grip[0] - a[0], grip[1] - a[1], grip[2] - a[2]};  // block in hand
    const double carry_height = b[2] + 3 * kBlockHalf + kClearance + offset[2];
    ExpertCommand command;
    command.yaw = NearestYaw(grip, ObjectYaw(0), M_PI / 2);
    command.gripper = 0.0;
    const bool carrying = Phase() == kLift || Phase() == kCarry || Phase() == kLower;
    if (carrying && !Holding(*this, 0)) {
      SetPhase(kGraspAbove);
      command.waypoint = {grip[0], grip[1], kTravelHeight};
      command.gripper = kGripperOpen;
      return command;
    }
    switch (Phase()) {
      case kLift:
        command.waypoint = {Anchor()[0], Anchor()[1], carry_height};
        command.max_step = kLiftStep;
        if (grip[2] > carry_height - 0.01) SetPhase(kCarry);
        break;
      case kCarry:
        command.waypoint = {b[0] + offset[0], b[1] + offset[1], carry_height};
        if (std::hypot(a[0] - b[0], a[1] - b[1]) < kAlign) SetPhase(kLower);
        break;
      case kLower: {
        const double on_top = b[2] + 2 * kBlockHalf + 0.002;
        command.waypoint = {b[0] + offset[0], b[1] + offset[1], on_top + offset[2]};
        command.max_step = kLowerStep;
        if (a[2] < on_top + 0.002 || PhaseSteps() > 40) SetPhase(kRelease);
        break;
      }
      case kRelease:
        command.waypoint = grip;
        command.gripper = kGripperOpen;
        if (GripperOpening() > kBlockHalf + 0.008) SetPhase(kRetreat);
        break;
      default: {  // kRetreat; grasp again if the block did not end up on target
        const double retreat_height = b[2] + 4 * kBlockHalf + kClearance;
        command.waypoint = {grip[0], grip[1], retreat_height};
        command.gripper = kGripperOpen;
        if (grip[2] > retreat_height - 0.005) SetPhase(kGraspAbove);
        break;
      }
    }
    return command;
  }
};

}  // namespace

std::unique_ptr<sim::Env> MakeStack(const sim::EnvSettings& settings) {
  return std::make_unique<Stack>(settings);
}

}  // namespace darkmatter::tasks::manipulation
