#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "sim/error.h"
#include "sim/hash.h"
#include "sim/mujoco_env.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
using darkmatter::testing::kTestSceneXml;
using darkmatter::testing::NoMujocoWarnings;

namespace {

std::unique_ptr<sim::Env> MakeTestEnv(sim::EnvSettings settings = {}) {
  return sim::MakeMjcfEnv("test_scene", sim::LoadModelString(kTestSceneXml, "test_scene"),
                          settings);
}

const mjData* DataOf(const sim::Env& env) {
  return dynamic_cast<const sim::MujocoEnv&>(env).data();
}

// Hash of a trajectory driven by a deterministic action pattern.
uint64_t TrajectoryHash(sim::Env& env, uint64_t seed, int steps) {
  sim::Hasher hasher;
  sim::StepResult r = env.Reset(seed);
  hasher.Add(r.observation);
  for (int t = 0; t < steps && !(r.terminated || r.truncated); ++t) {
    const double action[] = {std::sin(0.1 * t)};
    r = env.Step(action);
    hasher.Add(r.observation);
    hasher.AddValue(r.reward);
  }
  return hasher.Value();
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "MujocoEnv: specs of a generic MJCF env", "[sim][env]") {
  auto env = MakeTestEnv();
  // free joint (7 qpos, 6 dof) + hinge (1, 1)
  CHECK(env->ObservationSpec().shape == std::vector<int64_t>{8 + 7});
  CHECK(env->ActionSpec().shape == std::vector<int64_t>{1});
  CHECK(env->ActionSpec().low[0] == -1.0);
  CHECK(env->ActionSpec().high[0] == 1.0);
  CHECK(env->InfoKeys() == std::vector<std::string>{"diverged"});
  CHECK(std::string(env->Backend()) == "mujoco");
}

TEST_CASE_METHOD(NoMujocoWarnings, "MujocoEnv: reset observation is qpos then qvel",
                 "[sim][env]") {
  auto env = MakeTestEnv({.reset_noise_scale = 0.0});
  const sim::StepResult r = env->Reset(0);
  CHECK(r.reward == 0.0);
  CHECK_FALSE(r.terminated);
  CHECK_FALSE(r.truncated);
  CHECK(r.observation[2] == Approx(0.5));  // ball z
  CHECK(r.observation[3] == Approx(1.0));  // ball quaternion w
}

TEST_CASE_METHOD(NoMujocoWarnings, "MujocoEnv: same seed gives the same trajectory hash",
                 "[sim][env][determinism]") {
  auto a = MakeTestEnv(), b = MakeTestEnv();
  const uint64_t first = TrajectoryHash(*a, 11, 200);
  CHECK(first == TrajectoryHash(*b, 11, 200));
  CHECK(first == TrajectoryHash(*a, 11, 200));  // reused env
  CHECK(first != TrajectoryHash(*a, 12, 200));  // the seed matters (reset noise)
}

TEST_CASE_METHOD(NoMujocoWarnings, "MujocoEnv: set_state mid-episode continues identically",
                 "[sim][env][determinism]") {
  auto env = MakeTestEnv();
  env->Reset(5);
  for (int t = 0; t < 37; ++t) {
    const double action[] = {0.7 * std::cos(0.3 * t)};
    env->Step(action);
  }
  const sim::EnvState saved = env->GetState();
  auto run = [](sim::Env& e) {
    sim::Hasher hasher;
    for (int t = 0; t < 100; ++t) {
      const double action[] = {std::sin(0.05 * t)};
      const sim::StepResult r = e.Step(action);
      hasher.Add(r.observation);
    }
    // The env RNG is part of the state: the next seedless reset matches too.
    hasher.Add(e.Reset(std::nullopt).observation);
    return hasher.Value();
  };
  const uint64_t original = run(*env);
  env->SetState(saved);
  CHECK(run(*env) == original);
  auto other = MakeTestEnv();  // a fresh env restored from the same state
  other->Reset(999);
  other->SetState(saved);
  CHECK(run(*other) == original);
}

TEST_CASE_METHOD(NoMujocoWarnings, "MujocoEnv: max_episode_steps sets truncated",
                 "[sim][env]") {
  auto env = MakeTestEnv({.frame_skip = 2, .max_episode_steps = 10});
  CHECK(env->FrameSkip() == 2);
  env->Reset(0);
  const double action[] = {0.0};
  for (int t = 1; t < 10; ++t) REQUIRE_FALSE(env->Step(action).truncated);
  const sim::StepResult last = env->Step(action);
  CHECK(last.truncated);
  CHECK_FALSE(last.terminated);
  CHECK(DataOf(*env)->time == Approx(10 * 2 * 0.005));  // control step = frame_skip steps
  CHECK_THROWS_AS(env->Step(action), std::logic_error);  // must reset first
}

TEST_CASE_METHOD(NoMujocoWarnings, "MujocoEnv: bad actions are rejected, out of bounds clipped",
                 "[sim][env][errors]") {
  auto env = MakeTestEnv();
  env->Reset(0);
  const std::vector<double> too_long = {0.1, 0.2};
  CHECK_THROWS_WITH(env->Step(too_long), Catch::Contains("2 elements, expected 1"));
  const double nan[] = {std::numeric_limits<double>::quiet_NaN()};
  CHECK_THROWS_AS(env->Step(nan), sim::BadInput);
  CHECK_THROWS_WITH(env->Step(nan), Catch::Contains("NaN"));
  const double inf[] = {std::numeric_limits<double>::infinity()};
  CHECK_THROWS_WITH(env->Step(inf), Catch::Contains("infinite"));
  const double big[] = {5.0};
  env->Step(big);
  CHECK(DataOf(*env)->ctrl[0] == 1.0);
}

TEST_CASE_METHOD(NoMujocoWarnings, "MujocoEnv: missing and malformed model files",
                 "[sim][env][errors]") {
  CHECK_THROWS_WITH(sim::LoadModelFile("/nonexistent/scene.xml"),
                    Catch::Contains("/nonexistent/scene.xml") && Catch::Contains("no such"));
  CHECK_THROWS_AS(sim::LoadModelString("<mujoco><worldbody><body></mujoco>", "bad.xml"),
                  sim::BadInput);
  CHECK_THROWS_WITH(sim::LoadModelString("<mujoco><worldbody><body></mujoco>", "bad.xml"),
                    Catch::Contains("bad.xml"));
}

TEST_CASE("MujocoEnv: a diverging simulation ends the episode as truncated + diverged",
          "[sim][env][divergence]") {
  // An undamped, hugely actuated slider with a tiny mass and a large timestep blows up.
  const char* xml = R"(
<mujoco><option timestep="0.5"/>
  <worldbody><body><joint name="j" type="slide" axis="1 0 0"/>
    <geom type="sphere" size="0.1" mass="1e-6"/></body></worldbody>
  <actuator><motor joint="j" gear="1e12" ctrllimited="true" ctrlrange="-1 1"/></actuator>
</mujoco>)";
  auto env = sim::MakeMjcfEnv("diverge", sim::LoadModelString(xml, "diverge"));
  auto* mujoco_env = dynamic_cast<sim::MujocoEnv*>(env.get());
  const int64_t warnings_before = sim::MujocoWarningCount();
  env->Reset(0);
  const double push[] = {1.0};
  sim::StepResult r;
  int steps = 0;
  do {
    r = env->Step(push);
    ++steps;
  } while (!r.truncated && steps < 1000);
  CHECK(r.truncated);
  CHECK_FALSE(r.terminated);
  CHECK(r.info[0] == 1.0);  // "diverged"
  CHECK(mujoco_env->DivergedCount() == 1);
  CHECK(steps < 1000);
  // MuJoCo's warning reached the global handler (what NoMujocoWarnings watches).
  CHECK(sim::MujocoWarningCount() > warnings_before);
  CHECK_THAT(sim::LastMujocoWarning(), Catch::Contains("Nan, Inf or huge value"));
  // The env is usable again after a reset.
  CHECK(env->Reset(1).info[0] == 0.0);
}

TEST_CASE_METHOD(NoMujocoWarnings, "MuJoCo handlers: impossible box-box contacts are dropped",
                 "[sim][env][collision]") {
  // A 0.1 m box and a 0.03 m box: slightly overlapping gives a contact; a contact deeper
  // than the smaller box (what MuJoCo 2.2's box-box collider sometimes reports) gives none.
  auto contacts_at = [](double separation) {
    const std::string xml = R"(<mujoco><worldbody>
      <body><freejoint/><geom type="box" size="0.1 0.1 0.1"/></body>
      <body pos=")" + std::to_string(separation) + R"( 0 0"><freejoint/>
        <geom type="box" size="0.03 0.03 0.03"/></body></worldbody></mujoco>)";
    auto model = sim::LoadModelString(xml, "boxes");
    mjData* data = mj_makeData(model.get());
    mj_forward(model.get(), data);
    const int count = data->ncon;
    mj_deleteData(data);
    return count;
  };
  CHECK(contacts_at(0.125) > 0);  // 5 mm overlap: a real contact
  CHECK(contacts_at(0.0) == 0);    // the small box's centre inside the big one: dropped
}
