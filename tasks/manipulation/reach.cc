#include "tasks/manipulation/reach.h"

#include <cmath>

#include "tasks/manipulation/arm_env.h"

namespace darkmatter::tasks::manipulation {
namespace {

constexpr double kTolerance = 0.02;  // m, grip site to target
// Targets are drawn uniformly from this box (m), all inside the arm's workspace with the
// gripper pointing down.
constexpr Vec3 kTargetLow = {-0.15, -0.18, 0.03};
constexpr Vec3 kTargetHigh = {0.12, 0.18, 0.25};

class Reach final : public ArmEnv {
 public:
  explicit Reach(const sim::EnvSettings& settings)
      : ArmEnv({.name = "manipulation/reach",
                .asset = "manipulation/reach.xml",
                .objects = {},
                .goal_size = 3,
                .max_episode_steps = 100},
               settings) {
    Finalize();
  }

  bool Success() const override { return GoalDistance() < kTolerance; }
  double Tolerance() const override { return kTolerance; }
  double GoalDistance() const override {
    const Vec3 grip = GripPosition();
    const auto goal = Goal();
    return std::hypot(grip[0] - goal[0], grip[1] - goal[1], grip[2] - goal[2]);
  }

 protected:
  void SampleEpisode(sim::Rng& rng) override {
    std::array<double, 3> target;
    for (int k = 0; k < 3; ++k) target[k] = rng.Uniform(kTargetLow[k], kTargetHigh[k]);
    SetGoal(target);
  }

  double ShapedReward() const override { return -GoalDistance(); }

  ExpertCommand ExpertPlan() override {
    const Vec3 target = {Goal()[0], Goal()[1], Goal()[2]};
    return {.waypoint = target, .yaw = NaturalYaw(target), .gripper = 0.02, .max_step = 0.02};
  }

  // The arm posed by inverse kinematics with its grip site at the target.
  void PoseAtGoal() override {
    const Vec3 target = {Goal()[0], Goal()[1], Goal()[2]};
    auto q = ArmAngles();
    SolveIk(target, NaturalYaw(target), q);
    SetArmAngles(q);
  }
};

}  // namespace

std::unique_ptr<sim::Env> MakeReach(const sim::EnvSettings& settings) {
  return std::make_unique<Reach>(settings);
}

}  // namespace darkmatter::tasks::manipulation
