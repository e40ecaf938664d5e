#include "tasks/driving/driving_env.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <sstream>

#include "sim/error.h"

namespace darkmatter::tasks::driving {
namespace {

constexpr int kEgoObs = 12;
// Participants farther than this from the ego (m) are parked out of the Bullet world's reach.
constexpr double kBodyRadius = kLidarRange + 10;
constexpr int kCarObs = 6;
constexpr int kStateDoubles = sizeof(DrivingState) / sizeof(double);
static_assert(sizeof(DrivingState) % sizeof(double) == 0);

double Wrap(double angle) { return std::remainder(angle, 2 * M_PI); }

void SetBox(sim::Primitive* p, double x, double y, double z, double heading, double hl,
            double hw, double hh) {
  p->shape = sim::Primitive::Shape::kBox;
  p->size[0] = hl;
  p->size[1] = hw;
  p->size[2] = hh;
  p->pos[0] = x;
  p->pos[1] = y;
  p->pos[2] = z;
  const double c = std::cos(heading), s = std::sin(heading);
  const double mat[9] = {c, -s, 0, s, c, 0, 0, 0, 1};
  std::copy(mat, mat + 9, p->mat);
}

void SetColour(sim::Primitive* p, float r, float g, float b) {
  p->rgba[0] = r;
  p->rgba[1] = g;
  p->rgba[2] = b;
  p->rgba[3] = 1;
}

}  // namespace

double Idm::Accel(double v, double v0, double gap, double v_lead) const {
  double free = v0 > 0.1 ? 1.0 - std::pow(v / v0, 4) : -1.0;
  if (v0 <= 0.1) free = v > 0 ? -1.0 : 0.0;
  double interaction = 0;
  if (gap >= 0) {
    const double s_star = s0 + std::max(0.0, v * T + v * (v - v_lead) / (2 * std::sqrt(a * b)));
    const double g = std::max(gap, 0.1);
    interaction = (s_star / g) * (s_star / g);
  }
  return a * (free - interaction);
}

DrivingEnv::DrivingEnv(std::string name, const sim::EnvSettings& settings,
                       const sim::BulletDefaults& defaults)
    : BulletEnv(std::move(name), settings, defaults) {
  std::stringstream list(settings.sensors);
  std::string sensor;
  while (std::getline(list, sensor, ',')) {
    sensor.erase(0, sensor.find_first_not_of(" \t"));
    sensor.erase(sensor.find_last_not_of(" \t") + 1);
    if (sensor == "lidar") {
      sense_lidar_ = true;
    } else if (sensor == "bev") {
      sense_bev_ = true;
    } else if (!sensor.empty()) {
      throw sim::BadInput(Name() + ": unknown sensor '" + sensor +
                          "' in env.sensors (driving tasks offer: lidar, bev)");
    }
  }
}

int64_t DrivingEnv::ObservationSize() const {
  return kEgoObs + kNearest * kCarObs + (sense_lidar_ ? kLidarRays : 0) +
         (sense_bev_ ? 2 * kBevCells * kBevCells : 0);
}
int64_t DrivingEnv::TaskStateSize() const { return kStateDoubles; }

void DrivingEnv::GetTaskState(std::span<double> out) const {
  std::memcpy(out.data(), &st_, sizeof(DrivingState));
}

void DrivingEnv::SetTaskState(std::span<const double> in) {
  std::memcpy(static_cast<void*>(&st_), in.data(), sizeof(DrivingState));
  RebuildRoad();
  SyncBodies();
}

void DrivingEnv::SyncBodies() {
  std::array<sim::KinematicBox, kMaxCars> boxes;
  double ego[3];
  world().Position(ego);
  for (int i = 0; i < kMaxCars; ++i) {
    const Car& car = st_.cars[i];
    sim::KinematicBox& box = boxes[i];
    box.active = car.active != 0;
    if (!box.active) continue;
    const RoadPose pose = road_.Pose(car.s, car.d);
    // Participants beyond every sensor (lidar range plus a margin for the box's extent) are
    // parked rather than posed: nothing could see or touch them.
    const double dx = pose.x - ego[0], dy = pose.y - ego[1];
    if (dx * dx + dy * dy > kBodyRadius * kBodyRadius) {
      box.active = false;
      continue;
    }
    box.x = pose.x;
    box.y = pose.y;
    box.yaw = pose.heading;
    box.hx = car.half_length;
    box.hy = car.half_width;
    // Heights as drawn in Primitives(): car bodies, obstacles (vans are tall), pedestrians.
    if (car.kind == kPedestrian) {
      box.hz = 0.85;
      box.z = 0.85;
    } else if (car.kind == kObstacle) {
      box.hz = car.half_length > 2.5 ? 1.4 : 0.6;
      box.z = box.hz;
    } else {
      box.hz = 0.4;
      box.z = 0.55;
    }
  }
  mutable_world().SetKinematicBoxes(boxes);
}

void DrivingEnv::RebuildRoad() {
  const int n = std::clamp(static_cast<int>(st_.n_segments), 1, kMaxSegments);
  road_.Build(std::span<const double>(st_.seg_length, n),
              std::span<const double>(st_.seg_curvature, n), static_cast<int>(st_.lanes),
              st_.lane_width);
}

void DrivingEnv::ResetTask(sim::Rng& rng) {
  st_ = DrivingState();
  double ego_s = 10;
  BuildScenario(rng, &st_, &ego_s);
  RebuildRoad();
  const double d = road_.LaneCentre(static_cast<int>(st_.target_lane));
  const RoadPose pose = road_.Pose(ego_s, d);
  mutable_world().Place(pose.x, pose.y, pose.heading);
  st_.expert_lane = st_.target_lane;
  st_.start_s = ego_s;
  if (st_.route_end_s <= 0) st_.route_end_s = road_.Length() - 15;
  UpdateEgoProjection();
  st_.prev_s = st_.ego_s;
  SyncBodies();
}

void DrivingEnv::UpdateEgoProjection() {
  double pos[3], heading;
  world().Position(pos);
  road_.Project(pos[0], pos[1], &st_.ego_s, &st_.ego_d, &heading);
  st_.heading_error = Wrap(world().Yaw() - heading);
}

void DrivingEnv::Leader(double s, double d, double half_band, int self, bool include_ego,
                        double* gap, double* v_lead, bool pedestrians) const {
  *gap = -1;
  *v_lead = 0;
  const double self_hl = self >= 0 ? st_.cars[self].half_length : world().params().half_length;
  auto consider = [&](double s_other, double d_other, double hl, double v) {
    if (s_other <= s || std::abs(d_other - d) > half_band) return;
    const double g = s_other - s - hl - self_hl;
    if (*gap < 0 || g < *gap) {
      *gap = g;
      *v_lead = v;
    }
  };
  for (int i = 0; i < kMaxCars; ++i) {
    const Car& car = st_.cars[i];
    if (i == self || car.active == 0 || (!pedestrians && car.kind == kPedestrian)) continue;
    consider(car.s, car.d, car.half_length, car.v);
  }
  if (include_ego) {
    consider(st_.ego_s, st_.ego_d, world().params().half_length, world().ForwardSpeed());
  }
}

double DrivingEnv::ScriptedAccel(const Car& car, int index) {
  double gap, v_lead;
  Leader(car.s, car.d, 0.6 * st_.lane_width, index, true, &gap, &v_lead);
  return idm_.Accel(car.v, car.v0, gap, v_lead);
}

void DrivingEnv::UpdateTraffic() {
  const double dt = ControlDt();
  std::array<double, kMaxCars> accel{};
  for (int i = 0; i < kMaxCars; ++i) {
    const Car& car = st_.cars[i];
    if (car.active == 0 || car.kind == kObstacle) continue;
    if (car.kind == kScriptedLead || car.kind == kPedestrian) {
      accel[i] = ScriptedAccel(car, i);
    } else {
      double gap, v_lead;
      Leader(car.s, car.d, 0.6 * st_.lane_width, i, true, &gap, &v_lead);
      accel[i] = idm_.Accel(car.v, car.v0, gap, v_lead);
    }
  }
  for (int i = 0; i < kMaxCars; ++i) {  // simultaneous update
    Car& car = st_.cars[i];
    if (car.active == 0 || car.kind == kObstacle) continue;
    const double v = std::max(0.0, car.v + std::max(accel[i], -9.0) * dt);
    car.s += 0.5 * (car.v + v) * dt;
    car.v = v;
    const double step = car.lateral_speed * dt;
    car.d += std::clamp(car.target_d - car.d, -step, step);
    if (car.s > road_.Length() - 3) car.active = 0;  // leaves the road's end
  }
}

// Bullet's narrow phase between the ego chassis and the kinematic bodies (posed by
// SyncBodies for the current traffic state).
bool DrivingEnv::EgoCollides() const { return world().EgoContact() >= 0; }

void DrivingEnv::AfterStep() {
  const double dt = ControlDt();
  st_.time += dt;
  UpdateTraffic();
  SyncBodies();
  st_.prev_s = st_.ego_s;
  UpdateEgoProjection();
  const double speed = world().ForwardSpeed();
  const double accel = (speed - st_.prev_speed) / dt;
  if (st_.steps > 0) {
    st_.sum_abs_jerk += std::abs(accel - st_.prev_accel) / dt;
    st_.jerk_steps += 1;
  }
  st_.prev_speed = speed;
  st_.prev_accel = accel;
  st_.sum_speed += speed;
  st_.steps += 1;
  if (EgoCollides()) st_.collision = 1;
  if (std::abs(st_.ego_d) > road_.HalfWidth() ||
      (st_.ego_s <= 0.01 && st_.time > 1)) st_.off_road = 1;
  if (st_.ego_s >= st_.route_end_s) st_.reached = 1;
  const bool failed = st_.collision != 0 || st_.off_road != 0;
  if (failed) {
    st_.success = 0;
  } else if (st_.reached != 0) {
    st_.success = 1;
  } else if (elapsed_steps() >= MaxEpisodeSteps()) {
    st_.success = SuccessAtTimeLimit() ? 1 : 0;
  }
  // Reward: progress at the target speed, staying in lane, aligned; failures cost.
  const double lane_offset = st_.ego_d - road_.LaneCentre(static_cast<int>(st_.expert_lane));
  last_reward_ = (st_.ego_s - st_.prev_s) / (st_.target_speed * dt) -
                 0.1 * std::abs(lane_offset) - 0.2 * std::abs(st_.heading_error) -
                 (failed ? 10.0 : 0.0);
}

double DrivingEnv::ComputeReward() { return last_reward_; }

bool DrivingEnv::ComputeTerminated() {
  return st_.collision != 0 || st_.off_road != 0 || st_.reached != 0;
}

std::vector<std::string> DrivingEnv::TaskInfoKeys() const {
  return {"success", "collision", "off_road", "route_completion", "mean_speed",
          "jerk",    "speed",     "lane_offset", "heading_error"};
}

void DrivingEnv::WriteTaskInfo(std::span<double> out) {
  const double span = std::max(1.0, st_.route_end_s - st_.start_s);
  out[0] = st_.success;
  out[1] = st_.collision;
  out[2] = st_.off_road;
  out[3] = std::clamp((st_.ego_s - st_.start_s) / span, 0.0, 1.0);
  out[4] = st_.steps > 0 ? st_.sum_speed / st_.steps : 0.0;
  out[5] = st_.jerk_steps > 0 ? st_.sum_abs_jerk / st_.jerk_steps : 0.0;
  out[6] = world().ForwardSpeed();
  out[7] = st_.ego_d - road_.LaneCentre(static_cast<int>(st_.target_lane));
  out[8] = st_.heading_error;
}

void DrivingEnv::WriteObservation(std::span<double> out) const {
  double pos[3], vel[3];
  world().Position(pos);
  world().LinearVelocity(vel);
  const double yaw = world().Yaw(), c = std::cos(yaw), s = std::sin(yaw);
  const double vx = c * vel[0] + s * vel[1], vy = -s * vel[0] + c * vel[1];
  int k = 0;
  out[k++] = vx;
  out[k++] = vy;
  out[k++] = world().YawRate();
  out[k++] = st_.ego_d - road_.LaneCentre(static_cast<int>(st_.target_lane));
  out[k++] = st_.heading_error;
  out[k++] = road_.HalfWidth() - st_.ego_d;  // to the left edge
  out[k++] = road_.HalfWidth() + st_.ego_d;  // to the right edge
  for (double ahead : {10.0, 25.0, 50.0}) out[k++] = 10.0 * road_.Curvature(st_.ego_s + ahead);
  out[k++] = st_.target_speed;
  out[k++] = world().Steering();
  // The kNearest participants by distance: ego-frame offset, relative velocity, heading.
  std::array<std::pair<double, int>, kMaxCars> order;
  int n = 0;
  for (int i = 0; i < kMaxCars; ++i) {
    const Car& car = st_.cars[i];
    if (car.active == 0 || (car.kind == kPedestrian && Occluded(i))) continue;
    const RoadPose pose = road_.Pose(car.s, car.d);
    const double dx = pose.x - pos[0], dy = pose.y - pos[1];
    order[n++] = {dx * dx + dy * dy, i};
  }
  std::stable_sort(order.begin(), order.begin() + n,
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (int j = 0; j < kNearest; ++j) {
    if (j >= n) {
      for (int q = 0; q < kCarObs; ++q) out[k++] = 0;
      continue;
    }
    const Car& car = st_.cars[order[j].second];
    const RoadPose pose = road_.Pose(car.s, car.d);
    const double dx = pose.x - pos[0], dy = pose.y - pos[1];
    const double cvx = car.v * std::cos(pose.heading) - vel[0];
    const double cvy = car.v * std::sin(pose.heading) - vel[1];
    out[k++] = c * dx + s * dy;
    out[k++] = -s * dx + c * dy;
    out[k++] = c * cvx + s * cvy;
    out[k++] = -s * cvx + c * cvy;
    out[k++] = Wrap(pose.heading - yaw);
    out[k++] = 1;
  }
  if (sense_lidar_) {
    Lidar(kLidarRays, kLidarRange, out.subspan(k, kLidarRays));
    k += kLidarRays;
  }
  if (sense_bev_) BirdsEye(out.subspan(k, 2 * kBevCells * kBevCells));
}

void DrivingEnv::ExpertAction(std::span<double> action) {
  const auto& p = world().params();
  const double v = world().ForwardSpeed();
  const double w = st_.lane_width;
  int lane = static_cast<int>(st_.expert_lane);
  // Lane choice: leave a lane blocked by a slow or stopped participant for a free one.
  double gap, v_lead;
  Leader(st_.ego_s, road_.LaneCentre(lane), 0.6 * w, -1, false, &gap, &v_lead, false);
  if (gap >= 0 && gap < 45 && v_lead < 0.6 * st_.target_speed) {
    double best_free = gap;
    for (int other : {lane - 1, lane + 1}) {
      if (other < 0 || other >= road_.Lanes()) continue;
      const double d_other = road_.LaneCentre(other);
      bool clear = true;
      for (const Car& car : st_.cars) {
        if (car.active == 0 || std::abs(car.d - d_other) > 0.6 * w) continue;
        
        if (car.s > st_.ego_s - 12 && car.s < st_.ego_s + 15) clear = false;
      }
      double g2, v2;
      Leader(st_.ego_s - 5, d_other, 0.6 * w, -1, false, &g2, &v2);
      const double free = g2 < 0 ? 1e9 : g2 + 10 * v2;
      if (clear && free > best_free + 10) {
        best_free = free;
        lane = other;
      }
    }
    st_.expert_lane = lane;
  }
  const double d_target = road_.LaneCentre(lane);
  // Pure pursuit toward a point on the lane centre line ahead.
  const double lookahead = std::clamp(5.0 + 0.7 * v, 7.0, 30.0);
  const RoadPose goal = road_.Pose(st_.ego_s + lookahead, d_target);
  double pos[3];
  world().Position(pos);
  const double yaw = world().Yaw();
  const double dx = goal.x - pos[0], dy = goal.y - pos[1];
  const double lx = std::cos(yaw) * dx + std::sin(yaw) * dy;
  const double ly = -std::sin(yaw) * dx + std::cos(yaw) * dy;
  const double dist2 = std::max(1.0, lx * lx + ly * ly);
  const double delta = std::atan(2.0 * p.wheelbase * ly / dist2);
  action[0] = std::clamp(delta / p.max_steer, -1.0, 1.0);
  // Speed: IDM toward the target speed, capped by the curvature ahead, behind the leader in
  // the current or target lane.
  double v0 = st_.target_speed;
  for (double ahead = 0; ahead <= 50; ahead += 5) {
    const double kappa = std::abs(road_.Curvature(st_.ego_s + ahead));
    if (kappa > 1e-6) v0 = std::min(v0, std::sqrt(2.5 / kappa));
  }
  Idm expert_idm{.a = 2.0, .b = 3.0, .s0 = 4.0, .T = 1.2};
  double accel = 1e9;
  for (double d : {st_.ego_d, d_target}) {
    Leader(st_.ego_s, d, 0.5 * w + 0.2, -1, false, &gap, &v_lead);
    accel = std::min(accel, expert_idm.Accel(std::max(v, 0.0), v0, gap, v_lead));
  }
  // Pedestrians whose walk crosses the ego's corridor ahead are stationary leaders.
  for (const Car& car : st_.cars) {
    if (car.active == 0 || car.kind != kPedestrian || car.s < st_.ego_s) continue;
    const double lo = std::min(car.d, car.target_d), hi = std::max(car.d, car.target_d);
    const double band = p.half_width + car.half_width + 0.8;
    if (hi < std::min(st_.ego_d, d_target) - band || lo > std::max(st_.ego_d, d_target) + band) continue;
    const double g = car.s - st_.ego_s - car.half_length - p.half_length;
    accel = std::min(accel, expert_idm.Accel(std::max(v, 0.0), v0, std::max(g, 0.0), 0.0));
    if (g >= 0 && g < 6) gap = g;
  }
  if (gap >= 0 && gap < 6) accel = std::min(accel, -p.max_brake_decel);
  const double engine_accel =
      p.max_engine_force * std::max(0.05, 1 - std::abs(v) / p.max_speed) / p.mass;
  accel += 0.15;  // rolling resistance
  action[1] = accel > 0 ? std::clamp(accel / engine_accel, 0.0, 1.0)
                        : std::clamp(accel / p.max_brake_decel, -1.0, 0.0);
}

const std::vector<sim::TruthField>& DrivingEnv::TruthFields() const {
  static const std::vector<sim::TruthField> fields = {
      {"ego", {6}}, {"cars", {kMaxCars, 5}}, {"lidar", {kLidarRays}}};
  return fields;
}

void DrivingEnv::WriteTruth(std::span<double> out) const {
  double pos[3], vel[3];
  world().Position(pos);
  world().LinearVelocity(vel);
  int k = 0;
  out[k++] = pos[0];
  out[k++] = pos[1];
  out[k++] = world().Yaw();
  out[k++] = vel[0];
  out[k++] = vel[1];
  out[k++] = world().YawRate();
  for (const Car& car : st_.cars) {
    const RoadPose pose = road_.Pose(car.s, car.d);
    out[k++] = car.active;
    out[k++] = car.active != 0 ? pose.x : 0.0;
    out[k++] = car.active != 0 ? pose.y : 0.0;
    out[k++] = car.active != 0 ? pose.heading : 0.0;
    out[k++] = car.active != 0 ? car.v : 0.0;
  }
  Lidar(kLidarRays, kLidarRange, out.subspan(k, kLidarRays));
}

void DrivingEnv::BirdsEye(std::span<double> out) const {
  std::fill(out.begin(), out.end(), 0.0);
  double pos[3];
  world().Position(pos);
  const double yaw = world().Yaw(), c = std::cos(yaw), sn = std::sin(yaw);
  const double half = 0.5 * kBevCells * kBevCell;
  auto mark = [&](int channel, double x, double y) {
    const double fx = c * (x - pos[0]) + sn * (y - pos[1]);   // ahead
    const double fy = -sn * (x - pos[0]) + c * (y - pos[1]);  // left
    const int row = static_cast<int>(std::floor((half - fx) / kBevCell));
    const int col = static_cast<int>(std::floor((half - fy) / kBevCell));
    if (row < 0 || row >= kBevCells || col < 0 || col >= kBevCells) return;
    out[(channel * kBevCells + row) * kBevCells + col] = 1.0;
  };
  const double reach = 1.5 * half;
  const double road_half = road_.HalfWidth();
  for (double s = std::max(0.0, st_.ego_s - reach); s <= std::min(road_.Length(), st_.ego_s + reach);
       s += 0.5 * kBevCell) {
    for (double d = -road_half + 0.25; d <= road_half - 0.25; d += 0.5 * kBevCell) {
      const RoadPose p = road_.Pose(s, d);
      mark(0, p.x, p.y);
    }
  }
  for (const Car& car : st_.cars) {
    if (car.active == 0 || std::abs(car.s - st_.ego_s) > reach) continue;
    const RoadPose p = road_.Pose(car.s, car.d);
    const double hc = std::cos(p.heading), hs = std::sin(p.heading);
    for (double a = -car.half_length; a <= car.half_length + 1e-9; a += 0.5) {
      for (double b = -car.half_width; b <= car.half_width + 1e-9; b += 0.5) {
        mark(1, p.x + hc * a - hs * b, p.y + hs * a + hc * b);
      }
    }
  }
}

bool DrivingEnv::Occluded(int index) const {
  double pos[3];
  world().Position(pos);
  const RoadPose target = road_.Pose(st_.cars[index].s, st_.cars[index].d);
  const double ux = target.x - pos[0], uy = target.y - pos[1];
  for (const Car& car : st_.cars) {
    if (car.active == 0 || car.kind != kObstacle) continue;
    const RoadPose pose = road_.Pose(car.s, car.d);
    const double c = std::cos(pose.heading), s = std::sin(pose.heading);
    const double o[2] = {c * (pos[0] - pose.x) + s * (pos[1] - pose.y),
                         -s * (pos[0] - pose.x) + c * (pos[1] - pose.y)};
    const double dir[2] = {c * ux + s * uy, -s * ux + c * uy};
    const double half[2] = {car.half_length, car.half_width};
    double t0 = 0, t1 = 1;
    bool hit = true;
    for (int a = 0; a < 2 && hit; ++a) {
      if (std::abs(dir[a]) < 1e-12) {
        hit = std::abs(o[a]) <= half[a];
      } else {
        double ta = (-half[a] - o[a]) / dir[a], tb = (half[a] - o[a]) / dir[a];
        if (ta > tb) std::swap(ta, tb);
        t0 = std::max(t0, ta);
        t1 = std::min(t1, tb);
        hit = t0 <= t1;
      }
    }
    if (hit) return true;
  }
  return false;
}

void DrivingEnv::Lidar(int rays, double range, std::span<double> out) const {
  double pos[3];
  world().Position(pos);
  const double yaw = world().Yaw();
  const double from[3] = {pos[0], pos[1], kLidarHeight};
  for (int r = 0; r < rays; ++r) {
    const double angle = yaw + 2 * M_PI * r / rays;
    const double to[3] = {pos[0] + range * std::cos(angle), pos[1] + range * std::sin(angle),
                          kLidarHeight};
    const double hit = world().RayTest(from, to);
    out[r] = hit < 0 ? range : std::min(hit, range);
  }
}

void DrivingEnv::Primitives(std::vector<sim::Primitive>* out) const {
  double pos[3];
  world().Position(pos);
  const double half = road_.HalfWidth();
  // Road surface, edge lines and lane dashes near the ego.
  const double s_from = std::max(0.0, st_.ego_s - 30), s_to = std::min(road_.Length(), st_.ego_s + 90);
  for (double s = std::floor(s_from / 3) * 3; s < s_to; s += 3) {
    const RoadPose c = road_.Pose(s + 1.5, 0);
    sim::Primitive p;
    SetBox(&p, c.x, c.y, 0.0, c.heading, 1.6, half + 0.3, 0.01);
    SetColour(&p, 0.25f, 0.25f, 0.27f);
    p.id = 1;
    out->push_back(p);
    for (double side : {-half, half}) {
      const RoadPose e = road_.Pose(s + 1.5, side);
      SetBox(&p, e.x, e.y, 0.005, e.heading, 1.6, 0.08, 0.01);
      SetColour(&p, 0.9f, 0.9f, 0.9f);
      out->push_back(p);
    }
    if (static_cast<int64_t>(s / 3) % 2 == 0) {
      for (int lane = 1; lane < road_.Lanes(); ++lane) {
        const RoadPose e = road_.Pose(s + 1.5, road_.LaneCentre(lane) - 0.5 * road_.LaneWidth());
        SetBox(&p, e.x, e.y, 0.005, e.heading, 1.2, 0.07, 0.01);
        SetColour(&p, 0.95f, 0.95f, 0.95f);
        out->push_back(p);
      }
    }
  }
  // Traffic and obstacles.
  for (int i = 0; i < kMaxCars; ++i) {
    const Car& car = st_.cars[i];
    if (car.active == 0 || std::abs(car.s - st_.ego_s) > 100) continue;
    const RoadPose pose = road_.Pose(car.s, car.d);
    sim::Primitive p;
    p.id = 10 + i;
    if (car.kind == kPedestrian) {
      SetBox(&p, pose.x, pose.y, 0.85, pose.heading, car.half_length, car.half_width, 0.85);
      SetColour(&p, 0.95f, 0.85f, 0.1f);
      out->push_back(p);
      continue;
    }
    if (car.kind == kObstacle) {
      const double hh = car.half_length > 2.5 ? 1.4 : 0.6;  // vans are tall
      SetBox(&p, pose.x, pose.y, hh, pose.heading, car.half_length, car.half_width, hh);
      SetColour(&p, 0.95f, 0.55f, 0.1f);
      out->push_back(p);
      continue;
    }
    SetBox(&p, pose.x, pose.y, 0.55, pose.heading, car.half_length, car.half_width, 0.4);
    if (car.kind == kScriptedLead) SetColour(&p, 0.85f, 0.15f, 0.15f);
    else SetColour(&p, 0.8f, 0.8f, 0.75f);
    out->push_back(p);
    SetBox(&p, pose.x - 0.3 * std::cos(pose.heading), pose.y - 0.3 * std::sin(pose.heading), 1.2,
           pose.heading, 0.5 * car.half_length, 0.9 * car.half_width, 0.3);
    SetColour(&p, 0.2f, 0.25f, 0.3f);
    out->push_back(p);
  }
  // The ego: chassis, cabin and wheels from the Bullet world.
  const auto& vp = world().params();
  sim::Primitive body;
  body.shape = sim::Primitive::Shape::kBox;
  body.size[0] = vp.half_length;
  body.size[1] = vp.half_width;
  body.size[2] = vp.half_height;
  std::copy(pos, pos + 3, body.pos);
  world().Basis(body.mat);
  SetColour(&body, 0.15f, 0.35f, 0.9f);
  body.id = 2;
  out->push_back(body);
  sim::Primitive cabin = body;
  cabin.size[0] = 0.5 * vp.half_length;
  cabin.size[1] = 0.9 * vp.half_width;
  cabin.size[2] = 0.3;
  for (int a = 0; a < 3; ++a) cabin.pos[a] = pos[a] + body.mat[3 * a + 2] * 0.65 - body.mat[3 * a] * 0.3;
  SetColour(&cabin, 0.6f, 0.8f, 0.95f);
  out->push_back(cabin);
  const double yaw = world().Yaw();
  for (int i = 0; i < 4; ++i) {
    sim::Primitive wheel;
    wheel.shape = sim::Primitive::Shape::kCylinder;
    wheel.size[0] = vp.wheel_radius;
    wheel.size[1] = 0.5 * vp.wheel_width;
    double mat[9];
    world().WheelPose(i, wheel.pos, mat);
    const double h = yaw + (i < 2 ? world().Steering() : 0.0);
    const double fx = std::cos(h), fy = std::sin(h);
    // Columns: x = forward, y = up, z = axle (the cylinder's axis).
    const double m[9] = {fx, 0, -fy, fy, 0, fx, 0, 1, 0};
    std::copy(m, m + 9, wheel.mat);
    SetColour(&wheel, 0.08f, 0.08f, 0.08f);
    wheel.id = 2;
    out->push_back(wheel);
  }
}

}  // namespace darkmatter::tasks::driving
