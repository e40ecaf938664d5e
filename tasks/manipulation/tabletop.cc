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

double Distance(const Vec3& a, const Vec3& b) {
  return std::hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

double DistanceToGoal(const ArmEnv& env, int object, int offset) {
  const Vec3 position = env.ObjectPosition(object);
  const auto goal = env.Goal();
  return std::hypot(position[0] - goal[offset], position[1] - goal[offset + 1],
                    position[2] - goal[offset + 2]);
}

}  // namespace darkmatter::tasks::manipulation
