#include "sim/bullet_env.h"

#include <btBulletDynamicsCommon.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <cmath>
#include <stdexcept>

#include "sim/error.h"
#include "sim/mujoco_model.h"
#include "sim/renderer.h"

namespace darkmatter::sim {
namespace {

// Bullet's built-in profiler keeps global state; turn it off once (also faster).
void NoProfileEnter(const char*) {}
void NoProfileLeave() {}
struct DisableBulletProfiler {
  DisableBulletProfiler() {
    btSetCustomEnterProfileZoneFunc(NoProfileEnter);
    btSetCustomLeaveProfileZoneFunc(NoProfileLeave);
  }
};

// The stage the Bullet world is mirrored onto: sky light and a grass ground plane.
constexpr const char* kStageXml = R"(
<mujoco model="driving_stage">
  <statistic extent="20" center="0 0 0"/>
  <visual><map znear="0.05" zfar="400"/><headlight ambient="0.45 0.45 0.45" diffuse="0.5 0.5 0.5"/></visual>
  <worldbody>
    <light pos="0 0 50" dir="0.2 0.3 -1" directional="true" diffuse="0.6 0.6 0.6"/>
    <geom type="plane" size="2000 2000 1" pos="0 0 -0.02" rgba="0.33 0.5 0.28 1"/>
  </worldbody>
</mujoco>)";

ModelPtr StageModel() {
  static const ModelPtr model = LoadModelString(kStageXml, "driving_stage");
  return model;
}

}  // namespace

struct BulletVehicleWorld::Impl {
  btDefaultCollisionConfiguration config;
  btCollisionDispatcher dispatcher{&config};
  btDbvtBroadphase broadphase;
  btSequentialImpulseConstraintSolver solver;
  btDiscreteDynamicsWorld world{&dispatcher, &broadphase, &solver, &config};
  btStaticPlaneShape ground_shape{btVector3(0, 0, 1), 0};
  std::unique_ptr<btBoxShape> chassis_shape;
  std::unique_ptr<btRigidBody> ground;  // a rigid body: the vehicle raycaster only hits those
  std::unique_ptr<btRigidBody> chassis;
  btRaycastVehicle::btVehicleTuning tuning;
  std::unique_ptr<btDefaultVehicleRaycaster> raycaster;
  std::unique_ptr<btRaycastVehicle> vehicle;
  double steer = 0, throttle_brake = 0;
  struct Kinematic {
    std::unique_ptr<btBoxShape> shape;
    std::unique_ptr<btRigidBody> body;
    double hx = 0, hy = 0, hz = 0;
  };
  std::vector<Kinematic> kinematic;

  ~Impl() {
    for (Kinematic& k : kinematic) world.removeRigidBody(k.body.get());
    if (vehicle) world.removeAction(vehicle.get());
    if (chassis) world.removeRigidBody(chassis.get());
    if (ground) world.removeRigidBody(ground.get());
  }
};

BulletVehicleWorld::BulletVehicleWorld(const VehicleParams& params, double dt)
    : params_(params), dt_(dt) {
  static DisableBulletProfiler disable_profiler;
  Build();
}

BulletVehicleWorld::~BulletVehicleWorld() = default;

