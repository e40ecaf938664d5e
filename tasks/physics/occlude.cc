#include "tasks/physics/occlude.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr double kMaxGrowth = 1.45;  // immutability: largest footprint scale of world B

// Colours of world B's box in the immutability set: green, purple.
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
        zone_(mj_name2id(model(), mjOBJ_GEOM, "yellow_zone")) {
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
    // How world B's box differs in the immutability set: 0 colour, 1 footprint, 2 both; the
    // colour; the footprint scale (smaller or larger; the height stays, so it slides alike).
    const int change = std::min(2, static_cast<int>(Draw(rng, 0, 3, 0, 3)));
    const int colour = Draw(rng, 0, 1, 0, 1) < 0.5 ? 0 : 1;
    const bool grow = Draw(rng, 0, 1, 0, 1) < 0.5;
    const double grow_factor = Draw(rng, 1.3, kMaxGrowth, 1.3, kMaxGrowth);
    const double shrink_factor = Draw(rng, 0.6, 0.75, 0.6, 0.75);
    const double factor = grow ? grow_factor : shrink_factor;

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
    if (world() == 0) return;
    if (violation() == Principle::kPermanence) {  // world B: no box (it moves unseen, alone)
      MakeGhost(box_);
      return;
    }
    if (change != 1) Recolor(ObjectGeom(box_), kNewColours[colour]);
    if (change != 0) {
      Resize(ObjectGeom(box_), {half * factor, half * factor, half});
      SetInertia(box_, 2.0 / 3.0 * Mass(box_) * half * half);  // the same as world A's
    }
  }

  // Spliced while the box is hidden in both worlds: member 2 is world A until then and
  // world B after (the box vanishes / changes), member 3 the other way round (it appears
  // from nowhere / changes back).
  TwinPlan Plan(Principle principle) const override {
    if (principle == Principle::kPermanence) {
      return {{TwinRule::Kind::kSplice, {"vanish", "appear"}}, {box_}};
    }
    return {{TwinRule::Kind::kSplice, {"change", "change-back"}}, {box_}};
  }

 private:
  // Sets object i's principal moments of inertia to `moment` (kg m^2; a cube or a ball).
  void SetInertia(int i, double moment) {
    std::fill_n(scene_model()->body_inertia + 3 * ObjectBody(i), 3, moment);
  }

  int box_, ball_, zone_;
};

}  // namespace

std::unique_ptr<sim::Env> MakeOcclude(const sim::EnvSettings& settings) {
  return std::make_unique<Occlude>(settings);
}

}  // namespace darkmatter::tasks::physics
