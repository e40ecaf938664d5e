#include <catch2/catch.hpp>

#include <filesystem>
#include <numeric>

#include <unistd.h>

#include "agents/random_agent.h"
#include "agents/rollout.h"
#include "sim/episode_file.h"
#include "tasks/registry.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
namespace agents = darkmatter::agents;
using darkmatter::testing::NoMujocoWarnings;

TEST_CASE_METHOD(NoMujocoWarnings, "RandomAgent: actions stay within bounds and are seeded",
                 "[agents]") {
  sim::BoxSpec spec{{3}, {-1, 0, -5}, {1, 2, 5}, "float64"};
  agents::RandomAgent a(spec, 2), b(spec, 2);
  a.Reset(9, 0);
  a.Reset(10, 1);
  b.Reset(9, 0);
  b.Reset(10, 1);
  std::vector<double> x(6), y(6);
  for (int t = 0; t < 1000; ++t) {
    a.Act({}, x);
    b.Act({}, y);
    REQUIRE(x == y);
    for (int i = 0; i < 6; ++i) {
      REQUIRE(x[i] >= spec.low[i % 3]);
      REQUIRE(x[i] <= spec.high[i % 3]);
    }
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "RecordEpisode: buffers are consistent and replayable",
                 "[agents][rollout]") {
  auto env = darkmatter::tasks::MakeEnv("control/inverted_pendulum");
  agents::RandomAgent agent(env->ActionSpec());
  const sim::Episode e = agents::RecordEpisode(*env, agent, 21);
  const int64_t t = e.Length();
  REQUIRE(t > 0);
  CHECK(static_cast<int64_t>(e.observations.size()) == (t + 1) * e.obs_dim);
  CHECK(static_cast<int64_t>(e.actions.size()) == t * e.act_dim);
  CHECK(static_cast<int64_t>(e.states.size()) == (t + 1) * e.state_dim);
  CHECK(static_cast<int64_t>(e.rng_states.size()) == (t + 1) * 4);
  CHECK(e.elapsed_steps.back() == t);
  CHECK((e.terminations.back() || e.truncations.back()));
  CHECK(e.Return() == Approx(static_cast<double>(t)));  // reward 1 per step
  // Replaying the recorded actions from a stored mid-episode state reproduces the rest.
  const int64_t k = t / 2;
  sim::EnvState state;
  state.physics.assign(e.states.begin() + k * e.state_dim, e.states.begin() + (k + 1) * e.state_dim);
  std::copy_n(e.rng_states.begin() + 4 * k, 4, state.rng.begin());
  state.elapsed_steps = e.elapsed_steps[k];
  state.needs_reset = false;
  auto replay = darkmatter::tasks::MakeEnv("control/inverted_pendulum");
  replay->SetState(state);
  for (int64_t s = k; s < t; ++s) {
    const sim::StepResult r =
        replay->Step(std::span<const double>(e.actions).subspan(s * e.act_dim, e.act_dim));
    const auto expected =
        std::span<const double>(e.observations).subspan((s + 1) * e.obs_dim, e.obs_dim);
    REQUIRE(std::equal(expected.begin(), expected.end(), r.observation.begin()));
  }
}

TEST_CASE_METHOD(NoMujocoWarnings, "RecordEpisode: stored frames match a re-render of stored "
                 "states, and rendering does not change the physics", "[agents][rollout][render]") {
  sim::EnvSettings pixels;
  pixels.observation = "state+pixels";
  pixels.frame_width = 32;
  pixels.frame_height = 24;
  auto env = darkmatter::tasks::MakeEnv("control/inverted_pendulum", pixels);
  agents::RandomAgent agent(env->ActionSpec());
  const std::string path =
      (std::filesystem::temp_directory_path() / ("dm_frames_" + std::to_string(getpid()) + ".h5"))
          .string();
  {
    sim::EpisodeWriter writer(path, {.task = env->Name()});
    writer.Append(agents::RecordEpisode(*env, agent, 8));
    writer.Commit();
  }
  const sim::Episode e = sim::EpisodeReader(path).Read(0);
  std::filesystem::remove(path);
  REQUIRE(e.frame_height == 24);
  REQUIRE(e.frame_width == 32);
  REQUIRE(static_cast<int64_t>(e.frames.size()) == (e.Length() + 1) * 24 * 32 * 3);

  auto replay = darkmatter::tasks::MakeEnv("control/inverted_pendulum");
  replay->Reset(0);
  sim::EnvState state;
  sim::RenderOutput out;
  for (int64_t t = 0; t <= e.Length(); ++t) {
    state.physics.assign(e.states.begin() + t * e.state_dim,
                         e.states.begin() + (t + 1) * e.state_dim);
    replay->SetState(state);
    replay->Render({}, 32, 24, &out);
    const auto stored = std::span<const uint8_t>(e.frames).subspan(t * 32 * 24 * 3, 32 * 24 * 3);
    INFO("step " << t);
    REQUIRE(std::equal(stored.begin(), stored.end(), out.rgb.begin()));
  }

  // The same seed without pixels gives the same states, bit for bit.
  auto plain = darkmatter::tasks::MakeEnv("control/inverted_pendulum");
  agents::RandomAgent plain_agent(plain->ActionSpec());
  const sim::Episode p = agents::RecordEpisode(*plain, plain_agent, 8);
  CHECK(p.states == e.states);
  CHECK(p.observations == e.observations);
}
