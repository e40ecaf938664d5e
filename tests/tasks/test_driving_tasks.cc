// driving/follow and driving/avoid: collisions are detected (Bullet contacts, agreeing with
// an oriented-box check), IDM keeps a safe gap, and the scripted expert completes >= 90% of
// seeds; sensors: Bullet lidar, the bird's-eye grid, env.sensors sizes, camera frames.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "sim/error.h"
#include "tasks/driving/driving_env.h"
#include "tasks/registry.h"

namespace sim = darkmatter::sim;
namespace tasks = darkmatter::tasks;
namespace driving = darkmatter::tasks::driving;

namespace {

double Info(const sim::Env& env, const sim::StepResult& r, const char* key) {
  const int i = sim::FindInfoKey(env.InfoKeys(), key);
  REQUIRE(i >= 0);
  return r.info[i];
}

// Runs the expert over `episodes` seeds; returns successes, counts collisions.
int ExpertSuccesses(const std::string& task, int episodes, int* collisions) {
  auto env = tasks::MakeEnv(task);
  int successes = 0;
  *collisions = 0;
  std::vector<double> action(2);
  for (int seed = 0; seed < episodes; ++seed) {
    sim::StepResult r = env->Reset(100 + seed);
    while (!r.terminated && !r.truncated) {
      env->ExpertAction(action);
      r = env->Step(action);
    }
    successes += Info(*env, r, "success") == 1;
    *collisions += Info(*env, r, "collision") == 1;
  }
  return successes;
}

}  // namespace

TEST_CASE("driving: IDM keeps a safe gap behind a leader that stops", "[tasks][driving]") {
  const driving::Idm idm;
  double lead_s = 40, lead_v = 15, s = 0, v = 15, min_gap = 1e9;
  const double dt = 0.1;
  for (int i = 0; i < 400; ++i) {
    const double lead_a = (i > 20 && lead_v > 0) ? -6.0 : 0.0;  // hard stop
    const double a = idm.Accel(v, 15, lead_s - s - 4.4, lead_v);
    lead_v = std::max(0.0, lead_v + lead_a * dt);
    lead_s += lead_v * dt;
    v = std::max(0.0, v + std::max(a, -9.0) * dt);
    s += v * dt;
    min_gap = std::min(min_gap, lead_s - s - 4.4);
  }
  CHECK(min_gap > 1.0);
  CHECK(v < 0.1);
  CHECK(lead_s - s - 4.4 == Approx(idm.s0).margin(0.5));
}

TEST_CASE("driving/lane_keep: traffic cars never overlap", "[tasks][driving]") {
  auto env = tasks::MakeEnv("driving/lane_keep");
  auto* driving_env = dynamic_cast<driving::DrivingEnv*>(env.get());
  REQUIRE(driving_env);
  sim::StepResult r = env->Reset(3);
  std::vector<double> action(2);
  double min_gap = 1e9;
  while (!r.terminated && !r.truncated) {
    env->ExpertAction(action);
    r = env->Step(action);
    const auto& st = driving_env->state();
    for (int i = 0; i < driving::kMaxCars; ++i) {
      for (int j = 0; j < driving::kMaxCars; ++j) {
        const auto &a = st.cars[i], &b = st.cars[j];
        if (i == j || !a.active || !b.active || std::abs(a.d - b.d) > 1 || b.s < a.s) continue;
        min_gap = std::min(min_gap, b.s - a.s - a.half_length - b.half_length);
      }
    }
  }
  CHECK(min_gap > 1.0);
}

TEST_CASE("driving/avoid: driving straight into an obstacle is a collision", "[tasks][driving]") {
  auto env = tasks::MakeEnv("driving/avoid");
  sim::StepResult r = env->Reset(1);
  const std::vector<double> action = {0, 0.7};
  int steps = 0;
  while (!r.terminated && !r.truncated && steps < 200) {
    r = env->Step(action);
    ++steps;
  }
  CHECK(r.terminated);
  CHECK(Info(*env, r, "collision") == 1);
  CHECK(Info(*env, r, "success") == 0);
}

TEST_CASE("driving/follow: the expert survives hard braking and cut-ins", "[tasks][driving][expert]") {
  int collisions = 0;
  const int successes = ExpertSuccesses("driving/follow", 10, &collisions);
  CHECK(collisions == 0);
  CHECK(successes >= 9);
}

