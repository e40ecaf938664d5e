// The Bullet backend: a raycast vehicle at rest stays at rest, drives, and its state restores
// exactly into a freshly built world.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "sim/bullet_env.h"

namespace sim = darkmatter::sim;

TEST_CASE("BulletVehicleWorld: a car with no throttle stays at rest", "[sim][bullet]") {
  sim::BulletVehicleWorld world({}, 0.02);
  world.Place(3, -2, 0.4);
  for (int i = 0; i < 500; ++i) world.Step();
  double pos[3];
  world.Position(pos);
  CHECK(pos[0] == Approx(3).margin(0.02));
  CHECK(pos[1] == Approx(-2).margin(0.02));
  CHECK(pos[2] > 0.3);  // on its wheels, not through the ground
  CHECK(std::abs(world.ForwardSpeed()) < 0.01);
  CHECK(world.Yaw() == Approx(0.4).margin(0.01));
}

TEST_CASE("BulletVehicleWorld: throttle accelerates, steering turns left", "[sim][bullet]") {
  sim::BulletVehicleWorld world({}, 0.02);
  world.Place(0, 0, 0);
  world.SetControls(0, 1);
  for (int i = 0; i < 250; ++i) world.Step();  // 5 s
  CHECK(world.ForwardSpeed() > 8);
  CHECK(world.ForwardSpeed() < 30);
  double pos[3];
  world.Position(pos);
  CHECK(std::abs(pos[1]) < 0.2);  // straight
  world.SetControls(0.5, 0.2);
  for (int i = 0; i < 100; ++i) world.Step();
  CHECK(world.Yaw() > 0.3);  // positive steer = left turn
  world.SetControls(0, -1);
  for (int i = 0; i < 250; ++i) world.Step();
  CHECK(std::abs(world.ForwardSpeed()) < 0.2);  // braked to a stop
}

TEST_CASE("BulletVehicleWorld: set_state into a rebuilt world is bit-identical",
          "[sim][bullet][determinism]") {
  sim::BulletVehicleWorld a({}, 0.02), b({}, 0.02);
  a.Place(1, 2, 0.3);
  std::vector<double> state(sim::BulletVehicleWorld::kStateSize);
  std::vector<double> sa(state.size()), sb(state.size());
  for (int i = 0; i < 400; ++i) {
    if (i == 150) {
      a.GetState(state);
      b.SetState(state);
    }
    const double steer = std::sin(0.03 * i), throttle = std::cos(0.02 * i);
    a.SetControls(steer, throttle);
    a.Step();
    if (i >= 150) {
      b.SetControls(steer, throttle);
      b.Step();
      a.GetState(sa);
      b.GetState(sb);
      REQUIRE(sa == sb);
    }
  }
}
