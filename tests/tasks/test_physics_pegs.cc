#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tasks/physics/pegs.h"
#include "tasks/physics/physics_scene.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
namespace physics = darkmatter::tasks::physics;
using darkmatter::testing::NoMujocoWarnings;

namespace {

std::unique_ptr<sim::Env> MakeScene(const std::string& violation, const std::string& split = "train") {
  sim::EnvSettings settings;
  settings.violation = violation;
  settings.split = split;
  return darkmatter::tasks::MakeEnv("physics/pegs", settings);
}

physics::PhysicsScene& Scene(sim::Env& env) { return dynamic_cast<physics::PhysicsScene&>(env); }

struct Clip {
  std::vector<std::array<double, 3>> pos;  // (frames) ball centre (m)
  std::vector<bool> contact;               // (frames) ball touched anything in the last step
  double outcome = -1;
  bool touched_zone = false;
  int violation_frame = -1;
};

Clip Run(sim::Env& env, uint64_t seed) {
  physics::PhysicsScene& scene = Scene(env);
  Clip clip;
  sim::StepResult r = env.Reset(seed);
  while (true) {
    clip.pos.push_back(scene.Position(scene.RedObject()));
    clip.contact.push_back(scene.InContact(scene.RedObject(), -1));
    if (r.truncated || r.terminated) break;
    r = env.Step({});
  }
  std::map<std::string, double> scalars;
  std::map<std::string, std::string> strings;
  env.EpisodeLabels(&scalars, &strings);
  clip.outcome = scalars.at("outcome");
  clip.touched_zone = scene.RedTouchedZone();
  clip.violation_frame = scene.ViolationFrame();
  return clip;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "pegs: stats", "[.stats]") {
  for (const char* split : {"train", "ood"}) {
    auto env = MakeScene("none", split);
    std::vector<int> hist;
    int right = 0, touched = 0, agree = 0, landed = 0, n = 200;
    for (int seed = 0; seed < n; ++seed) {
      Clip c = Run(*env, seed);
      right += c.outcome == 1.0;
      touched += c.touched_zone;
      agree += (c.outcome == 1.0) == c.touched_zone;
      // frame when the ball first is below the peg (z < 0.2)
      int below = -1;
      for (size_t t = 0; t < c.pos.size(); ++t) if (c.pos[t][2] < 0.2) { below = t; break; }
      landed += below >= 0;
      int floor_frame = -1;
      for (size_t t = 0; t < c.pos.size(); ++t) if (c.pos[t][2] < 0.07 && c.contact[t]) { floor_frame = t; break; }
      hist.push_back(floor_frame);
      if (below < 0 || ((c.outcome == 1.0) != c.touched_zone)) printf("%s seed %d outcome %.0f touched %d below at %d final %.3f %.3f %.3f\n", split, seed, c.outcome, c.touched_zone, below, c.pos.back()[0], c.pos.back()[1], c.pos.back()[2]);
    }
    std::sort(hist.begin(), hist.end());
    printf("floor frame quantiles: %d %d %d %d %d\n", hist[0], hist[20], hist[100], hist[180], hist[199]);
    printf("%s: right %d/%d touched %d agree %d landed %d\n", split, right, n, touched, agree, landed);
  }
}

