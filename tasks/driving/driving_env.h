// DrivingEnv: the shared machinery of the driving tasks on the Bullet backend: a road, the
// ego raycast vehicle, kinematic traffic driven along lanes by the Intelligent Driver Model,
// static obstacles (all mirrored into the Bullet world as kinematic boxes, for lidar rays and
// chassis contacts), kinematic-state observations plus optional lidar and bird's-eye sensors,
// metrics and a scripted expert (pure pursuit steering, IDM speed, lane changes around
// blocked lanes). Tasks fill the scenario.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/bullet_env.h"
#include "tasks/driving/road.h"

namespace darkmatter::tasks::driving {

constexpr int kMaxSegments = 10;  // road segments per scenario
constexpr int kMaxCars = 16;      // traffic cars and obstacles per scenario
constexpr int kNearest = 6;       // vehicles in the observation
constexpr int kLidarRays = 32;    // lidar: rays in a horizontal fan (ray 0 straight ahead)
constexpr double kLidarRange = 50;  // (m) maximum range; a ray that hits nothing reads this
constexpr double kLidarHeight = 0.8;  // (m) above the ground
constexpr int kBevCells = 32;     // BirdsEye(): cells per side of the ego-centred grid
constexpr double kBevCell = 1.5;  // (m) cell size; the grid covers 48 m x 48 m, ego at centre

// kScriptedLead and kPedestrian move by the task's ScriptedAccel (which may also change
// their target_d); pedestrians walk across lanes and are hidden from the observation while an
// obstacle blocks the line of sight from the ego.
// Car::kind values (stored as doubles, like the rest of the task state).
constexpr double kIdmCar = 0, kObstacle = 1, kScriptedLead = 2, kPedestrian = 3;

// One traffic participant, kinematic along the road: all doubles (part of the env state).
struct Car {
  double active = 0;       // 1 when present
  double kind = kIdmCar;   // kIdmCar, kObstacle, kScriptedLead or kPedestrian
  double s = 0;            // arc length (m)
  double d = 0;            // lateral offset (m)
  double v = 0;            // speed along the road (m/s)
  double v0 = 0;           // IDM desired speed (m/s)
  double target_d = 0;     // lateral offset it moves to at lateral_speed (lane changes)
  double lateral_speed = 0;  // (m/s)
  double half_length = 2.2;  // (m)
  double half_width = 0.9;   // (m)
};

// Intelligent Driver Model parameters.
struct Idm {
  double a = 1.5;     // maximum acceleration (m/s^2)
  double b = 2.5;     // comfortable deceleration (m/s^2)
  double s0 = 2.5;    // jam distance (m)
  double T = 1.3;     // time headway (s)
  // Acceleration at speed v toward v0 with `gap` (m, bumper to bumper) to a leader moving at
  // v_lead; gap < 0 means no leader.
  double Accel(double v, double v0, double gap, double v_lead) const;
};

// The whole task state: plain doubles, copied into EnvState::physics after the vehicle.
struct DrivingState {
  double n_segments = 0;
  double seg_length[kMaxSegments] = {};
  double seg_curvature[kMaxSegments] = {};
  double lanes = 2;
  double lane_width = 3.5;
  Car cars[kMaxCars];
  double target_lane = 0;     // lane the ego should keep (lane_keep, follow)
  double target_speed = 15;   // (m/s)
  double expert_lane = 0;     // the expert's current lane choice
  double time = 0;            // seconds since reset
  double event_time = 0;      // scenario event (lead brakes, cut-in) time (s)
  double event_kind = 0;      // scenario-specific
  double start_s = 0, route_end_s = 0;
  double prev_speed = 0, prev_accel = 0;
  double sum_speed = 0, sum_abs_jerk = 0, steps = 0, jerk_steps = 0;
  double collision = 0, off_road = 0, reached = 0, success = 0;
  double ego_s = 0, ego_d = 0, heading_error = 0, prev_s = 0;
};

class DrivingEnv : public sim::BulletEnv {
 public:
  // settings.sensors: comma-separated extra observation channels appended, in this order, to
  // the kinematic state: "lidar" (kLidarRays ranges) and "bev" (the BirdsEye grid, flattened
  // channel, row, column: 2 x kBevCells x kBevCells). Unknown names -> sim::BadInput.
  DrivingEnv(std::string name, const sim::EnvSettings& settings,
             const sim::BulletDefaults& defaults);

  bool HasExpert() const override { return true; }
  void ExpertAction(std::span<double> action) override;
  const std::vector<sim::TruthField>& TruthFields() const override;
  void WriteTruth(std::span<double> out) const override;

  const Road& road() const { return road_; }
  const DrivingState& state() const { return st_; }
  // Lidar: `rays` ranges (m, capped at `range`) in a horizontal fan around the ego centre at
  // kLidarHeight, ray r at heading yaw + 2 pi r / rays, each a btCollisionWorld::rayTest
  // (closest hit) against the kinematic bodies of the traffic, obstacles and pedestrians
  // (never the ego chassis or the ground).
  void Lidar(int rays, double range, std::span<double> out) const;
  // True when the straight line from the ego to participant `index` crosses an obstacle.
  bool Occluded(int index) const;
  // Bird's-eye occupancy, ego-centred and heading-up: (2 x kBevCells x kBevCells), channel 0
  // road surface, channel 1 other participants; row 0 is farthest ahead, column 0 leftmost.
  void BirdsEye(std::span<double> out) const;

 protected:
  // Scenario: road segments, lanes, cars, target lane and speed, ego start s and speed.
  virtual void BuildScenario(sim::Rng& rng, DrivingState* st, double* ego_s) = 0;
  // Acceleration of kScriptedLead cars and pedestrians (default: IDM).
  virtual double ScriptedAccel(const Car& car, int index);
  // Success when the episode ends at the time limit without reaching the route end.
  virtual bool SuccessAtTimeLimit() const { return false; }

  int64_t ObservationSize() const override;
  void WriteObservation(std::span<double> out) const override;
  void ResetTask(sim::Rng& rng) override;
  void AfterStep() override;
  double ComputeReward() override;
  bool ComputeTerminated() override;
  std::vector<std::string> TaskInfoKeys() const override;
  void WriteTaskInfo(std::span<double> out) override;
  int64_t TaskStateSize() const override;
  void GetTaskState(std::span<double> out) const override;
  void SetTaskState(std::span<const double> in) override;
  void Primitives(std::vector<sim::Primitive>* out) const override;

  DrivingState& st() { return st_; }
  double ControlDt() const { return world().dt() * FrameSkip(); }
  Idm idm_;

 private:
  void RebuildRoad();
  // Poses the Bullet world's kinematic bodies from st_.cars (after every world rebuild and
  // traffic update).
  void SyncBodies();
  void UpdateEgoProjection();
  void UpdateTraffic();
  bool EgoCollides() const;
  // Gap and speed of the nearest participant ahead of arc length s within `half_band` of d
  // (cars and, when include_ego, the ego); gap < 0 when none.
  void Leader(double s, double d, double half_band, int self, bool include_ego, double* gap,
              double* v_lead, bool pedestrians = true) const;

  Road road_;
  DrivingState st_;
  double last_reward_ = 0;
  bool sense_lidar_ = false, sense_bev_ = false;
};

}  // namespace darkmatter::tasks::driving
