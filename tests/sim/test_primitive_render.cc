// Worlds simulated by another engine render through the same renderer by mirroring their
// bodies as primitives: here a real Bullet world with a box falling onto the ground.
#include <catch2/catch.hpp>

#include <btBulletDynamicsCommon.h>

#include <algorithm>
#include <memory>

#include "sim/renderer.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
using darkmatter::testing::NoMujocoWarnings;

namespace {

// A stage with lights only; the world's bodies come in as primitives.
constexpr const char* kStageXml = R"(
<mujoco model="stage">
  <statistic extent="4" center="0 0 0.5"/>
  <visual><map znear="0.01" zfar="20"/></visual>
  <worldbody><light pos="0 0 6" dir="0 0 -1"/></worldbody>
</mujoco>)";

// Bullet: a static ground plane and a 0.4 m box dropped from 2 m.
struct BulletWorld {
  btDefaultCollisionConfiguration config;
  btCollisionDispatcher dispatcher{&config};
  btDbvtBroadphase broadphase;
  btSequentialImpulseConstraintSolver solver;
  btDiscreteDynamicsWorld world{&dispatcher, &broadphase, &solver, &config};
  btStaticPlaneShape ground_shape{btVector3(0, 0, 1), 0};
  btBoxShape box_shape{btVector3(0.2, 0.2, 0.2)};
  std::unique_ptr<btDefaultMotionState> ground_state, box_state;
  std::unique_ptr<btRigidBody> ground, box;

  BulletWorld() {
    world.setGravity(btVector3(0, 0, -9.81));
    ground_state = std::make_unique<btDefaultMotionState>();
    ground = std::make_unique<btRigidBody>(0.0, ground_state.get(), &ground_shape);
    btTransform start;
    start.setIdentity();
    start.setOrigin(btVector3(0, 0, 2));
    box_state = std::make_unique<btDefaultMotionState>(start);
    btVector3 inertia;
    box_shape.calculateLocalInertia(1.0, inertia);
    box = std::make_unique<btRigidBody>(1.0, box_state.get(), &box_shape, inertia);
    world.addRigidBody(ground.get());
    world.addRigidBody(box.get());
  }
  ~BulletWorld() {
    world.removeRigidBody(box.get());
    world.removeRigidBody(ground.get());
  }

  // The world's bodies as primitives: ground (id 1) and box (id 2).
  std::vector<sim::Primitive> Mirror() const {
    sim::Primitive floor;
    floor.shape = sim::Primitive::Shape::kPlane;
    floor.size[0] = floor.size[1] = 5;
    floor.rgba[0] = floor.rgba[1] = floor.rgba[2] = 0.5f;
    floor.id = 1;
    sim::Primitive cube;
    cube.shape = sim::Primitive::Shape::kBox;
    cube.size[0] = cube.size[1] = cube.size[2] = 0.2;
    const btTransform& pose = box->getWorldTransform();
    for (int k = 0; k < 3; ++k) {
      cube.pos[k] = pose.getOrigin()[k];
      for (int j = 0; j < 3; ++j) cube.mat[3 * k + j] = pose.getBasis()[k][j];
    }
    cube.rgba[0] = 0.9f;
    cube.rgba[1] = cube.rgba[2] = 0.1f;
    cube.id = 2;
    return {floor, cube};
  }
};

// Mean image row of the pixels whose segmentation is `id` (-1 when none).
double MeanRow(const std::vector<int32_t>& segmentation, int width, int id) {
  double sum = 0;
  int count = 0;
  for (size_t p = 0; p < segmentation.size(); ++p) {
    if (segmentation[p] == id) {
      sum += static_cast<double>(p / width);
      ++count;
    }
  }
  return count ? sum / count : -1;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "Renderer: a Bullet world renders through primitives",
                 "[sim][render][bullet]") {
  sim::RenderOptions options;
  options.width = 64;
  options.height = 64;
  options.camera.distance = 6;
  options.camera.lookat[2] = 1;
  options.camera.elevation = -10;
  const sim::ModelPtr model = sim::LoadModelString(kStageXml, "stage");
  sim::Renderer stage_renderer(model, options);
  mjData* data = mj_makeData(model.get());
  mj_forward(model.get(), data);

  BulletWorld bullet;
  std::vector<uint8_t> rgb(64 * 64 * 3);
  std::vector<float> depth(64 * 64);
  std::vector<int32_t> segmentation(64 * 64);
  stage_renderer.Render(data, rgb.data(), depth.data(), segmentation.data(), bullet.Mirror());
  const double start_row = MeanRow(segmentation, 64, 2);
  REQUIRE(start_row >= 0);                                  // the box is in view
  CHECK(MeanRow(segmentation, 64, 1) > start_row);          // the ground is below it
  CHECK(std::count(segmentation.begin(), segmentation.end(), -1) > 0);  // and sky above
  // Red where the box is.
  const size_t p = static_cast<size_t>(start_row) * 64 + 32;
  if (segmentation[p] == 2) CHECK(rgb[3 * p] > 2 * rgb[3 * p + 1]);

  for (int i = 0; i < 120; ++i) bullet.world.stepSimulation(1.0 / 120.0, 1, 1.0 / 120.0);
  stage_renderer.Render(data, rgb.data(), depth.data(), segmentation.data(), bullet.Mirror());
  const double end_row = MeanRow(segmentation, 64, 2);
  CHECK(end_row > start_row + 5);  // it fell: lower in the image
  // Resting on the ground: its centre is 0.2 m up, about 6 m from the camera.
  const size_t centre = static_cast<size_t>(end_row) * 64 + 32;
  CHECK(segmentation[centre] == 2);
  CHECK(depth[centre] == Approx(5.8).margin(0.4));
  mj_deleteData(data);
}