void BulletVehicleWorld::Build() {
  impl_.reset();
  impl_ = std::make_unique<Impl>();
  Impl& w = *impl_;
  const VehicleParams& p = params_;
  w.world.setGravity(btVector3(0, 0, -9.81));
  // Only active objects (the chassis) need their bounding boxes refreshed every step; the
  // ground never moves and kinematic boxes are refreshed when posed (SetKinematicBoxes).
  w.world.setForceUpdateAllAabbs(false);
  w.ground = std::make_unique<btRigidBody>(0.0, nullptr, &w.ground_shape);
  w.world.addRigidBody(w.ground.get());
  w.chassis_shape =
      std::make_unique<btBoxShape>(btVector3(p.half_length, p.half_width, p.half_height));
  btVector3 inertia(0, 0, 0);
  w.chassis_shape->calculateLocalInertia(p.mass, inertia);
  btRigidBody::btRigidBodyConstructionInfo info(p.mass, nullptr, w.chassis_shape.get(), inertia);
  w.chassis = std::make_unique<btRigidBody>(info);
  w.chassis->setActivationState(DISABLE_DEACTIVATION);
  w.world.addRigidBody(w.chassis.get());
  w.tuning.m_suspensionStiffness = p.suspension_stiffness;
  w.tuning.m_suspensionDamping = p.damping_relaxation;
  w.tuning.m_suspensionCompression = p.damping_compression;
  w.tuning.m_frictionSlip = p.friction_slip;
  w.tuning.m_maxSuspensionTravelCm = 50;
  w.raycaster = std::make_unique<btDefaultVehicleRaycaster>(&w.world);
  w.vehicle = std::make_unique<btRaycastVehicle>(w.tuning, w.chassis.get(), w.raycaster.get());
  w.vehicle->setCoordinateSystem(1, 2, 0);  // right = y, up = z, forward = x
  w.world.addAction(w.vehicle.get());
  const btVector3 down(0, 0, -1), axle(0, -1, 0);
  for (int i = 0; i < 4; ++i) {
    const bool front = i < 2;
    const double x = front ? p.wheelbase / 2 : -p.wheelbase / 2;
    const double y = (i % 2 == 0) ? p.track / 2 : -p.track / 2;
    btWheelInfo& wheel = w.vehicle->addWheel(btVector3(x, y, -p.half_height * 0.5), down, axle,
                                             p.suspension_rest, p.wheel_radius, w.tuning, front);
    wheel.m_rollInfluence = p.roll_influence;
  }
}

void BulletVehicleWorld::Place(double x, double y, double yaw, double speed) {
  Build();
  const VehicleParams& p = params_;
  btTransform pose;
  pose.setIdentity();
  pose.getBasis().setEulerZYX(0, 0, yaw);
  // Connection points at -0.5 half_height; resting with the suspension near its rest length.
  const double z = p.wheel_radius + p.suspension_rest * 0.8 + p.half_height * 0.5;
  pose.setOrigin(btVector3(x, y, z));
  impl_->chassis->setCenterOfMassTransform(pose);
  impl_->chassis->setLinearVelocity(btVector3(std::cos(yaw), std::sin(yaw), 0) * speed);
  impl_->chassis->setAngularVelocity(btVector3(0, 0, 0));
  for (int i = 0; i < 4; ++i) {
    impl_->vehicle->getWheelInfo(i).m_raycastInfo.m_suspensionLength = p.suspension_rest;
    impl_->vehicle->updateWheelTransform(i, false);
  }
  SetControls(0, 0);
}

void BulletVehicleWorld::SetControls(double steer, double throttle_brake) {
  impl_->steer = std::clamp(steer, -1.0, 1.0);
  impl_->throttle_brake = std::clamp(throttle_brake, -1.0, 1.0);
}

void BulletVehicleWorld::Step() {
  Impl& w = *impl_;
  const VehicleParams& p = params_;
  const double v = ForwardSpeed();
  double engine = 0, brake = 0;
  if (w.throttle_brake > 0) {
    engine = w.throttle_brake * p.max_engine_force * std::max(0.0, 1.0 - std::abs(v) / p.max_speed);
  } else {
    // btRaycastVehicle brakes with a per-wheel rolling-friction impulse cap (N s per step).
    brake = -w.throttle_brake * p.max_brake_decel * p.mass * dt_ / 4;
  }
  // A small rolling resistance so that a car left alone comes (and stays) at rest.
  brake = std::max(brake, 0.15 * p.mass * dt_ / 4);
  const double angle = w.steer * p.max_steer;
  for (int i = 0; i < 4; ++i) {
    if (i < 2) w.vehicle->setSteeringValue(angle, i);
    w.vehicle->applyEngineForce(i >= 2 ? engine / 2 : 0.0, i);  // rear-wheel drive
    w.vehicle->setBrake(brake, i);
  }
  w.world.stepSimulation(dt_, 0);
}

void BulletVehicleWorld::GetState(std::span<double> out) const {
  const btRigidBody& body = *impl_->chassis;
  const btTransform& pose = body.getCenterOfMassTransform();
  int k = 0;
  for (int i = 0; i < 3; ++i) out[k++] = pose.getOrigin()[i];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) out[k++] = pose.getBasis()[i][j];
  for (int i = 0; i < 3; ++i) out[k++] = body.getLinearVelocity()[i];
  for (int i = 0; i < 3; ++i) out[k++] = body.getAngularVelocity()[i];
  for (int i = 0; i < 4; ++i) {
    const btWheelInfo& wheel = impl_->vehicle->getWheelInfo(i);
    out[k++] = wheel.m_rotation;
    out[k++] = wheel.m_deltaRotation;
    out[k++] = wheel.m_steering;
    out[k++] = wheel.m_engineForce;
    out[k++] = wheel.m_brake;
    out[k++] = wheel.m_raycastInfo.m_suspensionLength;
  }
}

