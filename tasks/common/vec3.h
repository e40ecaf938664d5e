// Points and vectors in 3-D (m, world) shared by the task families.
#pragma once

#include <array>
#include <cmath>

namespace darkmatter::tasks {

using Vec3 = std::array<double, 3>;

// Euclidean distance between two points (m).
inline double Distance(const Vec3& a, const Vec3& b) {
  return std::hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

}  // namespace darkmatter::tasks