TEST_CASE("driving/follow: falling behind without a collision is not success",
          "[tasks][driving]") {
  auto env = tasks::MakeEnv("driving/follow");
  sim::StepResult r = env->Reset(100);
  const std::vector<double> coast = {0.0, 0.0};  // no steering, no throttle: the lead drives away
  while (!r.terminated && !r.truncated) r = env->Step(coast);
  CHECK(r.truncated);
  CHECK(Info(*env, r, "collision") == 0);
  CHECK(Info(*env, r, "off_road") == 0);
  CHECK(Info(*env, r, "success") == 0);
}

TEST_CASE("driving/avoid: the expert passes the obstacles", "[tasks][driving][expert]") {
  int collisions = 0;
  const int successes = ExpertSuccesses("driving/avoid", 10, &collisions);
  CHECK(collisions <= 1);
  CHECK(successes >= 9);
}

TEST_CASE("driving: set_state restores follow and avoid exactly", "[tasks][driving][determinism]") {
  for (const char* task : {"driving/follow", "driving/avoid"}) {
    auto a = tasks::MakeEnv(task), b = tasks::MakeEnv(task);
    a->Reset(21);
    std::vector<double> action(2);
    for (int i = 0; i < 70; ++i) {
      a->ExpertAction(action);
      a->Step(action);
    }
    b->Reset(0);
    b->SetState(a->GetState());
    for (int i = 0; i < 80; ++i) {
      a->ExpertAction(action);
      const sim::StepResult ra = a->Step(action);
      const bool done = ra.terminated || ra.truncated;
      b->ExpertAction(action);
      b->Step(action);
      REQUIRE(a->GetState().physics == b->GetState().physics);
      if (done) break;
    }
  }
}

TEST_CASE("driving/occluded_pedestrian: seen on the verge, hidden behind the van, then seen "
          "crossing",
          "[tasks][driving]") {
  auto env = tasks::MakeEnv("driving/occluded_pedestrian");
  auto* driving_env = dynamic_cast<driving::DrivingEnv*>(env.get());
  REQUIRE(driving_env);
  auto present = [](const sim::StepResult& r) {
    int count = 0;
    for (int j = 0; j < driving::kNearest; ++j) count += r.observation[12 + 6 * j + 5] == 1;
    return count;
  };
  sim::StepResult r = env->Reset(5);
  CHECK_FALSE(driving_env->Occluded(1));  // the pedestrian starts in view, on the verge
  CHECK(present(r) == 5);  // the van, three cars and the pedestrian
  bool hidden = false;  // then walks in behind the van
  std::vector<double> action(2);
  bool seen = false, crossed = false;
  while (!r.terminated && !r.truncated) {
    env->ExpertAction(action);
    r = env->Step(action);
    // Visible once out from behind the van: then it is among the observed participants.
    hidden |= driving_env->Occluded(1);
    if (hidden && !driving_env->Occluded(1)) {
      seen = true;
      CHECK(present(r) >= 1);
    }
    crossed |= driving_env->state().cars[1].d > 0;
  }
  CHECK(hidden);
  CHECK(seen);
  CHECK(crossed);
  CHECK(Info(*env, r, "success") == 1);
}

TEST_CASE("driving/occluded_pedestrian: the expert yields to the pedestrian",
          "[tasks][driving][expert]") {
  int collisions = 0;
  const int successes = ExpertSuccesses("driving/occluded_pedestrian", 10, &collisions);
  CHECK(collisions == 0);
  CHECK(successes >= 9);
}