void BulletVehicleWorld::SetState(std::span<const double> in) {
  Build();
  btRigidBody& body = *impl_->chassis;
  btTransform pose;
  int k = 0;
  btVector3 origin;
  for (int i = 0; i < 3; ++i) origin[i] = static_cast<btScalar>(in[k++]);
  btMatrix3x3 basis;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) basis[i][j] = static_cast<btScalar>(in[k++]);
  pose.setOrigin(origin);
  pose.setBasis(basis);
  body.setCenterOfMassTransform(pose);
  btVector3 linear, angular;
  for (int i = 0; i < 3; ++i) linear[i] = static_cast<btScalar>(in[k++]);
  for (int i = 0; i < 3; ++i) angular[i] = static_cast<btScalar>(in[k++]);
  body.setLinearVelocity(linear);
  body.setAngularVelocity(angular);
  for (int i = 0; i < 4; ++i) {
    btWheelInfo& wheel = impl_->vehicle->getWheelInfo(i);
    wheel.m_rotation = static_cast<btScalar>(in[k++]);
    wheel.m_deltaRotation = static_cast<btScalar>(in[k++]);
    wheel.m_steering = static_cast<btScalar>(in[k++]);
    wheel.m_engineForce = static_cast<btScalar>(in[k++]);
    wheel.m_brake = static_cast<btScalar>(in[k++]);
    wheel.m_raycastInfo.m_suspensionLength = static_cast<btScalar>(in[k++]);
    impl_->vehicle->updateWheelTransform(i, false);
  }
}

void BulletVehicleWorld::Position(double out[3]) const {
  const btVector3& o = impl_->chassis->getCenterOfMassTransform().getOrigin();
  for (int i = 0; i < 3; ++i) out[i] = o[i];
}

void BulletVehicleWorld::Basis(double out[9]) const {
  const btMatrix3x3& b = impl_->chassis->getCenterOfMassTransform().getBasis();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) out[3 * i + j] = b[i][j];
}

double BulletVehicleWorld::Yaw() const {
  const btMatrix3x3& b = impl_->chassis->getCenterOfMassTransform().getBasis();
  return std::atan2(static_cast<double>(b[1][0]), static_cast<double>(b[0][0]));
}

void BulletVehicleWorld::LinearVelocity(double out[3]) const {
  const btVector3& v = impl_->chassis->getLinearVelocity();
  for (int i = 0; i < 3; ++i) out[i] = v[i];
}

double BulletVehicleWorld::YawRate() const { return impl_->chassis->getAngularVelocity()[2]; }

double BulletVehicleWorld::ForwardSpeed() const {
  const btMatrix3x3& b = impl_->chassis->getCenterOfMassTransform().getBasis();
  const btVector3& v = impl_->chassis->getLinearVelocity();
  return static_cast<double>(b[0][0]) * v[0] + static_cast<double>(b[1][0]) * v[1] +
         static_cast<double>(b[2][0]) * v[2];
}

double BulletVehicleWorld::Steering() const { return impl_->vehicle->getSteeringValue(0); }

void BulletVehicleWorld::WheelPose(int i, double pos[3], double mat[9]) const {
  const btTransform& t = impl_->vehicle->getWheelInfo(i).m_worldTransform;
  for (int a = 0; a < 3; ++a) {
    pos[a] = t.getOrigin()[a];
    for (int b = 0; b < 3; ++b) mat[3 * a + b] = t.getBasis()[a][b];
  }
}

namespace {
// Collision filter groups of the kinematic boxes and of the sensor queries that see them.
constexpr int kKinematicGroup = 64;
constexpr int kSensorGroup = 128;
// Where inactive boxes wait: far below the ground, out of every sensor's reach.
constexpr double kParkedZ = -1.0e4;
}  // namespace

double BulletVehicleWorld::RayTest(const double from[3], const double to[3]) const {
  const btVector3 a(from[0], from[1], from[2]), b(to[0], to[1], to[2]);
  btCollisionWorld::ClosestRayResultCallback hit(a, b);
  hit.m_collisionFilterGroup = kSensorGroup;
  hit.m_collisionFilterMask = kKinematicGroup;  // excludes the chassis and the ground
  impl_->world.rayTest(a, b, hit);
  return hit.hasHit() ? static_cast<double>(hit.m_closestHitFraction) * (b - a).length() : -1.0;
}

