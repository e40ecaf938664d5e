#include "tasks/physics/occlude.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr double kMaxGrowth = 1.45;  // immutability: largest new size / old size

// Param slots (drawn in Layout, read by Violate; they travel in the env state).
constexpr int kChange = 0;  // immutability: 0 colour, 1 size, 2 both
constexpr int kColour = 1;  // index into kNewColours
constexpr int kFactor = 2;  // immutability: new size / old size

// Colours the red box may turn into while hidden (immutability): green, purple.
constexpr std::array<std::array<float, 4>, 2> kNewColours = {{{0.1f, 0.75f, 0.2f, 1.0f},
                                                               {0.6f, 0.2f, 0.85f, 1.0f}}};

class Occlude final : public PhysicsScene {
 public:
  explicit Occlude(const sim::EnvSettings& settings)
      : PhysicsScene({.name = "physics/occlude",
                      .asset = "physics/occlude.xml",
                      .principles = {Principle::kPermanence, Principle::kImmutability}},
                     settings),
        box_(ObjectIndex("red")),
        ball_(ObjectIndex("blue")),
        occluder_(mj_name2id(model(), mjOBJ_GEOM, "occluder")),
        zone_(mj_name2id(model(), mjOBJ_GEOM, "yellow_zone")),
        camera_(mj_name2id(model(), mjOBJ_CAMERA, "main")) {
    Finalize();
  }

 protected:
  void Layout(sim::Rng& rng) override {
    const double half = Draw(rng, 0.05, 0.07, 0.075, 0.09);
    const double box_x = Draw(rng, -1.1, -1.0, -1.1, -1.0);
    const double box_y = Draw(rng, -0.05, 0.05, -0.05, 0.05);
    const double screen_x = Draw(rng, -0.5, -0.4, -0.5, -0.4);
    const double speed = Draw(rng, 2.4, 2.8, 3.0, 3.4);  // m/s towards +x
    const double zone_start = Draw(rng, 0.2, 0.6, 0.2, 0.6);
    const double zone_half_x = Draw(rng, 0.12, 0.2, 0.12, 0.2);
    const double radius = Draw(rng, 0.05, 0.07, 0.075, 0.09);
    const double ball_x = Draw(rng, -0.8, 0.9, -0.8, 0.9);
    const double ball_y = Draw(rng, 0.4, 0.5, 0.4, 0.5);
    const double ball_speed = Draw(rng, -0.4, 0.4, 0.5, 0.7);
    // What the immutability twin changes: 0 colour, 1 size, 2 both; the new colour; the size
    // factor (shrink or grow).
    Param(kChange) = std::min(2, static_cast<int>(Draw(rng, 0, 3, 0, 3)));
    Param(kColour) = Draw(rng, 0, 1, 0, 1) < 0.5 ? 0 : 1;
    const bool grow = Draw(rng, 0, 1, 0, 1) < 0.5;
    const double grow_factor = Draw(rng, 1.3, kMaxGrowth, 1.3, kMaxGrowth);
    const double shrink_factor = Draw(rng, 0.6, 0.75, 0.6, 0.75);
    Param(kFactor) = grow ? grow_factor : shrink_factor;

    Resize(ObjectGeom(box_), {half, half, half});
    Resize(ObjectGeom(ball_), {radius, 0, 0});
    SetPose(box_, {box_x, box_y, half});
    SetVelocity(box_, {speed, 0, 0});  // sliding
    SetPose(ball_, {ball_x, ball_y, radius});
    SetVelocity(ball_, {ball_speed, 0, 0}, {0, ball_speed / radius, 0});  // rolling
    PlaceStatic("screen", {screen_x, -0.3, 0});
    PlaceStatic("zone", {zone_start + zone_half_x, 0, 0});
    Resize(zone_, {zone_half_x, 0.2, 0.0005});
    // Restitution stays low: a sliding box with bouncy contacts hops and tumbles, and bouncy
    // soft contacts are stiff (near 0.8 they gained energy at this time step).
    SetHiddenProperties(box_, Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.2, 0.3, 0.32, 0.4),
                        Draw(rng, 0.05, 0.25, 0.3, 0.4));
    SetHiddenProperties(ball_, Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.3, 1.0, 0.1, 0.3),
                        Draw(rng, 0.1, 0.45, 0.02, 0.08));
    // Inertias of the drawn sizes (Resize keeps the scene file's): a small inertia on a large
    // box makes its corner contacts stiff enough to rock it and throw it off the floor.
    SetInertia(box_, 2.0 / 3.0 * Mass(box_) * half * half);
    SetInertia(ball_, 0.4 * Mass(ball_) * radius * radius);
  }

  // While the whole red box, even grown to its largest new size, is behind the screen (a
  // function of the state alone, the same for both principles).
  bool ViolationDue() const override {
    return Hidden(box_) && FullyHidden(kMaxGrowth * HalfSize());
  }

  void Violate() override {
    if (violation() == Principle::kPermanence) {
      Vanish(box_);
      return;
    }
    const int change = static_cast<int>(Param(kChange));
    if (change != 1) Recolor(ObjectGeom(box_), kNewColours[static_cast<int>(Param(kColour))]);
    if (change != 0) {
      const double old_half = HalfSize(), half = old_half * Param(kFactor);
      Resize(ObjectGeom(box_), {half, half, half});
      Teleport(box_, {0, 0, half - old_half});  // keeps it resting on the floor
    }
  }

 private:
  // Sets object i's principal moments of inertia to `moment` (kg m^2; a cube or a ball).
  void SetInertia(int i, double moment) {
    std::fill_n(scene_model()->body_inertia + 3 * ObjectBody(i), 3, moment);
  }

  // The red box's current half-size (m).
  double HalfSize() const { return model()->geom_size[3 * ObjectGeom(box_)]; }

  // True when every corner of a cube of half-size `half` around the red box's centre (resting
  // on the floor) is behind the screen as seen from camera "main".
  bool FullyHidden(double half) const {
    const mjtNum* cam = data()->cam_xpos + 3 * camera_;
    const mjtNum* centre = data()->geom_xpos + 3 * occluder_;
    const mjtNum* size = model()->geom_size + 3 * occluder_;
    const double front_y = centre[1] - size[1];
    const std::array<double, 3> p = Position(box_);
    for (int corner = 0; corner < 8; ++corner) {
      const double x = p[0] + ((corner & 1) ? half : -half);
      const double y = p[1] + ((corner & 2) ? half : -half);
      const double z = (corner & 4) ? 2 * half : 0.0;
      if (y - cam[1] <= front_y - cam[1]) return false;  // in front of the screen
      const double t = (front_y - cam[1]) / (y - cam[1]);
      const double px = cam[0] + t * (x - cam[0]);
      const double pz = cam[2] + t * (z - cam[2]);
      if (std::abs(px - centre[0]) >= size[0] || pz >= centre[2] + size[2]) return false;
    }
    return true;
  }

  int box_, ball_, occluder_, zone_, camera_;
};

}  // namespace

std::unique_ptr<sim::Env> MakeOcclude(const sim::EnvSettings& settings) {
  return std::make_unique<Occlude>(settings);
}

}  // namespace darkmatter::tasks::physics
