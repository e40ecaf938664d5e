// The Bullet backend: a flat world with an ego car as a btRaycastVehicle (four wheels,
// suspension, engine force, brake, steering limits), stepped at a fixed dt with no
// interpolation, and BulletEnv, the Env plumbing (specs, steps, state, rendering through
// primitives) that driving tasks derive from.
//
// Exact get_state/set_state: Bullet caches solver, contact and broadphase state, so the world
// is rebuilt from scratch on every Reset and SetState, then every body's transform (basis as
// stored, not via quaternions), velocities and the vehicle's wheel state are restored.
// Kinematic boxes (traffic, obstacles) are not part of the world state: their owner derives
// them from its own state and poses them again (SetKinematicBoxes) after every rebuild.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sim/env.h"
#include "sim/render_types.h"

namespace darkmatter::sim {

class Renderer;

// The ego car's geometry and drive train.
struct VehicleParams {
  double mass = 1200;              // chassis mass (kg)
  double half_length = 2.2;        // chassis half extents (m)
  double half_width = 0.9;
  double half_height = 0.4;
  double wheelbase = 2.7;          // front to rear axle (m)
  double track = 1.75;             // left to right wheel (m)
  double wheel_radius = 0.35;      // (m)
  double wheel_width = 0.22;       // (m), rendering only
  double suspension_rest = 0.3;    // suspension rest length (m)
  double suspension_stiffness = 30;
  double damping_relaxation = 4.4;
  double damping_compression = 2.3;
  double friction_slip = 1.2;      // tyre friction coefficient
  double roll_influence = 0.1;
  double max_steer = 0.5;          // steering limit (rad)
  double max_engine_force = 4000;  // at standstill (N); falls linearly to 0 at max_speed
  double max_speed = 35;           // engine cut-off speed (m/s)
  double max_brake_decel = 8;      // full-brake deceleration (m/s^2)
};

// A kinematic box in the world (traffic car, obstacle, pedestrian): centre, heading about z
// and half extents (m).
struct KinematicBox {
  bool active = false;
  double x = 0, y = 0, z = 0, yaw = 0;
  double hx = 1, hy = 1, hz = 1;
};

// One Bullet world: static ground plane plus the ego raycast vehicle, plus kinematic boxes
// (CF_KINEMATIC_OBJECT rigid bodies posed by their owner). Rebuilt, never reused, when a
// state is restored. The kinematic boxes sit in their own collision filter group: they never
// pair with the chassis, the ground or the wheel rays in stepSimulation (so they exert no
// force and leave the vehicle's dynamics bit-identical); they are seen only by the sensor
// queries below (RayTest, EgoContact), which use a group/mask that selects them alone.
class BulletVehicleWorld {
 public:
  // Values in the state vector: chassis origin (3), basis (9, row-major), linear (3) and
  // angular (3) velocity, then per wheel: rotation, delta rotation, steering, engine force,
  // brake, suspension length.
  static constexpr int kStateSize = 18 + 4 * 6;

  BulletVehicleWorld(const VehicleParams& params, double dt);
  ~BulletVehicleWorld();
  BulletVehicleWorld(const BulletVehicleWorld&) = delete;
  BulletVehicleWorld& operator=(const BulletVehicleWorld&) = delete;

  // Places the car at rest at (x, y) with heading `yaw` (rad), wheels at suspension rest.
  void Place(double x, double y, double yaw, double speed = 0.0);
  // Controls held until changed: steer and throttle_brake in [-1, 1].
  void SetControls(double steer, double throttle_brake);
  // One physics step of dt seconds (stepSimulation(dt, 0): no substeps, no interpolation).
  void Step();
  void GetState(std::span<double> out) const;  // (kStateSize)
  void SetState(std::span<const double> in);   // (kStateSize); rebuilds the world first

  // Chassis pose and velocities.
  void Position(double out[3]) const;
  void Basis(double out[9]) const;  // row-major
  double Yaw() const;
  void LinearVelocity(double out[3]) const;
  double YawRate() const;
  // Forward speed along the chassis x axis (m/s).
  double ForwardSpeed() const;
  double Steering() const;  // front wheel angle (rad)
  // Wheel poses (for rendering): centre and row-major basis of wheel `i` (0..3).
  void WheelPose(int i, double pos[3], double mat[9]) const;
  // Closest hit distance of a ray from `from` to `to` (m) against the kinematic boxes (never
  // the chassis or the ground), through btCollisionWorld::rayTest, or -1 when none is hit.
  double RayTest(const double from[3], const double to[3]) const;
  // Poses kinematic box i for every i in `boxes` (creating bodies as needed; inactive boxes
  // are taken out of reach). Call after every Place/SetState (those rebuild the world).
  void SetKinematicBoxes(std::span<const KinematicBox> boxes);
  int NumKinematicBoxes() const;
  // Index of a kinematic box the chassis penetrates, from Bullet's narrow phase
  // (btCollisionWorld::contactTest: contact points at distance < 0), or -1 when none.
  int EgoContact() const;