void BulletVehicleWorld::SetKinematicBoxes(std::span<const KinematicBox> boxes) {
  Impl& w = *impl_;
  while (w.kinematic.size() < boxes.size()) {
    Impl::Kinematic k;
    k.shape = std::make_unique<btBoxShape>(btVector3(1, 1, 1));
    k.hx = k.hy = k.hz = 1;
    btRigidBody::btRigidBodyConstructionInfo info(0.0, nullptr, k.shape.get());
    k.body = std::make_unique<btRigidBody>(info);
    k.body->setCollisionFlags(k.body->getCollisionFlags() | btCollisionObject::CF_KINEMATIC_OBJECT |
                              btCollisionObject::CF_NO_CONTACT_RESPONSE);
    k.body->setUserIndex(static_cast<int>(w.kinematic.size()));
    btTransform parked;
    parked.setIdentity();
    parked.setOrigin(btVector3(0, 0, kParkedZ));
    k.body->setWorldTransform(parked);
    w.world.addRigidBody(k.body.get(), kKinematicGroup, kSensorGroup);
    w.kinematic.push_back(std::move(k));
  }
  for (size_t i = 0; i < boxes.size(); ++i) {
    const KinematicBox& box = boxes[i];
    Impl::Kinematic& k = w.kinematic[i];
    const bool reshaped = box.active && (box.hx != k.hx || box.hy != k.hy || box.hz != k.hz);
    if (reshaped) {
      k.shape = std::make_unique<btBoxShape>(btVector3(box.hx, box.hy, box.hz));
      k.hx = box.hx;
      k.hy = box.hy;
      k.hz = box.hz;
      k.body->setCollisionShape(k.shape.get());
    }
    btTransform pose;
    pose.setIdentity();
    if (box.active) {
      pose.getBasis().setEulerZYX(0, 0, box.yaw);
      pose.setOrigin(btVector3(box.x, box.y, box.z));
    } else {
      pose.setOrigin(btVector3(0, 0, kParkedZ - 10.0 * i));
    }
    // Unmoved bodies (parked, stopped) keep their broadphase entry untouched: updating a
    // proxy is what posing costs.
    if (!reshaped && k.body->getWorldTransform() == pose) continue;
    k.body->setWorldTransform(pose);
    k.body->setInterpolationWorldTransform(pose);
    // Asleep: stepSimulation neither integrates nor re-bounds it; posed only here.
    k.body->forceActivationState(ISLAND_SLEEPING);
    w.world.updateSingleAabb(k.body.get());
  }
}

int BulletVehicleWorld::NumKinematicBoxes() const {
  return static_cast<int>(impl_->kinematic.size());
}

int BulletVehicleWorld::EgoContact() const {
  struct Callback : btCollisionWorld::ContactResultCallback {
    int hit = -1;
    const btCollisionObject* chassis = nullptr;
    btScalar addSingleResult(btManifoldPoint& cp, const btCollisionObjectWrapper* a, int, int,
                             const btCollisionObjectWrapper* b, int, int) override {
      if (cp.getDistance() < 0) {
        const btCollisionObject* other =
            a->getCollisionObject() == chassis ? b->getCollisionObject() : a->getCollisionObject();
        if (hit < 0 || other->getUserIndex() < hit) hit = other->getUserIndex();
      }
      return 0;
    }
  } callback;
  callback.chassis = impl_->chassis.get();
  callback.m_collisionFilterGroup = kSensorGroup;
  callback.m_collisionFilterMask = kKinematicGroup;
  impl_->world.updateSingleAabb(impl_->chassis.get());
  impl_->world.contactTest(impl_->chassis.get(), callback);
  return callback.hit;
}

// ---------------------------------------------------------------------------------------