TEST_CASE("driving: lidar and bird's-eye truth see the car ahead and the road",
          "[tasks][driving]") {
  auto env = tasks::MakeEnv("driving/avoid");
  auto* driving_env = dynamic_cast<driving::DrivingEnv*>(env.get());
  REQUIRE(driving_env);
  env->Reset(1);
  // Bring the first obstacle (ego lane, ~50 m ahead) within 20 m.
  std::vector<double> action = {0, 0.6};
  while (driving_env->state().cars[0].s - driving_env->state().ego_s > 20) env->Step(action);
  int64_t size = 0;
  for (const auto& field : env->TruthFields()) {
    int64_t n = 1;
    for (int64_t dim : field.shape) n *= dim;
    size += n;
  }
  std::vector<double> truth(size);
  env->WriteTruth(truth);
  const int lidar = 6 + driving::kMaxCars * 5;
  const double ahead = truth[lidar];  // ray 0 points straight ahead
  const auto& st = driving_env->state();
  const double expected = st.cars[0].s - st.ego_s - st.cars[0].half_length - 0.0;
  CHECK(ahead == Approx(expected).margin(1.0));
  CHECK(truth[lidar + driving::kLidarRays / 2] == driving::kLidarRange);  // nothing behind
  const int n = driving::kBevCells;
  std::vector<double> bev(2 * n * n);
  driving_env->BirdsEye(bev);
  auto cell = [&](int channel, int row, int col) { return bev[(channel * n + row) * n + col]; };
  CHECK(cell(0, n / 2, n / 2) == 1);  // the ego is on the road
  CHECK(cell(0, n / 2, 0) == 0);      // 24 m to the left is off the road
  // The obstacle is marked ahead of the ego (rows above the centre) in its column.
  int marked = 0;
  for (int row = 0; row < n / 2 - 1; ++row) marked += cell(1, row, n / 2) == 1;
  CHECK(marked >= 1);
}

namespace {

constexpr int kBaseObs = 12 + driving::kNearest * 6;  // kinematic state before the sensors

// Copies the task state out of / into an env state (it follows the vehicle's values).
driving::DrivingState TaskState(const sim::EnvState& state) {
  driving::DrivingState st;
  std::memcpy(static_cast<void*>(&st), state.physics.data() + sim::BulletVehicleWorld::kStateSize,
              sizeof(st));
  return st;
}
void PutTaskState(const driving::DrivingState& st, sim::EnvState* state) {
  std::memcpy(state->physics.data() + sim::BulletVehicleWorld::kStateSize, &st, sizeof(st));
}

// Resets `env` with `seed` and leaves a single static obstacle in car slot `slot`, `ahead`
// metres along the road and `left` metres beside the ego (half sizes hl, hw; <= 0 keeps the
// default car size).
void LoneObstacle(sim::Env& env, uint64_t seed, int slot, double ahead, double left,
                  double hl = 0, double hw = 0) {
  env.Reset(seed);
  sim::EnvState state = env.GetState();
  driving::DrivingState st = TaskState(state);
  for (auto& car : st.cars) car.active = 0;
  driving::Car& box = st.cars[slot];
  box.active = 1;
  box.kind = driving::kObstacle;
  box.s = st.ego_s + ahead;
  box.d = st.ego_d + left;
  box.v = box.v0 = 0;
  if (hl > 0) box.half_length = hl;
  if (hw > 0) box.half_width = hw;
  PutTaskState(st, &state);
  env.SetState(state);
}

// Distance along the ray (x, y, angle) to an oriented box (slab test), or -1.
double RayToBox(double x, double y, double angle, double cx, double cy, double heading, double hl,
                double hw) {
  const double c = std::cos(heading), s = std::sin(heading);
  const double o[2] = {c * (x - cx) + s * (y - cy), -s * (x - cx) + c * (y - cy)};
  const double ux = std::cos(angle), uy = std::sin(angle);
  const double dir[2] = {c * ux + s * uy, -s * ux + c * uy};
  const double half[2] = {hl, hw};
  double t0 = 0, t1 = 1e9;
  for (int a = 0; a < 2; ++a) {
    if (std::abs(dir[a]) < 1e-12) {
      if (std::abs(o[a]) > half[a]) return -1;
      continue;
    }
    double ta = (-half[a] - o[a]) / dir[a], tb = (half[a] - o[a]) / dir[a];
    if (ta > tb) std::swap(ta, tb);
    t0 = std::max(t0, ta);
    t1 = std::min(t1, tb);
    if (t0 > t1) return -1;
  }
  return t0;
}

std::vector<double> Truth(const sim::Env& env) {
  int64_t size = 0;
  for (const auto& field : env.TruthFields()) {
    int64_t n = 1;
    for (int64_t dim : field.shape) n *= dim;
    size += n;
  }
  std::vector<double> truth(size);
  env.WriteTruth(truth);
  return truth;
}

}  // namespace

