#include "tasks/physics/drop.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "tasks/common/vec3.h"
#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr double kTableHalfY = 0.25;  // m

constexpr double kSupportMargin = 0.01;  // m; world B's table clears the falling ball by this
constexpr double kSupportAhead = 0.1;    // m; and lies this much further towards +x

class Drop final : public PhysicsScene {
 public:
  explicit Drop(const sim::EnvSettings& settings)
      : PhysicsScene({.name = "physics/drop",
                      .asset = "physics/drop.xml",
                      .principles = {Principle::kGravity}},
                     settings),
        ball_(ObjectIndex("red")),
        capsule_(ObjectIndex("blue")),
        other_ball_(ObjectIndex("green")),
        table_(mj_name2id(model(), mjOBJ_GEOM, "table")) {
    Finalize();
  }

 protected:
  void Layout(sim::Rng& rng) override {
    const double table_half_x = Draw(rng, 0.12, 0.25, 0.25, 0.32);
    const double table_half_z = Draw(rng, 0.05, 0.15, 0.15, 0.18);
    const double edge_x = Draw(rng, -0.15, 0.0, -0.15, 0.0);  // the table's edge towards the zone
    const double gap = Draw(rng, 0.05, 0.3, 0.3, 0.5);
    const double zone_half_x = Draw(rng, 0.1, 0.2, 0.06, 0.1);
    PlaceStatic("table", {edge_x - table_half_x, 0, table_half_z});
    Resize(table_, {table_half_x, kTableHalfY, table_half_z});
    PlaceStatic("zone", {edge_x + gap + zone_half_x, 0, 0});
    Resize(mj_name2id(model(), mjOBJ_GEOM, "yellow_zone"), {zone_half_x, 0.3, 0.0005});

    const double radius = Draw(rng, 0.05, 0.08, 0.09, 0.11);
    const double capsule_radius = Draw(rng, 0.03, 0.05, 0.055, 0.07);
    const double capsule_half = Draw(rng, 0.04, 0.08, 0.09, 0.12);
    const double other_radius = Draw(rng, 0.04, 0.065, 0.075, 0.09);
    Resize(ObjectGeom(ball_), {radius, 0, 0});
    Resize(ObjectGeom(capsule_), {capsule_radius, capsule_half, 0});
    Resize(ObjectGeom(other_ball_), {other_radius, 0, 0});

    // Drop points (x, y, height of the lowest point above the table top or the floor) and
    // horizontal velocities; a later object rises until it overlaps none placed before.
    const double top = 2 * table_half_z;
    const double yaw = Draw(rng, 0, M_PI, 0, M_PI);           // capsule axis about z (rad)
    const double tilt = Draw(rng, 0, M_PI / 2, 0, M_PI / 2);  // and from the vertical
    // The capsule's orientation: yaw about z, then tilt about x.
    const std::array<double, 4> capsule_quat = {
        std::cos(yaw / 2) * std::cos(tilt / 2), std::cos(yaw / 2) * std::sin(tilt / 2),
        std::sin(yaw / 2) * std::sin(tilt / 2), std::sin(yaw / 2) * std::cos(tilt / 2)};
    struct Start {
      int object;
      Vec3 pos;
      Vec3 velocity;
    };
    std::array<Start, 3> starts = {{
        {ball_,
         {edge_x + Draw(rng, -0.25, 0.1, -0.25, 0.1), Draw(rng, -0.1, 0.1, -0.1, 0.1),
          top + radius + Draw(rng, 0.15, 0.5, 0.55, 0.75)},
         {Draw(rng, -0.2, 0.7, 0.75, 0.9), Draw(rng, -0.1, 0.1, -0.1, 0.1), 0}},
        {capsule_,
         {edge_x - 2 * table_half_x * Draw(rng, 0.2, 0.8, 0.2, 0.8),
          Draw(rng, -0.12, 0.12, -0.12, 0.12),
          top + capsule_radius + capsule_half + Draw(rng, 0.1, 0.4, 0.45, 0.65)},
         {Draw(rng, -0.3, 0.5, 0.6, 1.0), Draw(rng, -0.1, 0.1, -0.1, 0.1), 0}},
        {other_ball_,
         {edge_x + gap + Draw(rng, 0.0, 0.5, 0.0, 0.5), Draw(rng, 0.15, 0.3, 0.15, 0.3),
          other_radius + Draw(rng, 0.1, 0.5, 0.55, 0.75)},
         {Draw(rng, -0.5, 0.3, -1.0, -0.6), Draw(rng, -0.1, 0.1, -0.1, 0.1), 0}},
    }};
    // Gravity (support) set: the red ball lands on the table (in both worlds; its drop point
    // moves where it would miss it, to land at a drawn share of the table top).
    const double landing_share = Draw(rng, 0.2, 0.8, 0.2, 0.8);
    if (violation() != Principle::kNone &&
        !Supported(starts[0], top + radius, edge_x, table_half_x, radius)) {
      const double landing = edge_x - radius - landing_share * (2 * table_half_x - 2 * radius);
      starts[0].pos[0] += landing - Landing(starts[0], top + radius);
    }
    // The capsule falls beside the red ball (towards the table's far end), not onto it.
    starts[1].pos[0] = std::min(starts[1].pos[0],
                                starts[0].pos[0] - (radius + capsule_radius + capsule_half + 0.05));
    for (int k = 0; k < 3; ++k) {
      const double bound = scene_model()->geom_rbound[ObjectGeom(starts[k].object)];
      for (bool clear = false; !clear; starts[k].pos[2] += clear ? 0.0 : 0.03) {
        clear = true;
        for (int j = 0; j < k; ++j) {
          const double other = scene_model()->geom_rbound[ObjectGeom(starts[j].object)];
          clear = clear && Distance(starts[k].pos, starts[j].pos) > bound + other + 0.01;
        }
      }
      const std::array<double, 4> quat =
          starts[k].object == capsule_ ? capsule_quat : std::array<double, 4>{1, 0, 0, 0};
      SetPose(starts[k].object, starts[k].pos, quat);
      SetVelocity(starts[k].object, starts[k].velocity);
    }
    for (int i : {ball_, capsule_, other_ball_}) {
      SetHiddenProperties(i, Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.2, 0.8, 0.05, 0.15),
                          Draw(rng, 0.1, 0.48, 0.52, 0.6));
    }
    // Support set, world B: the table moved nearer the camera, clear of the ball's fall, and
    // a little towards +x (where the pixel motion of the set balanced best,
    // docs/physics-scenes.md), so the ball falls past behind it to the floor.
    if (violation() != Principle::kNone && world() == 1) {
      const double near_y = std::min(starts[0].pos[1], Landing(starts[0], top + radius, 1));
      const double table_y = near_y - radius - kSupportMargin - kTableHalfY;
      PlaceStatic("table", {edge_x - table_half_x + kSupportAhead, table_y, table_half_z});
    }
  }

  // Member 2: the ball of world B (falling to the floor) in world A, through the table;
  // member 3: the ball of world A (landing on the table) in world B, held up by nothing.
  TwinPlan Plan(Principle) const override {
    return {{TwinRule::Kind::kSwap, {"through-support", "held-by-nothing"}}, {ball_}};
  }

 private:
  // x (axis 0) or y (axis 1), m, where a ball starting at `start`, free, first reaches
  // height `z` (its centre).
  template <typename Start>
  static double Landing(const Start& start, double z, int axis = 0) {
    const double fall = std::max(start.pos[2] - z, 0.0);
    return start.pos[axis] + start.velocity[axis] * std::sqrt(2 * fall / 9.81);
  }
  // True when that landing point lies over the table (edge at x = edge, half length half_x)
  // with the ball's radius to spare.
  template <typename Start>
  static bool Supported(const Start& start, double z, double edge, double half_x, double radius) {
    const double x = Landing(start, z);
    return x < edge - radius && x > edge - 2 * half_x + radius;
  }

  int ball_, capsule_, other_ball_;
  int table_;  // geom
};

}  // namespace

std::unique_ptr<sim::Env> MakeDrop(const sim::EnvSettings& settings) {
  return std::make_unique<Drop>(settings);
}

}  // namespace darkmatter::tasks::physics
