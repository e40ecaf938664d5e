#include "tasks/physics/roll.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "tasks/common/vec3.h"
#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr double kRampHalfLength = 0.25;     // m, along the slope
constexpr double kRampHalfWidth = 0.35;      // m, across it
constexpr double kRampHalfThickness = 0.02;  // m
constexpr double kDegree = M_PI / 180.0;

// a x + y.
Vec3 Axpy(double a, const Vec3& x, const Vec3& y) {
  return {a * x[0] + y[0], a * x[1] + y[1], a * x[2] + y[2]};
}

class Roll final : public PhysicsScene {
 public:
  explicit Roll(const sim::EnvSettings& settings)
      : PhysicsScene({.name = "physics/roll",
                      .asset = "physics/roll.xml",
                      .principles = {Principle::kContinuity},
                      .frame_skip = 12},
                     settings),
        ball_(ObjectIndex("red")),
        capsule_(ObjectIndex("blue")),
        other_ball_(ObjectIndex("green")),
        occluder_(mj_name2id(model(), mjOBJ_GEOM, "occluder")) {
    Finalize();
  }

 protected:
  void Layout(sim::Rng& rng) override {
    const double slope = Draw(rng, 10, 30, 30, 40) * kDegree;
    const double foot_x = Draw(rng, -0.55, -0.45, -0.55, -0.45);
    const double screen_x = foot_x + Draw(rng, 0.2, 0.3, 0.2, 0.3);
    const double screen_half_x = Draw(rng, 0.09, 0.15, 0.09, 0.15);
    const double zone_x = screen_x + Draw(rng, 0.3, 0.8, 0.3, 0.8);
    const double zone_half_x = Draw(rng, 0.1, 0.2, 0.1, 0.2);
    const double zone_y = Draw(rng, -0.3, 0.3, -0.3, 0.3);
    const double zone_half_y = Draw(rng, 0.1, 0.2, 0.1, 0.2);
    // Down-slope direction u and surface normal n of a ramp tilted about +y; the top
    // surface meets the floor at (foot_x, 0, 0).
    const Vec3 u = {std::cos(slope), 0, -std::sin(slope)};
    const Vec3 n = {std::sin(slope), 0, std::cos(slope)};
    const Vec3 foot = {foot_x, 0, 0};
    const Vec3 centre = Axpy(-kRampHalfThickness, n, Axpy(-kRampHalfLength, u, foot));
    PlaceStatic("ramp", centre, {std::cos(slope / 2), 0, std::sin(slope / 2), 0});
    Resize(mj_name2id(model(), mjOBJ_GEOM, "ramp"),
           {kRampHalfLength, kRampHalfWidth, kRampHalfThickness});
    PlaceStatic("screen", {screen_x, -0.4, 0.25});
    Resize(occluder_, {screen_half_x, 0.01, 0.25});
    PlaceStatic("zone", {zone_x, zone_y, 0});
    Resize(mj_name2id(model(), mjOBJ_GEOM, "yellow_zone"), {zone_half_x, zone_half_y, 0.0005});

    const double radius = Draw(rng, 0.05, 0.075, 0.085, 0.1);
    const double capsule_radius = Draw(rng, 0.045, 0.07, 0.08, 0.095);
    const double capsule_half = Draw(rng, 0.04, 0.07, 0.08, 0.1);
    const double other_radius = Draw(rng, 0.04, 0.065, 0.075, 0.09);
    Resize(ObjectGeom(ball_), {radius, 0, 0});
    Resize(ObjectGeom(capsule_), {capsule_radius, capsule_half, 0});
    Resize(ObjectGeom(other_ball_), {other_radius, 0, 0});

    // Starts on the ramp (distance from its top edge along the slope, lane across it, speed
    // down the slope, rolling): the capsule near the top, in about the red ball's lane and
    // faster, so that it may catch up with it and push it; the red ball mid-ramp in the middle
    // lane; the green ball in a side lane clear of the red ball's. Each moves down-slope until
    // it overlaps none of those placed before it.
    const double red_lane = Draw(rng, -0.04, 0.04, -0.04, 0.04);
    const std::array<int, 3> order = {capsule_, ball_, other_ball_};
    const std::array<double, 3> radii = {capsule_radius, radius, other_radius};
    std::array<double, 3> along = {Draw(rng, 0.0, 0.05, 0.0, 0.05),
                                   Draw(rng, 0.12, 0.25, 0.12, 0.25),
                                   Draw(rng, 0.0, 0.3, 0.0, 0.3)};
    // Continuity set: world B's red ball starts further down the slope (ahead on its path).
    const double ahead = Draw(rng, 0.06, 0.12, 0.06, 0.12);
    if (world() == 1) along[1] += ahead;
    const double side = Draw(rng, -1, 1, -1, 1) < 0 ? -1.0 : 1.0;
    const double clearance = side * red_lane + radius + other_radius + 0.01;  // green vs red
    const std::array<double, 3> lanes = {
        red_lane + Draw(rng, -0.06, 0.06, -0.06, 0.06), red_lane,
        side * std::max(Draw(rng, 0.14, 0.2, 0.14, 0.2), clearance)};
    std::array<double, 3> speeds = {Draw(rng, 0.3, 0.9, 1.0, 1.4),
                                    Draw(rng, 0.2, 0.6, 0.7, 1.0),
                                    Draw(rng, 0.0, 0.6, 0.7, 1.1)};
    // In twin-set worlds the capsule starts at most half as fast as the red ball: rolling
    // (and accelerating) slower, it never catches up with it, so the two worlds differ in
    // the red ball alone.
    if (violation() != Principle::kNone) speeds[0] = std::min(speeds[0], 0.5 * speeds[1]);
    const double heading = Draw(rng, -0.08, 0.08, -0.08, 0.08);  // rad, red ball, across
    const Vec3 top = Axpy(-2 * kRampHalfLength, u, foot);
    std::array<Vec3, 3> placed{};
    for (int k = 0; k < 3; ++k) {
      const double bound = scene_model()->geom_rbound[ObjectGeom(order[k])];
      for (double s = along[k];; s += 0.02) {
        placed[k] = Axpy(radii[k], n, Axpy(s + radii[k], u, top));
        placed[k][1] = lanes[k];
        bool clear = true;
        for (int j = 0; j < k; ++j) {
          const double other = scene_model()->geom_rbound[ObjectGeom(order[j])];
          clear = clear && Distance(placed[k], placed[j]) > bound + other + 0.01;
        }
        if (clear) break;
      }
      SetPose(order[k], placed[k]);
      const double across = order[k] == ball_ ? std::sin(heading) : 0.0;
      const Vec3 v = {speeds[k] * u[0], speeds[k] * across, speeds[k] * u[2]};
      const Vec3 w = {(n[1] * v[2] - n[2] * v[1]) / radii[k],  // n x v / r: rolling
                      (n[2] * v[0] - n[0] * v[2]) / radii[k],
                      (n[0] * v[1] - n[1] * v[0]) / radii[k]};
      SetVelocity(order[k], v, w);
    }
    for (int i : order) {
      SetHiddenProperties(i, Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.1, 0.8, 0.02, 0.08),
                          Draw(rng, 0.1, 0.48, 0.52, 0.6));
    }
  }

  // Spliced while the red ball is hidden in both worlds (and all else the same): member 2
  // jumps ahead (world A, then B's ball further on), member 3 back.
  TwinPlan Plan(Principle) const override {
    return {{TwinRule::Kind::kSplice, {"jump-ahead", "jump-back"}}, {ball_}};
  }

 private:
  int ball_, capsule_, other_ball_;
  int occluder_;  // geom
};

}  // namespace

std::unique_ptr<sim::Env> MakeRoll(const sim::EnvSettings& settings) {
  return std::make_unique<Roll>(settings);
}

}  // namespace darkmatter::tasks::physics