BulletEnv::BulletEnv(std::string name, const EnvSettings& settings,
                     const BulletDefaults& defaults, const VehicleParams& vehicle)
    : name_(std::move(name)),
      dt_(defaults.dt),
      frame_skip_(settings.frame_skip > 0 ? settings.frame_skip : defaults.frame_skip),
      max_episode_steps_(settings.max_episode_steps > 0 ? settings.max_episode_steps
                                                        : defaults.max_episode_steps),
      vehicle_(vehicle),
      observe_state_(WantsState(settings)),
      observe_pixels_(WantsPixels(settings)) {
  ValidateEnvSettings(name_, settings);
  if (settings.split != "train") {
    throw BadInput(name_ + ": env.split applies to physics scenes only");
  }
  violation_ = settings.violation;
  twin_world_ = settings.world;
  if (!settings.camera.empty()) {
    throw BadInput(name_ + ": unknown camera '" + settings.camera +
                   "' (Bullet scenes have only the free chase camera \"\")");
  }
  if (observe_pixels_) {
    pixel_options_.width = settings.frame_width;
    pixel_options_.height = settings.frame_height;
  }
  world_ = std::make_unique<BulletVehicleWorld>(vehicle_, dt_);
}

BulletEnv::~BulletEnv() = default;

void BulletEnv::Finalize() {
  ValidateViolation(name_, violation_, Principles(), twin_world_);
  const int64_t n = observe_state_ ? ObservationSize() : 0;
  observation_spec_.shape = {n};
  observation_spec_.low.assign(n, -std::numeric_limits<double>::infinity());
  observation_spec_.high.assign(n, std::numeric_limits<double>::infinity());
  observation_.assign(n, 0.0);
  action_spec_.shape = {2};
  action_spec_.low = {-1, -1};
  action_spec_.high = {1, 1};
  action_.assign(2, 0.0);
  if (observe_pixels_) {
    const int64_t h = pixel_options_.height, w = pixel_options_.width;
    pixel_spec_.shape = {h, w, 3};
    pixel_spec_.low.assign(h * w * 3, 0);
    pixel_spec_.high.assign(h * w * 3, 255);
    pixel_spec_.dtype = "uint8";
    pixels_.assign(h * w * 3, 0);
  } else {
    pixel_spec_.shape = {0};
  }
  info_keys_ = {"diverged"};
  for (const std::string& key : TaskInfoKeys()) info_keys_.push_back(key);
  info_.assign(info_keys_.size(), 0.0);
}

StepResult BulletEnv::Reset(std::optional<uint64_t> seed) {
  if (seed) rng_.Seed(*seed);
  world_->Place(0, 0, 0);
  ResetTask(rng_);
  elapsed_steps_ = 0;
  needs_reset_ = false;
  return MakeResult(0.0, false, false, false);
}

StepResult BulletEnv::Step(std::span<const double> action) {
  ValidateAction(action_spec_, action);
  if (needs_reset_) throw std::logic_error(name_ + ": Step called before Reset or after the episode ended");
  ClipAction(action_spec_, action, action_);
  BeforeStep(action_);
  world_->SetControls(action_[0], action_[1]);
  for (int k = 0; k < frame_skip_; ++k) world_->Step();
  ++elapsed_steps_;
  double pos[3], vel[3];
  world_->Position(pos);
  world_->LinearVelocity(vel);
  bool diverged = false;
  for (int i = 0; i < 3; ++i) diverged |= !std::isfinite(pos[i]) || !std::isfinite(vel[i]);
  diverged |= std::abs(pos[2]) > 100.0;
  if (!diverged) AfterStep();
  const double reward = diverged ? 0.0 : ComputeReward();
  const bool terminated = !diverged && ComputeTerminated();
  const bool truncated = diverged || elapsed_steps_ >= max_episode_steps_;
  needs_reset_ = terminated || truncated;
  return MakeResult(reward, terminated, truncated, diverged);
}

StepResult BulletEnv::MakeResult(double reward, bool terminated, bool truncated, bool diverged) {
  if (observe_state_) WriteObservation(observation_);
  info_[0] = diverged ? 1.0 : 0.0;
  WriteTaskInfo(std::span<double>(info_).subspan(1));
  if (observe_pixels_) {
    if (!pixel_renderer_) pixel_renderer_ = std::make_unique<Renderer>(StageModel(), pixel_options_);
    CameraSpec camera;
    ChaseCamera(&camera);
    RenderInto(pixel_renderer_.get(), camera, pixels_.data(), nullptr, nullptr);
  }
  return {observation_, reward, terminated, truncated, info_, pixels_};
}

int64_t BulletEnv::StateSize() const { return BulletVehicleWorld::kStateSize + TaskStateSize(); }

