#include "tasks/driving/road.h"

#include <algorithm>
#include <cmath>

namespace darkmatter::tasks::driving {
namespace {
constexpr double kSpacing = 1.0;  // metres between samples
}

void Road::Build(std::span<const double> lengths, std::span<const double> curvatures, int lanes,
                 double lane_width) {
  lanes_ = lanes;
  lane_width_ = lane_width;
  x_.assign(1, 0.0);
  y_.assign(1, 0.0);
  heading_.assign(1, 0.0);
  curvature_.clear();
  double x = 0, y = 0, h = 0;
  for (size_t k = 0; k < lengths.size(); ++k) {
    const int n = std::max(1, static_cast<int>(std::lround(lengths[k] / kSpacing)));
    const double kappa = curvatures[k];
    for (int i = 0; i < n; ++i) {
      curvature_.push_back(kappa);
      // Exact arc (or line) over one sample interval.
      if (std::abs(kappa) < 1e-9) {
        x += kSpacing * std::cos(h);
        y += kSpacing * std::sin(h);
      } else {
        const double h2 = h + kappa * kSpacing;
        x += (std::sin(h2) - std::sin(h)) / kappa;
        y -= (std::cos(h2) - std::cos(h)) / kappa;
        h = h2;
      }
      x_.push_back(x);
      y_.push_back(y);
      heading_.push_back(h);
    }
  }
  curvature_.push_back(curvature_.empty() ? 0.0 : curvature_.back());
  length_ = (x_.size() - 1) * kSpacing;
}

int Road::LaneOf(double d) const {
  const int k = static_cast<int>(std::floor(d / lane_width_ + 0.5 * lanes_));
  return std::clamp(k, 0, lanes_ - 1);
}

RoadPose Road::Pose(double s, double d) const {
  if (x_.size() < 2) return {};  // not built yet
  s = std::clamp(s, 0.0, length_);
  const size_t i = std::min(static_cast<size_t>(s / kSpacing), x_.size() - 2);
  const double t = (s - i * kSpacing) / kSpacing;
  const double h = heading_[i] + curvature_[i] * (s - i * kSpacing);
  RoadPose pose;
  pose.x = x_[i] + t * (x_[i + 1] - x_[i]) - std::sin(h) * d;
  pose.y = y_[i] + t * (y_[i + 1] - y_[i]) + std::cos(h) * d;
  pose.heading = h;
  return pose;
}

double Road::Curvature(double s) const {
  if (curvature_.empty()) return 0.0;
  s = std::clamp(s, 0.0, length_);
  return curvature_[std::min(static_cast<size_t>(s / kSpacing), curvature_.size() - 1)];
}

void Road::Project(double x, double y, double* s, double* d, double* heading) const {
  if (x_.size() < 2) {
    *s = *d = *heading = 0;
    return;
  }
  size_t best = 0;
  double best_dist = 1e300;
  for (size_t i = 0; i < x_.size(); ++i) {
    const double dx = x - x_[i], dy = y - y_[i];
    const double dist = dx * dx + dy * dy;
    if (dist < best_dist) {
      best_dist = dist;
      best = i;
    }
  }
  const double c = std::cos(heading_[best]), sn = std::sin(heading_[best]);
  const double dx = x - x_[best], dy = y - y_[best];
  const double along = c * dx + sn * dy;
  *s = std::clamp(best * kSpacing + along, 0.0, length_);
  *d = -sn * dx + c * dy;
  *heading = heading_[best] + curvature_[best] * along;
}

}  // namespace darkmatter::tasks::driving
