#include <catch2/catch.hpp>

#include <numeric>

#include "agents/random_agent.h"
#include "agents/rollout.h"
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
