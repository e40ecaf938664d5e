// Properties every intuitive-physics scene must have, checked over all registered
// physics/* tasks: twins, physical plausibility of the possible clip, truth, determinism.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sim/error.h"
#include "tasks/physics/physics_scene.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"
#include "tests/tasks/physics_test_util.h"

namespace physics = darkmatter::tasks::physics;

namespace darkmatter::testing {
namespace {

std::vector<std::string> PhysicsTasks() {
  std::vector<std::string> names;
  for (const auto& task : tasks::AllTasks()) {
    if (task.name.rfind("physics/", 0) == 0) names.push_back(task.name);
  }
  return names;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "physics scenes: at least one registered, each passive "
                 "with a red object, principles and truth", "[tasks][physics]") {
  REQUIRE_FALSE(PhysicsTasks().empty());
  for (const std::string& name : PhysicsTasks()) {
    INFO(name);
    auto env = MakePhysics(name);
    CHECK(env->ActionSpec().Size() == 0);
    auto& scene = Scene(*env);
    CHECK_FALSE(scene.spec().principles.empty());
    CHECK(scene.RedObject() >= 0);
    CHECK(env->TruthFields().size() >= 8);
  }
}

// Total mechanical energy (kinetic + gravitational) of the current state, computed on a copy.
double MechanicalEnergy(const mjModel* m, const mjData* d) {
  mjData* copy = mj_copyData(nullptr, m, d);
  mj_forward(m, copy);
  mj_energyPos(m, copy);
  mj_energyVel(m, copy);
  const double energy = copy->energy[0] + copy->energy[1];
  mj_deleteData(copy);
  return energy;
}

TEST_CASE_METHOD(NoMujocoWarnings, "physics scenes: the possible clip is physically plausible",
                 "[tasks][physics][invariants]") {
  for (const std::string& name : PhysicsTasks()) {
    auto env = MakePhysics(name);
    auto& scene = Scene(*env);
    for (uint64_t seed = 0; seed < 8; ++seed) {
      INFO(name << " seed " << seed);
      env->Reset(seed);
      const mjModel* m = scene.model();
      const mjData* d = scene.data();
      // A passive scene has no energy source: total energy never rises above its peak so far
      // (a soft contact may hold energy at a frame's end and release it in the next one).
      double peak = MechanicalEnergy(m, d);
      const double scale = std::max(1.0, std::abs(peak));
      for (int t = 0; t < env->MaxEpisodeSteps(); ++t) {
        env->Step({});
        for (int c = 0; c < d->ncon; ++c) {
          INFO("step " << t << " contact depth " << d->contact[c].dist);
          REQUIRE(d->contact[c].dist > -0.02);  // soft contacts: no deep interpenetration
        }
        const double now = MechanicalEnergy(m, d);
        INFO("step " << t);
        CHECK(now <= peak + 0.01 * scale);
        peak = std::max(peak, now);
      }
    }
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "physics scenes: truth, labels and set_state determinism",
                 "[tasks][physics]") {
  for (const std::string& name : PhysicsTasks()) {
    INFO(name);
    auto env = MakePhysics(name);
    auto& scene = Scene(*env);
    env->Reset(11);
    for (int t = 0; t < 10; ++t) env->Step({});
    const sim::EnvState saved = env->GetState();
    const auto continuation = [&] {
      std::vector<double> truth;
      int64_t dim = 0;
      for (const auto& field : env->TruthFields()) {
        int64_t size = 1;
        for (int64_t s : field.shape) size *= s;
        dim += size;
      }
      std::vector<double> row(dim);
      for (int t = 10; t < env->MaxEpisodeSteps(); ++t) {
        env->Step({});
        env->WriteTruth(row);
        truth.insert(truth.end(), row.begin(), row.end());
      }
      return truth;
    };
    const auto first = continuation();
    auto other = MakePhysics(name);
    other->Reset(999);  // a different layout, then the saved state (model edits included)
    other->SetState(saved);
    env.swap(other);
    CHECK(continuation() == first);
    // Hidden properties are in the truth and differ across seeds.
    std::set<double> masses;
    for (uint64_t seed = 0; seed < 5; ++seed) {
      env->Reset(seed);
      masses.insert(Scene(*env).Mass(Scene(*env).RedObject()));
    }
    CHECK(masses.size() == 5);
    (void)scene;
  }
}

// "key=value ..." with exact (round-trip) doubles, for readable failures.
std::string Describe(const Labels& labels) {
  std::ostringstream out;
  out.precision(17);
  for (const auto& [key, value] : labels.scalars) out << key << "=" << value << " ";
  for (const auto& [key, value] : labels.strings) out << key << "='" << value << "' ";
  return out.str();
}

// A recorded clip: the full env state of every frame and the labels.
struct Recorded {
  std::vector<sim::EnvState> states;  // (clip_steps + 1)
  Labels labels;
};

Recorded Record(sim::Env& env, uint64_t seed) {
  Recorded clip;
  RecordClip(env, seed, {}, [&](Clip*, const sim::RenderOutput*) {
        clip.states.push_back(env.GetState());
      });
  clip.labels = EpisodeLabelsOf(env);
  return clip;
}

// The promise of get_state/set_state: the same state gives the same future, even in an env
// that was reset with another seed (another layout). Every per-episode value a family draws in
// Layout and reads later (world differences, family labels) must travel in the state.
TEST_CASE_METHOD(NoMujocoWarnings, "physics scenes: set_state into an env with another layout "
                 "continues bit-identically, with the same labels, in every twin-set world",
                 "[tasks][physics][set_state]") {
  for (const std::string& name : PhysicsTasks()) {
    std::vector<std::pair<std::string, int>> variants = {{"none", 0}};
    const auto probe = MakePhysics(name);
    for (auto principle : Scene(*probe).spec().principles) {
      variants.push_back({physics::PrincipleName(principle), 0});
      variants.push_back({physics::PrincipleName(principle), 1});
    }
    for (const auto& [variant, world] : variants) {
      auto env = MakePhysics(name, variant, "train", world);
      // The other env lays out the other world (or none): set_state carries the layout.
      auto other = MakePhysics(name, variant, "train", variant == "none" ? 0 : 1 - world);
      for (uint64_t seed = 0; seed < 3; ++seed) {
        const Recorded clip = Record(*env, seed);
        const int last = env->MaxEpisodeSteps();
        for (int from : {last / 3, 2 * last / 3}) {
          INFO(name << " " << variant << " world " << world << " seed " << seed
                    << ": set_state at frame " << from);
          other->Reset(999);
          for (int t = 0; t < 3; ++t) other->Step({});  // mid-episode in another layout
          other->SetState(clip.states[from]);
          int diverged = -1;  // first frame whose state differs from the recorded one
          if (other->GetState().physics != clip.states[from].physics) diverged = from;
          for (int t = from + 1; t <= last && diverged < 0; ++t) {
            other->Step({});
            if (other->GetState().physics != clip.states[t].physics) diverged = t;
          }
          CHECK(diverged == -1);
          const Labels labels = EpisodeLabelsOf(*other);
          INFO("labels " << Describe(labels) << "\nrecorded " << Describe(clip.labels));
          auto scalars = labels.scalars;  // env.world is a setting, not state
          scalars["world"] = clip.labels.scalars.at("world");
          CHECK(scalars == clip.labels.scalars);
          CHECK(labels.strings == clip.labels.strings);
        }
      }
    }
  }
}

TEST_CASE("physics scenes: bad violation, world and split settings are clear errors",
          "[tasks][physics][errors]") {
  CHECK_THROWS_WITH(MakePhysics("physics/collide", "teleportation"),
                    Catch::Contains("'teleportation'"));
  CHECK_THROWS_WITH(MakePhysics("physics/collide", "permanence"),
                    Catch::Contains("cannot break permanence") && Catch::Contains("solidity"));
  CHECK_THROWS_WITH(MakePhysics("physics/collide", "none", "sideways"),
                    Catch::Contains("'sideways'"));
  CHECK_THROWS_WITH(MakePhysics("physics/collide", "none", "train", 1),
                    Catch::Contains("env.world=1 needs env.violation"));
  CHECK_THROWS_WITH(MakePhysics("physics/collide", "solidity", "train", 2),
                    Catch::Contains("env.world 2 must be 0 or 1"));
  sim::EnvSettings settings;
  settings.violation = "gravity";
  CHECK_THROWS_AS(tasks::MakeEnv("control/inverted_pendulum", settings), sim::BadInput);
}

}  // namespace darkmatter::testing
