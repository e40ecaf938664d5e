// driving/occluded_pedestrian's twin-set worlds (permanence): world A's pedestrian is seen
// coming in from the verge, then hidden behind the van, then steps out; world B has none.
// (The composed sets are tested in tests/agents/test_twin_sets.cc.)
#include <catch2/catch.hpp>

#include "tasks/driving/driving_env.h"
#include "tasks/registry.h"

namespace darkmatter::testing {
namespace {

namespace driving = tasks::driving;

std::unique_ptr<sim::Env> MakePedestrian(const std::string& violation, int world = 0) {
  sim::EnvSettings settings;
  settings.violation = violation;
  settings.world = world;
  return tasks::MakeEnv("driving/occluded_pedestrian", settings);
}

// Per frame of an expert-driven episode: the pedestrian is present and not hidden by the van.
std::vector<int> PedestrianVisible(sim::Env& env, uint64_t seed) {
  auto& driving_env = dynamic_cast<driving::DrivingEnv&>(env);
  std::vector<int> visible;
  env.Reset(seed);
  std::vector<double> action(2);
  auto record = [&] {
    const auto& walker = driving_env.state().cars[1];
    visible.push_back(walker.active != 0 && !driving_env.Occluded(1));
  };
  record();
  for (int t = 0; t < env.MaxEpisodeSteps(); ++t) {
    env.ExpertAction(action);
    const sim::StepResult r = env.Step(action);
    record();
    if (r.terminated || r.truncated) break;
  }
  return visible;
}

}  // namespace

TEST_CASE("occluded_pedestrian: world A's pedestrian is seen, hidden behind the van, then "
          "seen crossing; world B has none",
          "[tasks][driving][twins]") {
  auto a = MakePedestrian("permanence", 0), b = MakePedestrian("permanence", 1);
  CHECK(a->Principles() == std::vector<std::string>{"permanence"});
  for (uint64_t seed = 0; seed < 3; ++seed) {
    INFO("seed " << seed);
    const std::vector<int> seen = PedestrianVisible(*a, seed);
    REQUIRE(seen.size() > 10);
    CHECK(seen[0] == 1);  // in view on the verge
    const auto hidden = std::find(seen.begin(), seen.end(), 0);
    REQUIRE(hidden != seen.end());  // behind the van
    CHECK(std::find(hidden, seen.end(), 1) != seen.end());  // out again, crossing
    for (int v : PedestrianVisible(*b, seed)) REQUIRE(v == 0);
  }
}

TEST_CASE("driving: tasks without twins reject env.violation", "[tasks][driving][errors]") {
  sim::EnvSettings settings;
  settings.violation = "permanence";
  CHECK_THROWS_WITH(tasks::MakeEnv("driving/lane_keep", settings),
                    Catch::Contains("'permanence'"));
  settings.violation = "gravity";
  CHECK_THROWS_WITH(tasks::MakeEnv("driving/occluded_pedestrian", settings),
                    Catch::Contains("'gravity'") && Catch::Contains("permanence"));
}

}  // namespace darkmatter::testing