TEST_CASE("driving: observation sizes follow env.sensors", "[tasks][driving]") {
  const int64_t lidar = driving::kLidarRays;
  const int64_t bev = 2 * driving::kBevCells * driving::kBevCells;
  const std::pair<const char*, int64_t> cases[] = {
      {"", kBaseObs}, {"lidar", kBaseObs + lidar}, {"bev", kBaseObs + bev},
      {"lidar,bev", kBaseObs + lidar + bev}, {"bev, lidar", kBaseObs + lidar + bev}};
  for (const auto& [sensors, size] : cases) {
    for (const char* task : {"driving/lane_keep", "driving/avoid"}) {
      sim::EnvSettings settings;
      settings.sensors = sensors;
      auto env = tasks::MakeEnv(task, settings);
      CHECK(env->ObservationSpec().Size() == size);
      const sim::StepResult r = env->Reset(2);
      CHECK(static_cast<int64_t>(r.observation.size()) == size);
    }
  }
  sim::EnvSettings bad;
  bad.sensors = "lidar,radar";
  CHECK_THROWS_WITH(tasks::MakeEnv("driving/lane_keep", bad), Catch::Contains("'radar'"));
  CHECK_THROWS_AS(tasks::MakeEnv("driving/lane_keep", bad), sim::BadInput);
  sim::EnvSettings other;
  other.sensors = "lidar";
  CHECK_THROWS_AS(tasks::MakeEnv("manipulation/reach", other), sim::BadInput);
}

TEST_CASE("driving: lidar rays through Bullet see a kinematic obstacle ahead, none when gone",
          "[tasks][driving]") {
  sim::EnvSettings settings;
  settings.sensors = "lidar";
  auto env = tasks::MakeEnv("driving/lane_keep", settings);
  auto* driving_env = dynamic_cast<driving::DrivingEnv*>(env.get());
  REQUIRE(driving_env);
  LoneObstacle(*env, 1, 0, 20, 0, 1.0, 1.0);
  std::vector<double> action = {0, -1};  // hold still
  sim::StepResult r = env->Step(action);
  std::vector<double> truth = Truth(*env);
  const int cars = 6, lidar = 6 + driving::kMaxCars * 5;
  const double expected = RayToBox(truth[0], truth[1], truth[2], truth[cars + 1], truth[cars + 2],
                                   truth[cars + 3], 1.0, 1.0);
  REQUIRE(expected > 15);
  CHECK(r.observation[kBaseObs] == Approx(expected).margin(0.05));  // ray 0: straight ahead
  CHECK(truth[lidar] == Approx(expected).margin(0.05));
  for (int ray = 1; ray < driving::kLidarRays; ++ray) {
    if (ray > 2 && ray < driving::kLidarRays - 2) {
      CHECK(r.observation[kBaseObs + ray] == driving::kLidarRange);
    }
  }
  // Removed: every ray reads the maximum range.
  sim::EnvState state = env->GetState();
  driving::DrivingState st = TaskState(state);
  st.cars[0].active = 0;
  PutTaskState(st, &state);
  env->SetState(state);
  r = env->Step(action);
  for (int ray = 0; ray < driving::kLidarRays; ++ray) {
    CHECK(r.observation[kBaseObs + ray] == driving::kLidarRange);
  }
  // Beyond the range: nothing either.
  state = env->GetState();
  st = TaskState(state);
  st.cars[0].active = 1;
  st.cars[0].s = st.ego_s + driving::kLidarRange + 10;
  PutTaskState(st, &state);
  env->SetState(state);
  r = env->Step(action);
  CHECK(r.observation[kBaseObs] == driving::kLidarRange);
}

TEST_CASE("driving: the bird's-eye grid marks a car beside the ego", "[tasks][driving]") {
  sim::EnvSettings settings;
  settings.sensors = "bev";
  auto env = tasks::MakeEnv("driving/lane_keep", settings);
  LoneObstacle(*env, 4, 3, 0, 4.5);  // a car-sized obstacle 4.5 m to the left
  const sim::StepResult r = env->Step(std::vector<double>{0, -1});
  const int n = driving::kBevCells;
  auto cell = [&](int channel, int row, int col) {
    return r.observation[kBaseObs + (channel * n + row) * n + col];
  };
  // Cells covering ego-frame (ahead, left) = (0, 4.5 m) and their mirror on the right.
  const int row = static_cast<int>(std::floor(0.5 * n - 0.0 / driving::kBevCell));
  const int left = static_cast<int>(std::floor(0.5 * n - 4.5 / driving::kBevCell));
  const int right = n - 1 - left;
  int marked_left = 0, marked_right = 0;
  for (int dr = -2; dr <= 1; ++dr) {
    marked_left += cell(1, row + dr, left) == 1;
    marked_right += cell(1, row + dr, right) == 1;
  }
  CHECK(marked_left >= 3);  // the car is 4.4 m long: about three 1.5 m cells
  CHECK(marked_right == 0);
  CHECK(cell(1, n / 2, n / 2) == 0);  // the ego itself is not a participant
  CHECK(cell(0, n / 2, n / 2) == 1);  // on the road
  double marked = 0;
  for (int i = 0; i < n * n; ++i) marked += r.observation[kBaseObs + n * n + i];
  CHECK(marked >= 3);
  CHECK(marked <= 12);  // one car, 4.4 m x 1.8 m, nothing else
}

