// Helpers shared by the manipulation tasks with blocks: where blocks and goals are drawn,
// hidden-property ranges, poses and distances, and the base of the one-block goal tasks.
#pragma once

#include <array>
#include <string>

#include "sim/rng.h"
#include "tasks/manipulation/arm_env.h"

namespace darkmatter::tasks::manipulation {

// An axis-aligned rectangle on the table (m, world).
struct Region {
  double x_low, x_high;  // m
  double y_low, y_high;  // m
};

// Block start positions: reachable from above and from every side for pushing.
inline constexpr Region kBlockRegion = {-0.10, 0.08, -0.12, 0.12};
// Goal positions on the table (a little larger than kBlockRegion).
inline constexpr Region kGoalRegion = {-0.12, 0.10, -0.15, 0.15};
// Hidden properties drawn per seed: block mass (kg) and sliding friction.
inline constexpr std::array<double, 2> kMassRange = {0.05, 0.5};
inline constexpr std::array<double, 2> kFrictionRange = {0.3, 1.0};
// Height of a resting block's centre (m; a small gap avoids a face-on-face start).
inline constexpr double kRestHeight = ArmEnv::kBlockHalf + 0.0005;

// A resting block position drawn uniformly from `region`.
Vec3 SampleOnTable(sim::Rng& rng, const Region& region);
// A resting position in `region` at a distance in [min_distance, max_distance] from
// `start` (rejection sampling; falls back to a point towards the region's centre).
Vec3 SampleGoalNear(sim::Rng& rng, const Vec3& start, double min_distance,
                    double max_distance, const Region& region);
// The quaternion (w, x, y, z) of a rotation by `yaw` (rad) about the vertical.
std::array<double, 4> YawQuaternion(double yaw);
// Distance (m) from object i to the goal position stored at goal[offset .. offset + 2].
double DistanceToGoal(const ArmEnv& env, int object, int offset);

// What a one-block goal task declares: its name and scene, how far (horizontally) the goal
// lies from the block's start, and how high above the block's resting height (no lift drawn
// when max_lift is 0: the goal is on the table).
struct BlockGoalSpec {
  std::string name;                   // "manipulation/<task>"
  std::string asset;                  // scene file under assets/
  double min_distance, max_distance;  // m, start to goal
  double min_lift = 0, max_lift = 0;  // m, goal above resting
};

// Base of the tasks that bring one block ("block_a") to a goal position (goal state: 3
// doubles, the block's goal position; 150 control steps): push, pick_place. Success: the
// block's centre within kTolerance of the goal.
class BlockGoalEnv : public ArmEnv {
 public:
  static constexpr double kTolerance = 0.03;  // m, block centre to goal

  bool Success() const override { return GoalDistance() < kTolerance; }
  double Tolerance() const override { return kTolerance; }
  double GoalDistance() const override { return DistanceToGoal(*this, 0, 0); }

 protected:
  // Loads the task's scene; the task calls Finalize() after.
  BlockGoalEnv(const BlockGoalSpec& spec, const sim::EnvSettings& settings);

  // Draws the block's yaw and start, the goal near it (then its lift), mass and friction;
  // the goal marker takes the block's yaw.
  void SampleEpisode(sim::Rng& rng) override;
  // Minus the block's distance to the goal and half the grip site's distance to the block.
  double ShapedReward() const override;

 private:
  BlockGoalSpec spec_;
};

}  // namespace darkmatter::tasks::manipulation
