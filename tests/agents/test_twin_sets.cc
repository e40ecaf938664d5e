// Matched twin sets (tasks/twin_set.h) for every task and principle that makes them: members
// bit-identical to their partner before the violation frame, per-object motion matched across
// the possible and impossible members, splices unseen, labels, and the errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agents/random_agent.h"
#include "agents/rollout.h"
#include "sim/error.h"
#include "tasks/registry.h"
#include "tasks/twin_set.h"

namespace darkmatter::testing {
namespace {

// The tasks that make twin sets.
std::vector<std::string> TwinTasks() {
  std::vector<std::string> names;
  for (const auto& task : tasks::AllTasks()) {
    if (!tasks::MakeEnv(task.name)->Principles().empty()) names.push_back(task.name);
  }
  return names;
}

// Records the set of `principle` from `seed`, rendered at 32 x 32 from camera "main" for
// physics scenes (driving: its own camera).
std::vector<sim::Episode> RecordSet(const std::string& task, const std::string& principle,
                                    uint64_t seed, bool render) {
  std::vector<std::unique_ptr<sim::Env>> envs;
  std::vector<std::unique_ptr<agents::Agent>> policies;
  for (int world = 0; world < 2; ++world) {
    sim::EnvSettings settings;
    settings.violation = principle;
    settings.world = world;
    if (render) {
      settings.observation = "state+pixels";
      settings.frame_width = settings.frame_height = 32;
      if (task.rfind("physics/", 0) == 0) settings.camera = "main";
    }
    envs.push_back(tasks::MakeEnv(task, settings));
    policies.push_back(std::make_unique<agents::RandomAgent>(envs.back()->ActionSpec()));
  }
  return agents::RecordTwinSet(*envs[0], *policies[0], *envs[1], *policies[1], seed,
                               tasks::TwinSetId(seed, 0));
}

// Row t of a per-frame buffer with `width` values per row.
template <typename T>
std::vector<T> Row(const std::vector<T>& rows, int64_t width, int64_t t) {
  return std::vector<T>(rows.begin() + t * width, rows.begin() + (t + 1) * width);
}

// Sum over frames t >= 1 of |p_t - p_{t-1}| (m) of object i's truth position.
double PathLength(const sim::Episode& e, int i) {
  int64_t offset = 0;
  for (size_t f = 0; f < e.truth_names.size() && e.truth_names[f] != "positions"; ++f) {
    int64_t size = 1;
    for (int64_t d : e.truth_shapes[f]) size *= d;
    offset += size;
  }
  const int64_t dim = e.TruthDim();
  double length = 0;
  for (int64_t t = 1; t <= e.Length(); ++t) {
    double step = 0;
    for (int k = 0; k < 3; ++k) {
      const double d = e.truth[t * dim + offset + 3 * i + k] - e.truth[(t - 1) * dim + offset + 3 * i + k];
      step += d * d;
    }
    length += std::sqrt(step);
  }
  return length;
}

}  // namespace

TEST_CASE("twin sets: every task and principle makes sets whose impossible members equal "
          "their possible partner before the violation frame and differ from it at that frame",
          "[agents][twins]") {
  const std::vector<std::string> names = TwinTasks();
  REQUIRE(names.size() >= 8);  // seven physics families and the occluded pedestrian
  for (const std::string& task : names) {
    for (const std::string& principle : tasks::MakeEnv(task)->Principles()) {
      int made = 0;
      for (uint64_t seed = 0; seed < 4; ++seed) {
        INFO(task << " " << principle << " seed " << seed);
        const auto set = RecordSet(task, principle, seed, task.rfind("physics/", 0) == 0);
        REQUIRE(set.size() == 4);
        const int64_t v = static_cast<int64_t>(set[0].scalars.at("violation_frame"));
        for (int m = 0; m < 4; ++m) {
          CHECK(set[m].scalars.at("member") == m);
          CHECK(set[m].scalars.at("possible") == (m < 2 ? 1.0 : 0.0));
          CHECK(set[m].scalars.at("violation_frame") == v);
          CHECK(set[m].strings.at("principle") == principle);
          CHECK(set[m].scalars.at("set_id") == set[0].scalars.at("set_id"));
        }
        CHECK(set[2].strings.at("direction") != set[3].strings.at("direction"));
        if (v < 0) continue;
        ++made;
        REQUIRE(v >= 1);
        for (int m : {2, 3}) {
          const sim::Episode& imp = set[m];
          const sim::Episode& partner = set[m - 2];
          REQUIRE(imp.Length() == partner.Length());
          for (int64_t t = 0; t < v; ++t) {
            INFO("member " << m << " frame " << t);
            REQUIRE(Row(imp.states, imp.state_dim, t) == Row(partner.states, partner.state_dim, t));
            REQUIRE(Row(imp.observations, imp.obs_dim, t) ==
                    Row(partner.observations, partner.obs_dim, t));
            const int64_t px = imp.frame_height * imp.frame_width * 3;
            if (px > 0) REQUIRE(Row(imp.frames, px, t) == Row(partner.frames, px, t));
          }
          CHECK(Row(imp.states, imp.state_dim, v) != Row(partner.states, partner.state_dim, v));
        }
      }
      INFO(task << " " << principle);
      CHECK(made >= 3);  // the set is made from most seeds
    }
  }
}

TEST_CASE("twin sets: each object travels as far, summed over the possible members, as over "
          "the impossible ones; splices happen unseen",
          "[agents][twins]") {
  for (const std::string& task : TwinTasks()) {
    if (task.rfind("physics/", 0) != 0) continue;
    for (const std::string& principle : tasks::MakeEnv(task)->Principles()) {
      for (uint64_t seed = 0; seed < 3; ++seed) {
        INFO(task << " " << principle << " seed " << seed);
        const auto set = RecordSet(task, principle, seed, true);
        const int64_t v = static_cast<int64_t>(set[0].scalars.at("violation_frame"));
        if (v < 0) continue;
        const int objects = static_cast<int>(set[0].truth_shapes[0][0]);
        const bool spliced = principle == "permanence" || principle == "immutability" ||
                             principle == "continuity";
        for (int i = 0; i < objects; ++i) {
          INFO("object " << i);
          const double possible = PathLength(set[0], i) + PathLength(set[1], i);
          const double impossible = PathLength(set[2], i) + PathLength(set[3], i);
          // A splice adds the jump of the hidden object at v (continuity); nothing else moves
          // differently.
          if (principle != "continuity") {
            CHECK(impossible == Approx(possible).epsilon(spliced ? 1e-3 : 1e-6).margin(1e-5));
          }
        }
        if (spliced) {  // the worlds look the same on both sides of the splice
          const int64_t px = set[0].frame_height * set[0].frame_width * 3;
          for (int64_t t : {v - 1, v}) {
            INFO("frame " << t);
            CHECK(Row(set[0].frames, px, t) == Row(set[1].frames, px, t));
          }
        }
      }
    }
  }
}

TEST_CASE("twin sets: a task that makes none, or a world without a principle, is refused",
          "[agents][twins][errors]") {
  auto env = tasks::MakeEnv("manipulation/reach");
  agents::RandomAgent policy(env->ActionSpec());
  const sim::Episode e = agents::RecordEpisode(*env, policy, 0);
  CHECK_THROWS_WITH(tasks::ComposeTwinSet(*env, e, e, 0), Catch::Contains("makes no twin sets"));
  auto scene = tasks::MakeEnv("physics/collide");
  agents::RandomAgent passive(scene->ActionSpec());
  const sim::Episode plain = agents::RecordEpisode(*scene, passive, 0);
  CHECK_THROWS_WITH(tasks::ComposeTwinSet(*scene, plain, plain, 0),
                    Catch::Contains("env.violation"));
}

TEST_CASE("twin sets: the splice frame is the middle of the longest unseen run",
          "[agents][twins]") {
  CHECK(tasks::ChooseSpliceFrame(std::vector<uint8_t>{0, 0, 0}) == -1);
  CHECK(tasks::ChooseSpliceFrame(std::vector<uint8_t>{0, 1, 0}) == -1);  // one frame: no pair
  CHECK(tasks::ChooseSpliceFrame(std::vector<uint8_t>{0, 1, 1, 0}) == 2);
  CHECK(tasks::ChooseSpliceFrame(std::vector<uint8_t>{1, 1, 0, 1, 1, 1, 1, 1}) == 5);
}

}  // namespace darkmatter::testing