TEST_CASE("driving: camera observations show the ego and change as it drives", "[tasks][driving]") {
  sim::EnvSettings settings;
  settings.observation = "state+pixels";
  settings.frame_width = 64;
  settings.frame_height = 48;
  auto env = tasks::MakeEnv("driving/lane_keep", settings);
  CHECK(env->PixelSpec().shape == std::vector<int64_t>{48, 64, 3});
  CHECK(env->ObservationSpec().Size() == kBaseObs);
  const sim::StepResult first = env->Reset(6);
  const std::vector<uint8_t> before(first.pixels.begin(), first.pixels.end());
  REQUIRE(before.size() == 48 * 64 * 3);
  CHECK(*std::max_element(before.begin(), before.end()) >
        *std::min_element(before.begin(), before.end()));
  sim::RenderOutput view;
  env->Render(sim::CameraSpec{}, 64, 48, &view, false, true);
  REQUIRE(view.segmentation.size() == 64 * 48);
  const auto ego_pixels = std::count(view.segmentation.begin(), view.segmentation.end(), 2);
  CHECK(ego_pixels > 20);  // the ego (segmentation id 2) is in view of the chase camera
  sim::StepResult r = first;
  std::vector<double> action(2);
  for (int t = 0; t < 20; ++t) {
    env->ExpertAction(action);
    r = env->Step(action);
  }
  CHECK(std::vector<uint8_t>(r.pixels.begin(), r.pixels.end()) != before);  // it moved
}

TEST_CASE("driving: Bullet chassis contacts agree with an oriented-box overlap check",
          "[tasks][driving]") {
  // Separating-axis test of two boxes in the plane: centre, heading, half extents.
  auto overlap = [](const double a[5], const double b[5]) {
    for (const double* axis_box : {a, b}) {
      for (int k = 0; k < 2; ++k) {
        const double ax = k == 0 ? std::cos(axis_box[2]) : -std::sin(axis_box[2]);
        const double ay = k == 0 ? std::sin(axis_box[2]) : std::cos(axis_box[2]);
        double radius = 0;
        for (const double* box : {a, b}) {
          const double c = std::cos(box[2]), s = std::sin(box[2]);
          radius += box[3] * std::abs(c * ax + s * ay) + box[4] * std::abs(-s * ax + c * ay);
        }
        if (std::abs((b[0] - a[0]) * ax + (b[1] - a[1]) * ay) > radius) return false;
      }
    }
    return true;
  };
  auto env = tasks::MakeEnv("driving/avoid");
  auto* driving_env = dynamic_cast<driving::DrivingEnv*>(env.get());
  REQUIRE(driving_env);
  const auto& vp = driving_env->world().params();
  auto any_overlap = [&]() {
    const std::vector<double> truth = Truth(*env);
    const double ego[5] = {truth[0], truth[1], truth[2], vp.half_length, vp.half_width};
    for (int i = 0; i < driving::kMaxCars; ++i) {
      const double* car = &truth[6 + 5 * i];
      const auto& c = driving_env->state().cars[i];
      const double box[5] = {car[1], car[2], car[3], c.half_length, c.half_width};
      if (car[0] != 0 && overlap(ego, box)) return true;
    }
    return false;
  };
  sim::StepResult r = env->Reset(1);
  const std::vector<double> action = {0, 0.7};
  int steps = 0;
  while (!r.terminated && !r.truncated && steps < 200) {
    CHECK_FALSE(any_overlap());
    r = env->Step(action);
    ++steps;
  }
  REQUIRE(Info(*env, r, "collision") == 1);
  CHECK(any_overlap());
}
