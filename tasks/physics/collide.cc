#include "tasks/physics/collide.h"

#include <cmath>

#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr double kAheadRadii = 3.0;  // solidity set: world B's block lies this far further on

class Collide final : public PhysicsScene {
 public:
  explicit Collide(const sim::EnvSettings& settings)
      : PhysicsScene({.name = "physics/collide",
                      .asset = "physics/collide.xml",
                      .principles = {Principle::kSolidity}},
                     settings),
        ball_(ObjectIndex("ball")),
        block_(ObjectIndex("red")) {
    Finalize();
  }

 protected:
  void Layout(sim::Rng& rng) override {
    const double radius = Draw(rng, 0.06, 0.10, 0.10, 0.13);
    const double half = Draw(rng, 0.07, 0.12, 0.13, 0.16);
    const double ball_x = Draw(rng, -0.8, -0.5, -0.8, -0.5);
    const double ball_y = Draw(rng, -0.08, 0.08, -0.08, 0.08);
    const double block_x = Draw(rng, 0.0, 0.3, 0.0, 0.3);
    const double block_y = ball_y + Draw(rng, -0.5, 0.5, -0.5, 0.5) * half;
    const double speed = Draw(rng, 1.0, 2.0, 2.2, 3.0);  // m/s towards +x
    const double heading = Draw(rng, -0.05, 0.05, -0.05, 0.05);  // rad
    const double zone_half_x = Draw(rng, 0.1, 0.25, 0.1, 0.25);
    const double zone_x = block_x + half + Draw(rng, 0.02, 0.2, 0.02, 0.2) + zone_half_x;
    Resize(ObjectGeom(ball_), {radius, 0, 0});
    Resize(ObjectGeom(block_), {half, half, half});
    SetPose(ball_, {ball_x, ball_y, radius});
    SetPose(block_, {block_x, block_y, half});
    const double vx = speed * std::cos(heading), vy = speed * std::sin(heading);
    SetVelocity(ball_, {vx, vy, 0}, {-vy / radius, vx / radius, 0});  // rolling
    PlaceStatic("zone", {zone_x, block_y, 0});
    Resize(mj_name2id(model(), mjOBJ_GEOM, "yellow_zone"), {zone_half_x, 0.3, 0.0005});
    for (int i : {ball_, block_}) {
      SetHiddenProperties(i, Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.3, 1.0, 0.1, 0.3),
                          Draw(rng, 0.1, 0.35, 0.35, 0.45));  // bouncier contacts are stiffer
    }
    // Solidity set: world B has the block beside the ball's lane, nearer the camera (clear of
    // the ball by a drawn margin) and kAheadRadii ball radii further on, so that the ball rolls
    // past behind it, hidden about as long as the ball that passes through it, while the ball
    // that bounces off nothing stays in view (measured: docs/physics-scenes.md).
    const double clear = radius + half * std::sqrt(2.0) + Draw(rng, 0.03, 0.05, 0.03, 0.05);
    if (world() == 1) SetPose(block_, {block_x + kAheadRadii * radius, ball_y - clear, half});
  }

  // Member 2: the ball of world B (rolling on) in world A, through the block; member 3: the
  // ball of world A (meeting the block) in world B, stopped by nothing.
  TwinPlan Plan(Principle) const override {
    return {{TwinRule::Kind::kSwap, {"pass-through", "stop-at-nothing"}}, {ball_}};
  }

 private:
  int ball_, block_;
};

}  // namespace

std::unique_ptr<sim::Env> MakeCollide(const sim::EnvSettings& settings) {
  return std::make_unique<Collide>(settings);
}

}  // namespace darkmatter::tasks::physics
