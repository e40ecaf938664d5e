// Road geometry: a multi-lane road built from straight and constant-curvature segments,
// sampled every metre, with lane centre lines, widths and headings; projects points onto it
// (arc length s, signed lateral offset d, positive to the left) for lane offset, heading error
// and off-road checks.
#pragma once

#include <span>
#include <vector>

namespace darkmatter::tasks::driving {

struct RoadPose {
  double x = 0, y = 0;    // world position (m)
  double heading = 0;     // direction of travel (rad)
};

class Road {
 public:
  // Builds the road from segment lengths (m) and curvatures (1/m, positive = left turn),
  // starting at the origin heading +x, with `lanes` lanes of `lane_width` metres.
  void Build(std::span<const double> lengths, std::span<const double> curvatures, int lanes,
             double lane_width);

  double Length() const { return length_; }
  int Lanes() const { return lanes_; }
  double LaneWidth() const { return lane_width_; }
  double HalfWidth() const { return 0.5 * lanes_ * lane_width_; }
  // Lateral offset of lane `k`'s centre line (lane 0 is the rightmost).
  double LaneCentre(int k) const { return (k - 0.5 * (lanes_ - 1)) * lane_width_; }
  // Lane containing lateral offset d (clamped to the road's lanes).
  int LaneOf(double d) const;
  // Point at arc length s (clamped to the road) and lateral offset d.
  RoadPose Pose(double s, double d) const;
  // Curvature at arc length s (1/m).
  double Curvature(double s) const;
  // Projects (x, y) onto the centre line: arc length, lateral offset and road heading.
  void Project(double x, double y, double* s, double* d, double* heading) const;

 private:
  std::vector<double> x_, y_, heading_, curvature_;  // (samples) every kSpacing metres
  double length_ = 0;
  int lanes_ = 1;
  double lane_width_ = 3.5;
};

}  // namespace darkmatter::tasks::driving
