#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "tasks/physics/pegs.h"
#include "tasks/physics/physics_scene.h"
#include "tests/mujoco_fixture.h"
#include "tests/tasks/physics_test_util.h"

namespace physics = darkmatter::tasks::physics;

namespace darkmatter::testing {
namespace {

constexpr const char* kTask = "physics/pegs";
constexpr int kWidth = 96, kHeight = 72;

// A clip with the ball's motion and contacts, its outcome and the peg's apex.
struct PegsClip : Clip {
  std::vector<std::array<double, 3>> pos;  // (frames) ball centre (m)
  std::vector<bool> contact;               // (frames) ball touched anything in the last step
  double outcome = -1;                     // the "outcome" label
  double peak_x = 0;                       // x of the peg's apex (m)
};

// Runs one clip from `seed`; renders camera "main" for the first `frames` frames.
PegsClip Run(sim::Env& env, uint64_t seed, int frames = 0) {
  const physics::PhysicsScene& scene = Scene(env);
  const auto record = [&](PegsClip* clip, const sim::RenderOutput*) {
    clip->pos.push_back(scene.Position(scene.RedObject()));
    clip->contact.push_back(scene.InContact(scene.RedObject(), -1));
  };
  const ClipRender first_frames = {.width = kWidth, .height = kHeight, .frames = frames};
  PegsClip clip = RecordClip<PegsClip>(env, seed, first_frames, record);
  clip.peak_x = scene.model()->body_pos[3 * mj_name2id(scene.model(), mjOBJ_BODY, "rig")];
  clip.outcome = EpisodeLabelsOf(env).scalars.at("outcome");
  return clip;
}

// Pixels whose colour differs by more than `tolerance` (0-255) in some channel.
int DifferentPixels(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b,
                    int tolerance = 0) {
  int count = 0;
  for (size_t p = 0; p < a.size(); p += 3) {
    bool differs = false;
    for (int k = 0; k < 3; ++k) differs = differs || std::abs(a[p + k] - b[p + k]) > tolerance;
    count += differs;
  }
  return count;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "pegs: outcome frequencies match the declared distribution",
                 "[tasks][physics]") {
  const std::vector<double> declared = physics::PegsOutcomeDistribution();
  REQUIRE(declared.size() == 2);
  CHECK(declared[0] + declared[1] == Approx(1.0));
  for (const char* split : {"train", "ood"}) {
    INFO(split);
    auto env = MakePhysics(kTask, "none", split);
    const int n = 200;
    int right = 0, agree = 0;
    for (int seed = 0; seed < n; ++seed) {
      const PegsClip c = Run(*env, seed);
      REQUIRE((c.outcome == 0.0 || c.outcome == 1.0));
      right += c.outcome == 1.0;
      // The label is the side of the post where the ball ends; the hidden offset (its start,
      // sub-pixel) alone decides it: the scene is mirror-symmetric about the post.
      CHECK(c.outcome == (c.pos.back()[0] > c.peak_x ? 1.0 : 0.0));
      CHECK(c.outcome == (c.pos.front()[0] > c.peak_x ? 1.0 : 0.0));
      CHECK(std::abs(c.pos.back()[0] - c.peak_x) > 0.02);  // it left the apex
      double top = 0;  // no bounce gains energy: the ball never rises above its release
      for (const auto& p : c.pos) top = std::max(top, p[2]);
      CHECK(top <= c.pos.front()[2] + 1e-3);
      agree += c.touched_zone == (c.outcome == 1.0);
    }
    // 99% binomial interval around the declared P(right).
    const double mean = n * declared[1], sd = std::sqrt(n * declared[1] * declared[0]);
    CHECK(std::abs(right - mean) <= 2.576 * sd);
    CHECK(agree >= 0.95 * n);  // the yellow zone is the right bin's floor
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "pegs: the first frames do not determine the outcome",
                 "[tasks][physics]") {
  // Seeds share one of a few visible layouts; within a layout, the first frames (the ball
  // falling towards the apex, before any contact) look the same whichever way it goes.
  auto env = MakePhysics(kTask);
  physics::PhysicsScene& scene = Scene(*env);
  const mjModel* m = scene.model();
  const int ball_geom = m->body_geomadr[mj_name2id(m, mjOBJ_BODY, "red")];
  const int peg = mj_name2id(m, mjOBJ_GEOM, "peg");
  std::map<std::array<double, 4>, std::vector<PegsClip>> by_layout;
  int pairs = 0;
  for (int seed = 0; seed < 60; ++seed) {
    env->Reset(seed);
    const std::array<double, 4> layout = {
        m->body_pos[3 * mj_name2id(m, mjOBJ_BODY, "rig")], m->geom_size[3 * ball_geom],
        m->geom_size[3 * peg], std::round(scene.Position(scene.RedObject())[2] * 1e6)};
    PegsClip c = Run(*env, seed, 3);
    REQUIRE_FALSE(c.contact[2]);  // still falling freely
    for (const PegsClip& other : by_layout[layout]) {
      if (other.outcome == c.outcome) continue;
      ++pairs;
      // A sub-pixel shift: shading changes by a few levels, a few edge pixels flip.
      for (int t = 0; t < 3; ++t) CHECK(DifferentPixels(other.rgb[t], c.rgb[t], 20) <= 8);
    }
    by_layout[layout].push_back(std::move(c));
  }
  CHECK(pairs >= 3);
}

TEST_CASE_METHOD(NoMujocoWarnings, "pegs: hidden restitution changes how the ball bounces",
                 "[tasks][physics]") {
  auto env = MakePhysics(kTask);
  physics::PhysicsScene& scene = Scene(*env);
  const int ball = scene.RedObject();
  for (uint64_t seed : {1, 2}) {
    INFO("seed " << seed);
    std::vector<double> rebound;
    for (double restitution : {0.2, 0.5}) {
      env->Reset(seed);
      scene.SetHiddenProperties(ball, scene.Mass(ball), scene.Friction(ball), restitution);
      // Highest point within 15 frames of the first bounce on the bin's floor.
      bool bounced = false;
      double top = 0;
      int after = 0;
      sim::StepResult r;
      do {
        r = env->Step({});
        const double z = scene.Position(ball)[2];
        bounced = bounced || (z < 0.1 && scene.Velocity(ball)[2] > 0);
        if (bounced) top = std::max(top, z);
      } while (!r.truncated && (!bounced || ++after < 15));
      REQUIRE(bounced);
        rebound.push_back(top);
    }
    CHECK(rebound[1] > rebound[0] + 0.02);  // rebound ~ e^2 x drop height
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "pegs: the ood split draws outside the training ranges",
                 "[tasks][physics]") {
  for (const char* split : {"train", "ood"}) {
    const bool ood = std::string(split) == "ood";
    auto env = MakePhysics(kTask, "none", split);
    physics::PhysicsScene& scene = Scene(*env);
    const int ball = scene.RedObject();
    const int geom = scene.model()->body_geomadr[mj_name2id(scene.model(), mjOBJ_BODY, "red")];
    for (uint64_t seed = 0; seed < 10; ++seed) {
      INFO(split << " seed " << seed);
      env->Reset(seed);
      const double mass = scene.Mass(ball), friction = scene.Friction(ball);
      const double restitution = scene.Restitution(ball);
      const double radius = scene.model()->geom_size[3 * geom];
      CHECK((ood ? (mass >= 3.0 && mass < 5.0) : (mass >= 0.5 && mass < 2.0)));
      CHECK((ood ? (friction >= 0.1 && friction < 0.3) : (friction >= 0.3 && friction < 1.0)));
      CHECK((ood ? restitution < 0.11 : (restitution > 0.14 && restitution < 0.46)));
      CHECK((ood ? radius < 0.027 : radius >= 0.03));
    }
  }
}

}  // namespace darkmatter::testing
