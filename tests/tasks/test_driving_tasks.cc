// driving/follow and driving/avoid: collisions are detected, IDM keeps a safe gap, and the
// scripted expert completes >= 90% of seeds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

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

TEST_CASE("driving/occluded_pedestrian: hidden behind the van, then seen crossing",
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
  CHECK(driving_env->Occluded(1));  // the pedestrian starts behind the van
  CHECK(present(r) == 4);  // the van and three cars, not the pedestrian
  std::vector<double> action(2);
  bool seen = false, crossed = false;
  while (!r.terminated && !r.truncated) {
    env->ExpertAction(action);
    r = env->Step(action);
    // Visible once out from behind the van: then it is among the observed participants.
    if (!driving_env->Occluded(1)) {
      seen = true;
      CHECK(present(r) >= 1);
    }
    crossed |= driving_env->state().cars[1].d > 0;
  }
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
