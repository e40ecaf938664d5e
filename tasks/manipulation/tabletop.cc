#include "tasks/manipulation/tabletop.h"

#include <algorithm>
#include <cmath>

namespace darkmatter::tasks::manipulation {
namespace {

constexpr int kMaxTries = 100;  // rejection-sampling attempts before the fallback

bool Inside(const Region& region, double x, double y) {
  return x >= region.x_low && x <= region.x_high && y >= region.y_low && y <= region.y_high;
}

}  // namespace

Vec3 SampleOnTable(sim::Rng& rng, const Region& region) {
  const double x = rng.Uniform(region.x_low, region.x_high);
  const double y = rng.Uniform(region.y_low, region.y_high);
  return {x, y, kRestHeight};
}

Vec3 SampleGoalNear(sim::Rng& rng, const Vec3& start, double min_distance,
                    double max_distance, const Region& region) {
  for (int attempt = 0; attempt < kMaxTries; ++attempt) {
    const double distance = rng.Uniform(min_distance, max_distance);
    const double angle = rng.Uniform(-M_PI, M_PI);
    const double x = start[0] + distance * std::cos(angle);
    const double y = start[1] + distance * std::sin(angle);
    if (Inside(region, x, y)) return {x, y, kRestHeight};
  }
  const double cx = 0.5 * (region.x_low + region.x_high) - start[0];
  const double cy = 0.5 * (region.y_low + region.y_high) - start[1];
  const double norm = std::max(std::hypot(cx, cy), 1e-9);
  return {start[0] + min_distance * cx / norm, start[1] + min_distance * cy / norm, kRestHeight};
}

std::array<double, 4> YawQuaternion(double yaw) {
  return {std::cos(0.5 * yaw), 0.0, 0.0, std::sin(0.5 * yaw)};
}

BlockGoalEnv::BlockGoalEnv(const BlockGoalSpec& spec, const sim::EnvSettings& settings)
    : ArmEnv({.name = spec.name,
              .asset = spec.asset,
              .objects = {"block_a"},
              .goal_size = 3,
              .max_episode_steps = 150},
             settings),
      spec_(spec) {}

void BlockGoalEnv::SampleEpisode(sim::Rng& rng) {
  const double yaw = rng.Uniform(-M_PI / 4, M_PI / 4);
  const Vec3 start = SampleOnTable(rng, kBlockRegion);
  Vec3 goal = SampleGoalNear(rng, start, spec_.min_distance, spec_.max_distance, kGoalRegion);
  if (spec_.max_lift > 0) goal[2] += rng.Uniform(spec_.min_lift, spec_.max_lift);
  PlaceObject(0, start, YawQuaternion(yaw));
  SetHiddenProperties(0, rng.Uniform(kMassRange[0], kMassRange[1]),
                      rng.Uniform(kFrictionRange[0], kFrictionRange[1]));
  SetGoal(goal, YawQuaternion(yaw));
}

double BlockGoalEnv::ShapedReward() const {
  return -GoalDistance() - 0.5 * Distance(GripPosition(), ObjectPosition(0));
}

double DistanceToGoal(const ArmEnv& env, int object, int offset) {
  const Vec3 position = env.ObjectPosition(object);
  const auto goal = env.Goal();
  return std::hypot(position[0] - goal[offset], position[1] - goal[offset + 1],
                    position[2] - goal[offset + 2]);
}

}  // namespace darkmatter::tasks::manipulation
