// driving/occluded_pedestrian as possible/impossible twins (permanence): identical until the
// pedestrian, still hidden behind the van, vanishes; the possible pedestrian comes out.
#include <catch2/catch.hpp>

#include "tasks/driving/driving_env.h"
#include "tasks/registry.h"

namespace darkmatter::testing {
namespace {

namespace driving = tasks::driving;

std::unique_ptr<sim::Env> MakePedestrian(const std::string& violation) {
  sim::EnvSettings settings;
  settings.violation = violation;
  return tasks::MakeEnv("driving/occluded_pedestrian", settings);
}

struct DrivenClip {
  std::vector<std::vector<double>> states;  // physics state per frame
  std::vector<int> pedestrian_visible;      // per frame: active and not hidden by the van
};

// Drives one episode with the expert.
DrivenClip Drive(sim::Env& env, uint64_t seed) {
  auto& driving_env = dynamic_cast<driving::DrivingEnv&>(env);
  DrivenClip clip;
  env.Reset(seed);
  std::vector<double> action(2);
  auto record = [&] {
    clip.states.push_back(env.GetState().physics);
    const auto& walker = driving_env.state().cars[1];
    clip.pedestrian_visible.push_back(walker.active != 0 && !driving_env.Occluded(1));
  };
  record();
  for (int t = 0; t < env.MaxEpisodeSteps(); ++t) {
    env.ExpertAction(action);
    const sim::StepResult r = env.Step(action);
    record();
    if (r.terminated || r.truncated) break;
  }
  return clip;
}

}  // namespace

TEST_CASE("occluded_pedestrian: permanence twins", "[tasks][driving][twins]") {
  auto possible = MakePedestrian("none"), impossible = MakePedestrian("permanence");
  CHECK(possible->Principles() == std::vector<std::string>{"permanence"});
  for (uint64_t seed = 0; seed < 3; ++seed) {
    INFO("seed " << seed);
    const DrivenClip a = Drive(*possible, seed), b = Drive(*impossible, seed);
    const int v = static_cast<int>(
        dynamic_cast<driving::DrivingEnv&>(*impossible).state().violation_frame);
    REQUIRE(v >= 1);
    // Identical before the violation (the task state's last values hold the violation frame).
    for (int t = 0; t < v; ++t) {
      REQUIRE(std::equal(a.states[t].begin(), a.states[t].end() - 1, b.states[t].begin()));
    }
    // The pedestrian was hidden when it vanished, never shows in the impossible clip, and
    // comes out from behind the van in the possible one.
    CHECK_FALSE(a.pedestrian_visible[v - 1]);
    bool appears = false;
    for (size_t t = v; t < a.pedestrian_visible.size(); ++t) appears |= a.pedestrian_visible[t] != 0;
    CHECK(appears);
    for (size_t t = v; t < b.pedestrian_visible.size(); ++t) REQUIRE(b.pedestrian_visible[t] == 0);
    std::map<std::string, double> scalars;
    std::map<std::string, std::string> strings;
    impossible->EpisodeLabels(&scalars, &strings);
    CHECK(scalars.at("possible") == 0.0);
    CHECK(scalars.at("violation_frame") == v);
    CHECK(strings.at("principle") == "permanence");
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
