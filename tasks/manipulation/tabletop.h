// Helpers shared by the manipulation tasks with blocks: where blocks and goals are drawn,
// hidden-property ranges, poses and distances.
#pragma once

#include <array>

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
// Euclidean distance (m).
double Distance(const Vec3& a, const Vec3& b);
// Distance (m) from object i to the goal position stored at goal[offset .. offset + 2].
double DistanceToGoal(const ArmEnv& env, int object, int offset);

}  // namespace darkmatter::tasks::manipulation