void BulletEnv::GetState(EnvState* state) const {
  state->physics.resize(StateSize());
  std::span<double> out(state->physics);
  world_->GetState(out.subspan(0, BulletVehicleWorld::kStateSize));
  GetTaskState(out.subspan(BulletVehicleWorld::kStateSize));
  state->rng = rng_.State();
  state->elapsed_steps = elapsed_steps_;
  state->needs_reset = needs_reset_;
}

void BulletEnv::SetState(const EnvState& state) {
  if (static_cast<int64_t>(state.physics.size()) != StateSize()) {
    throw BadInput(name_ + ": state has " + std::to_string(state.physics.size()) +
                   " physics values, expected " + std::to_string(StateSize()));
  }
  std::span<const double> in(state.physics);
  world_->SetState(in.subspan(0, BulletVehicleWorld::kStateSize));
  SetTaskState(in.subspan(BulletVehicleWorld::kStateSize));
  rng_.SetState(state.rng);
  elapsed_steps_ = state.elapsed_steps;
  needs_reset_ = state.needs_reset;
}

void BulletEnv::ChaseCamera(CameraSpec* camera) const {
  double pos[3];
  world_->Position(pos);
  camera->lookat[0] = pos[0];
  camera->lookat[1] = pos[1];
  camera->lookat[2] = 1.0;
  camera->distance = 14;
  camera->azimuth = world_->Yaw() * 180.0 / M_PI;
  camera->elevation = -20;
}

void BulletEnv::RenderInto(Renderer* renderer, const CameraSpec& camera, uint8_t* rgb,
                           float* depth, int32_t* segmentation) {
  mjvCamera& cam = renderer->camera();
  cam.type = mjCAMERA_FREE;
  for (int i = 0; i < 3; ++i) cam.lookat[i] = camera.lookat[i];
  cam.distance = camera.distance;
  cam.azimuth = camera.azimuth;
  cam.elevation = camera.elevation;
  static thread_local mjData* stage_data = nullptr;
  if (!stage_data) {
    stage_data = mj_makeData(StageModel().get());
    mj_forward(StageModel().get(), stage_data);
  }
  primitives_.clear();
  Primitives(&primitives_);
  renderer->Render(stage_data, rgb, depth, segmentation, primitives_);
}

void BulletEnv::Render(const CameraSpec& camera, int width, int height, RenderOutput* out,
                       bool depth, bool segmentation) {
  if (width < 1 || height < 1 || width > 4096 || height > 4096) {
    throw BadInput("render size must be between 1 and 4096 pixels");
  }
  if (!camera.name.empty()) {
    throw BadInput(name_ + ": unknown camera '" + camera.name +
                   "' (Bullet scenes have only the free chase camera \"\")");
  }
  if (!view_renderer_ || view_renderer_->options().width != width ||
      view_renderer_->options().height != height) {
    RenderOptions options;
    options.width = width;
    options.height = height;
    view_renderer_ = std::make_unique<Renderer>(StageModel(), options);
  }
  CameraSpec view = camera;
  if (view.distance <= 0) ChaseCamera(&view);
  out->rgb.resize(static_cast<size_t>(width) * height * 3);
  if (depth) out->depth.resize(static_cast<size_t>(width) * height);
  if (segmentation) out->segmentation.resize(static_cast<size_t>(width) * height);
  RenderInto(view_renderer_.get(), view, out->rgb.data(), depth ? out->depth.data() : nullptr,
             segmentation ? out->segmentation.data() : nullptr);
}

double BulletEnv::BareStepsPerSecond(int64_t control_steps, std::span<const double> actions,
                                     const std::vector<uint8_t>& reset_after) const {
  std::vector<double> start(BulletVehicleWorld::kStateSize);
  world_->GetState(start);
  BulletVehicleWorld bare(vehicle_, dt_);
  bare.SetState(start);
  const size_t pairs = std::max<size_t>(1, actions.size() / 2);
  const auto begin = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < control_steps; ++i) {
    const size_t a = static_cast<size_t>(i) % pairs;
    if (actions.size() >= 2) bare.SetControls(actions[2 * a], actions[2 * a + 1]);
    for (int k = 0; k < frame_skip_; ++k) bare.Step();
    if (i < static_cast<int64_t>(reset_after.size()) && reset_after[i]) bare.Place(0, 0, 0);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  return control_steps * frame_skip_ / seconds;
}

}  // namespace darkmatter::sim
