// The Bullet backend: a raycast vehicle at rest stays at rest, drives, and its state restores
// exactly into a freshly built world; kinematic boxes are seen by rays and contact tests only.
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

TEST_CASE("BulletVehicleWorld: kinematic boxes are seen by rays and chassis contacts only",
          "[sim][bullet]") {
  sim::BulletVehicleWorld world({}, 0.02);
  world.Place(0, 0, 0);
  const double from[3] = {0, 0, 0.8}, to[3] = {50, 0, 0.8};
  CHECK(world.RayTest(from, to) == -1);  // the chassis the ray starts in is never hit
  std::vector<sim::KinematicBox> boxes(2);
  boxes[0] = {true, 12.0, 0.0, 0.55, 0.0, 2.0, 1.0, 0.4};
  boxes[1] = {false};
  world.SetKinematicBoxes(boxes);
  CHECK(world.NumKinematicBoxes() == 2);
  CHECK(world.RayTest(from, to) == Approx(10.0).margin(0.01));
  CHECK(world.EgoContact() == -1);
  // Stepping leaves the car at rest: the boxes exert no force on anything.
  for (int i = 0; i < 50; ++i) world.Step();
  CHECK(std::abs(world.ForwardSpeed()) < 0.01);
  // Overlapping the chassis (half length 2.2): a contact with box 1.
  boxes[0].active = false;
  boxes[1] = {true, 3.5, 0.3, 0.55, 0.2, 2.0, 1.0, 0.4};
  world.SetKinematicBoxes(boxes);
  CHECK(world.EgoContact() == 1);
  boxes[1].x = 4.7;  // 0.3 m clear of the bumper
  boxes[1].yaw = 0;
  world.SetKinematicBoxes(boxes);
  CHECK(world.EgoContact() == -1);
  CHECK(world.RayTest(from, to) == Approx(2.7).margin(0.01));
  // A restored state is a rebuilt world: the owner poses its boxes again.
  std::vector<double> state(sim::BulletVehicleWorld::kStateSize);
  world.GetState(state);
  world.SetState(state);
  CHECK(world.NumKinematicBoxes() == 0);
  CHECK(world.RayTest(from, to) == -1);
}
