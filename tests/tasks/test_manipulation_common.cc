// Properties every manipulation/* task must have: documented shapes and bounds, actions in
// bounds, success only within tolerance, determinism across set_state, goal images that do
// not disturb the state.
#include <catch2/catch.hpp>

#include <cmath>

#include "sim/rng.h"
#include "tasks/manipulation/arm_env.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
namespace tasks = darkmatter::tasks;
namespace manipulation = darkmatter::tasks::manipulation;
using darkmatter::testing::NoMujocoWarnings;

namespace {

constexpr int kRobotObs = 17;  // robot qpos (7), qvel (7), grip position (3)

std::vector<std::string> ManipulationTasks() {
  std::vector<std::string> names;
  for (const auto& task : tasks::AllTasks()) {
    if (task.name.rfind("manipulation/", 0) == 0) names.push_back(task.name);
  }
  return names;
}

manipulation::ArmEnv& Arm(sim::Env& env) { return dynamic_cast<manipulation::ArmEnv&>(env); }

double Distance(const double* a, const double* b) {
  return std::hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

// The distance each task's tolerance applies to, computed from the observation alone:
// reach: grip to target; push and pick_place: block to goal; stack: the larger of the red
// block's and the blue block's distances to their goals.
double ObservedGoalDistance(const std::string& name, std::span<const double> obs) {
  const double* goal = obs.data() + obs.size() - (name == "manipulation/stack" ? 6 : 3);
  if (name == "manipulation/reach") return Distance(obs.data() + 14, goal);
  const double a = Distance(obs.data() + kRobotObs, goal);
  if (name != "manipulation/stack") return a;
  return std::max(a, Distance(obs.data() + kRobotObs + 13, goal + 3));
}

// Runs one episode with the expert (or random actions), calling check(result) each step.
template <typename Check>
void RunEpisode(sim::Env& env, uint64_t seed, bool expert, Check&& check) {
  sim::Rng random(seed + 1000);
  const auto& spec = env.ActionSpec();
  std::vector<double> action(spec.Size());
  sim::StepResult result = env.Reset(seed);
  while (true) {
    if (expert) {
      env.ExpertAction(action);
    } else {
      for (size_t i = 0; i < action.size(); ++i) action[i] = random.Uniform(spec.low[i], spec.high[i]);
    }
    result = env.Step(action);
    check(result, action);
    if (result.terminated || result.truncated) break;
  }
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "manipulation: tasks have the documented shapes and bounds",
                 "[manipulation]") {
  REQUIRE(ManipulationTasks().size() >= 1);
  for (const std::string& name : ManipulationTasks()) {
    INFO(name);
    auto env = tasks::MakeEnv(name);
    auto& arm = Arm(*env);
    CHECK(env->HasExpert());
    CHECK(env->ObservationSpec().Size() == kRobotObs + 13 * arm.NumObjects() + arm.GoalSize());
    REQUIRE(env->ActionSpec().Size() == 6);
    const mjModel* m = arm.model();
    for (int i = 0; i < 6; ++i) {  // joint targets: bounds are the joint ranges
      const int joint = m->actuator_trnid[2 * i];
      CHECK(env->ActionSpec().low[i] == m->jnt_range[2 * joint]);
      CHECK(env->ActionSpec().high[i] == m->jnt_range[2 * joint + 1]);
    }
    CHECK(env->ActionSpec().low[5] == 0.0);
    CHECK(env->ActionSpec().high[5] == Approx(0.045));
    CHECK(sim::FindInfoKey(env->InfoKeys(), "success") >= 0);
    std::vector<std::string> truth;
    int64_t truth_size = 0;
    for (const auto& field : env->TruthFields()) {
      truth.push_back(field.name);
      int64_t size = 1;
      for (auto d : field.shape) size *= d;
      truth_size += size;
    }
    CHECK(truth.front() == "goal");
    CHECK(std::count(truth.begin(), truth.end(), "success") == 1);
    if (arm.NumObjects() > 0) {
      CHECK(std::count(truth.begin(), truth.end(), "mass") == 1);
      CHECK(std::count(truth.begin(), truth.end(), "friction") == 1);
    }
    // The goal is appended to the observation and is the truth's first field.
    const auto result = env->Reset(3);
    std::vector<double> values(truth_size);
    env->WriteTruth(values);
    for (int k = 0; k < arm.GoalSize(); ++k) {
      CHECK(result.observation[result.observation.size() - arm.GoalSize() + k] == arm.Goal()[k]);
      CHECK(values[k] == arm.Goal()[k]);
    }
    CHECK(values.back() == 0.0);  // not solved at reset
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "manipulation: actions stay within bounds",
                 "[manipulation]") {
  for (const std::string& name : ManipulationTasks()) {
    INFO(name);
    auto env = tasks::MakeEnv(name);
    auto& arm = Arm(*env);
    const auto& spec = env->ActionSpec();
    const mjModel* m = arm.model();
    for (bool expert : {true, false}) {
      INFO((expert ? "expert" : "random"));
      RunEpisode(*env, 5, expert, [&](const sim::StepResult&, std::span<const double> action) {
        for (int i = 0; i < 6; ++i) {
          CHECK(action[i] >= spec.low[i]);
          CHECK(action[i] <= spec.high[i]);
        }
        const auto q = arm.ArmAngles();
        for (int j = 0; j < manipulation::ArmEnv::kArmJoints; ++j) {  // soft joint limits
          CHECK(q[j] >= m->jnt_range[2 * j] - 0.05);
          CHECK(q[j] <= m->jnt_range[2 * j + 1] + 0.05);
        }
      });
    }
    // Out-of-range actions are clipped to the bounds before they reach the servos.
    env->Reset(1);
    std::vector<double> wild = {10, -10, 10, -10, 10, -1};
    env->Step(wild);
    for (int i = 0; i < 6; ++i) {
      CHECK(arm.data()->ctrl[i] == (wild[i] > 0 ? spec.high[i] : spec.low[i]));
    }
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "manipulation: success is reported only within tolerance",
                 "[manipulation]") {
  for (const std::string& name : ManipulationTasks()) {
    INFO(name);
    auto env = tasks::MakeEnv(name);
    auto& arm = Arm(*env);
    const int success_key = sim::FindInfoKey(env->InfoKeys(), "success");
    int successes = 0;
    for (uint64_t seed = 0; seed < 3; ++seed) {
      for (bool expert : {true, false}) {
        RunEpisode(*env, seed, expert, [&](const sim::StepResult& r, std::span<const double>) {
          const double distance = ObservedGoalDistance(name, r.observation);
          const bool success = r.info[success_key] == 1.0;
          CHECK(success == r.terminated);  // episodes end on success
          if (success) {
            ++successes;
            CHECK(distance < arm.Tolerance());
          } else if (name != "manipulation/stack") {  // stack also needs the block released
            CHECK(distance >= arm.Tolerance());
          }
        });
      }
    }
    CHECK(successes >= 3);  // the expert's episodes succeed, so the check above ran
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "manipulation: set_state continues bit-identically",
                 "[manipulation]") {
  for (const std::string& name : ManipulationTasks()) {
    INFO(name);
    auto env = tasks::MakeEnv(name);
    auto other = tasks::MakeEnv(name);
    std::vector<double> action(6);
    auto& arm = Arm(*env);
    env->Reset(11);
    sim::Rng random(5);
    for (int t = 0; t < 5; ++t) {  // a few random joint targets, then the expert for a while
      for (int i = 0; i < 6; ++i) {
        action[i] = random.Uniform(env->ActionSpec().low[i], env->ActionSpec().high[i]);
      }
      env->Step(action);
    }
    for (int t = 0; t < 30 && arm.GoalDistance() > 2 * arm.Tolerance(); ++t) {
      env->ExpertAction(action);
      env->Step(action);
    }
    const sim::EnvState saved = env->GetState();
    std::vector<std::vector<double>> observations, actions;
    for (int t = 0; t < 30; ++t) {
      env->ExpertAction(action);
      actions.push_back(action);
      auto result = env->Step(action);
      observations.emplace_back(result.observation.begin(), result.observation.end());
      if (result.terminated || result.truncated) break;
    }
    other->Reset(99);  // a different episode (hidden properties, goal, expert phase) first
    for (int t = 0; t < 20; ++t) {
      other->ExpertAction(action);
      if (other->Step(action).terminated) break;
    }
    other->SetState(saved);
    CHECK(other->GetState().physics == saved.physics);
    for (size_t t = 0; t < observations.size(); ++t) {
      other->ExpertAction(action);
      CHECK(action == actions[t]);  // the expert is deterministic given the state
      auto result = other->Step(actions[t]);
      REQUIRE(std::vector<double>(result.observation.begin(), result.observation.end()) ==
              observations[t]);
    }
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "manipulation: the goal image leaves the state unchanged",
                 "[manipulation]") {
  for (const std::string& name : ManipulationTasks()) {
    INFO(name);
    auto env = tasks::MakeEnv(name);
    auto& arm = Arm(*env);
    std::vector<double> action(6);
    env->Reset(4);
    for (int t = 0; t < 5; ++t) {
      env->ExpertAction(action);
      env->Step(action);
    }
    const sim::EnvState before = env->GetState();
    sim::CameraSpec camera;
    camera.name = "main";
    sim::RenderOutput now, goal, again;
    env->Render(camera, 64, 64, &now);
    arm.RenderGoal(camera, 64, 64, &goal);
    const sim::EnvState after = env->GetState();
    CHECK(after.physics == before.physics);
    CHECK(after.rng == before.rng);
    CHECK(after.elapsed_steps == before.elapsed_steps);
    env->Render(camera, 64, 64, &again);
    CHECK(again.rgb == now.rgb);
    CHECK(goal.rgb != now.rgb);  // something is shown at the goal
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "manipulation: camera observations come with the state",
                 "[manipulation]") {
  sim::EnvSettings settings;
  settings.observation = "state+pixels";
  settings.camera = "main";
  settings.frame_width = 48;
  settings.frame_height = 32;
  auto env = tasks::MakeEnv("manipulation/reach", settings);
  CHECK(env->PixelSpec().shape == std::vector<int64_t>{32, 48, 3});
  CHECK(env->ObservationSpec().Size() == 20);
  const auto first = env->Reset(2);
  const std::vector<uint8_t> before(first.pixels.begin(), first.pixels.end());
  REQUIRE(before.size() == 32 * 48 * 3);
  std::vector<double> action(6);
  sim::StepResult result = first;
  for (int t = 0; t < 5; ++t) {
    env->ExpertAction(action);
    result = env->Step(action);
  }
  CHECK(std::vector<uint8_t>(result.pixels.begin(), result.pixels.end()) != before);  // it moved
}