  const VehicleParams& params() const { return params_; }
  double dt() const { return dt_; }

 private:
  struct Impl;
  void Build();
  VehicleParams params_;
  double dt_;
  std::unique_ptr<Impl> impl_;
};

// Task-level defaults that EnvSettings may override.
struct BulletDefaults {
  double dt = 0.02;              // physics step (s)
  int frame_skip = 5;            // physics steps per control step
  int max_episode_steps = 400;   // control steps before truncation
};

// The Env API over a BulletVehicleWorld plus task state. Actions are [steer, throttle_brake]
// in [-1, 1]. Tasks derive, override the hooks and call Finalize() in their constructor.
class BulletEnv : public Env {
 public:
  BulletEnv(std::string name, const EnvSettings& settings, const BulletDefaults& defaults,
            const VehicleParams& vehicle = {});
  ~BulletEnv() override;

  const std::string& Name() const override { return name_; }
  const char* Backend() const override { return "bullet"; }
  const BoxSpec& ObservationSpec() const override { return observation_spec_; }
  const BoxSpec& PixelSpec() const override { return pixel_spec_; }
  const BoxSpec& ActionSpec() const override { return action_spec_; }
  const std::vector<std::string>& InfoKeys() const override { return info_keys_; }
  StepResult Reset(std::optional<uint64_t> seed) override;
  StepResult Step(std::span<const double> action) override;
  int64_t StateSize() const override;
  void GetState(EnvState* state) const override;
  void SetState(const EnvState& state) override;
  void Render(const CameraSpec& camera, int width, int height, RenderOutput* out,
              bool depth = false, bool segmentation = false) override;
  int FrameSkip() const override { return frame_skip_; }
  int MaxEpisodeSteps() const override { return max_episode_steps_; }

  // Bare backend stepping for `bench env`: a fresh world built from this env's current ego
  // state, stepped `control_steps` x frame_skip times with the given held actions (2 per
  // control step, cycled), rebuilt after the control steps flagged in `reset_after`.
  // Returns physics steps per second.
  double BareStepsPerSecond(int64_t control_steps, std::span<const double> actions,
                            const std::vector<uint8_t>& reset_after) const;

  const BulletVehicleWorld& world() const { return *world_; }

 protected:
  void Finalize();
  // The principle of the twin set this env lays out a world of ("none": an ordinary clip).
  const std::string& violation() const { return violation_; }
  // Twin sets: world A (0) or B (1) of the env.violation principle's set.
  int twin_world() const { return twin_world_; }
  BulletVehicleWorld& mutable_world() { return *world_; }
  // Control steps since reset (already counting the step in progress inside AfterStep).
  int64_t elapsed_steps() const { return elapsed_steps_; }

  virtual int64_t ObservationSize() const = 0;
  virtual void WriteObservation(std::span<double> out) const = 0;
  // Builds the scene for a new episode: place the car (mutable_world().Place) and the task.
  virtual void ResetTask(Rng& rng) = 0;
  // Called with the clipped action before the physics steps of a control step.
  virtual void BeforeStep(std::span<const double> action) {}
  // Called after the physics steps, before reward and termination.
  virtual void AfterStep() {}
  virtual double ComputeReward() { return 0.0; }
  virtual bool ComputeTerminated() { return false; }
  virtual std::vector<std::string> TaskInfoKeys() const { return {}; }
  virtual void WriteTaskInfo(std::span<double> out) {}
  virtual int64_t TaskStateSize() const { return 0; }
  virtual void GetTaskState(std::span<double> out) const {}
  // Restores task state; called after the world state was restored.
  virtual void SetTaskState(std::span<const double> in) {}
  // Everything to draw besides the stage (road, cars, ...), ids for segmentation.
  virtual void Primitives(std::vector<Primitive>* out) const {}
  // Free camera target (chase camera): lookat, distance, azimuth and elevation.
  virtual void ChaseCamera(CameraSpec* camera) const;

 private:
  StepResult MakeResult(double reward, bool terminated, bool truncated, bool diverged);
  void RenderInto(Renderer* renderer, const CameraSpec& camera, uint8_t* rgb, float* depth,
                  int32_t* segmentation);

  std::string name_;
  std::string violation_ = "none";  // EnvSettings::violation, checked in Finalize
  int twin_world_ = 0;              // EnvSettings::world, checked in Finalize
  double dt_;
  int frame_skip_;
  int max_episode_steps_;
  VehicleParams vehicle_;
  std::unique_ptr<BulletVehicleWorld> world_;
  bool observe_state_;
  bool observe_pixels_;
  RenderOptions pixel_options_;
  BoxSpec observation_spec_, pixel_spec_, action_spec_;
  std::vector<std::string> info_keys_;
  std::vector<double> observation_, info_, action_;
  std::vector<uint8_t> pixels_;
  std::vector<Primitive> primitives_;
  std::unique_ptr<Renderer> pixel_renderer_, view_renderer_;
  Rng rng_;
  int64_t elapsed_steps_ = 0;
  bool needs_reset_ = true;
};

}  // namespace darkmatter::sim
