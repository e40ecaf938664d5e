// The truth recorded by physics scenes agrees with the simulator: contacts with MuJoCo's
// contact list, positions and velocities with the free joints, hidden properties with the
// model, and the zone label with the red object's contacts.
#include <catch2/catch.hpp>

#include <cmath>

#include "tasks/physics/physics_scene.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
namespace physics = darkmatter::tasks::physics;
using darkmatter::testing::NoMujocoWarnings;

namespace {

// Offsets of the truth fields by name.
std::map<std::string, int64_t> FieldOffsets(const sim::Env& env) {
  std::map<std::string, int64_t> offsets;
  int64_t offset = 0;
  for (const auto& field : env.TruthFields()) {
    offsets[field.name] = offset;
    int64_t size = 1;
    for (int64_t s : field.shape) size *= s;
    offset += size;
  }
  offsets["_size"] = offset;
  return offsets;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "physics truth agrees with the simulator",
                 "[tasks][physics][truth]") {
  for (const auto& task : darkmatter::tasks::AllTasks()) {
    if (task.name.rfind("physics/", 0) != 0) continue;
    INFO(task.name);
    auto env = task.make({});
    auto& scene = dynamic_cast<physics::PhysicsScene&>(*env);
    const auto offsets = FieldOffsets(*env);
    std::vector<double> truth(offsets.at("_size"));
    const mjModel* m = scene.model();
    const mjData* d = scene.data();
    const int n = scene.NumObjects();
    int contacts_seen = 0;
    for (uint64_t seed = 0; seed < 3; ++seed) {
      env->Reset(seed);
      for (int t = 0; t < env->MaxEpisodeSteps(); ++t) {
        env->Step({});
        env->WriteTruth(truth);
        // Contacts: exactly the object pairs (and object-world pairs) in MuJoCo's list.
        std::vector<double> expected(n * (n + 1), 0.0);
        for (int c = 0; c < d->ncon; ++c) {
          int a = -1, b = -1;
          for (int i = 0; i < n; ++i) {
            if (m->geom_bodyid[d->contact[c].geom1] == scene.ObjectBody(i)) a = i;
            if (m->geom_bodyid[d->contact[c].geom2] == scene.ObjectBody(i)) b = i;
          }
          if (a >= 0) expected[a * (n + 1) + (b >= 0 ? b : n)] = 1.0;
          if (b >= 0) expected[b * (n + 1) + (a >= 0 ? a : n)] = 1.0;
        }
        const double* contacts = truth.data() + offsets.at("contacts");
        REQUIRE(std::equal(expected.begin(), expected.end(), contacts));
        contacts_seen += static_cast<int>(std::count(expected.begin(), expected.end(), 1.0));
        for (int i = 0; i < n; ++i) {
          const auto p = scene.Position(i);
          const auto v = scene.Velocity(i);
          for (int k = 0; k < 3; ++k) {
            REQUIRE(truth[offsets.at("positions") + 3 * i + k] == p[k]);
            REQUIRE(truth[offsets.at("velocities") + 6 * i + k] == v[k]);
          }
          REQUIRE(truth[offsets.at("mass") + i] == m->body_mass[scene.ObjectBody(i)]);
          REQUIRE(truth[offsets.at("friction") + i] == scene.Friction(i));
        }
        REQUIRE(truth[offsets.at("red_touches_zone")] == (scene.RedTouchedZone() ? 1.0 : 0.0));
      }
    }
    CHECK(contacts_seen > 0);  // the comparison was not vacuous
  }
}
