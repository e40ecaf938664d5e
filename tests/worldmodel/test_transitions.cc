#include <torch/torch.h>

#include "agents/random_agent.h"
#include "agents/rollout.h"
#include "sim/error.h"
#include "tasks/registry.h"
#include "worldmodel/device.h"
#include "worldmodel/transitions.h"

// LibTorch's headers define glog's CHECK (which aborts instead of reporting); Catch's
// CHECK must win, so Catch comes last.
#undef CHECK
#include <catch2/catch.hpp>

namespace sim = darkmatter::sim;
namespace wm = darkmatter::worldmodel;

TEST_CASE("ResolveDevice: cpu, auto, and clear errors", "[worldmodel][device]") {
  CHECK(wm::ResolveDevice("cpu").is_cpu());
  CHECK(wm::ResolveDevice("auto").is_cuda() == torch::cuda::is_available());
  CHECK_THROWS_WITH(wm::ResolveDevice("tpu"), Catch::Contains("'tpu'"));
  if (!torch::cuda::is_available()) {
    CHECK_THROWS_AS(wm::ResolveDevice("cuda"), sim::BadInput);
  }
}

TEST_CASE("StackTransitions: (o_t, a_t, o_t+1) rows match the episodes", "[worldmodel]") {
  auto env = darkmatter::tasks::MakeEnv("control/inverted_pendulum");
  darkmatter::agents::RandomAgent agent(env->ActionSpec());
  std::vector<sim::Episode> episodes = {darkmatter::agents::RecordEpisode(*env, agent, 1),
                                        darkmatter::agents::RecordEpisode(*env, agent, 2)};
  const auto t = wm::StackTransitions(episodes, wm::ResolveDevice("cpu"));
  const int64_t n = episodes[0].Length() + episodes[1].Length();
  CHECK(t.observations.sizes() == torch::IntArrayRef({n, 4}));
  CHECK(t.actions.sizes() == torch::IntArrayRef({n, 1}));
  CHECK(t.observations.dtype() == torch::kFloat32);
  // The first row of the second episode is its reset observation; next_obs is shifted by one.
  const int64_t row = episodes[0].Length();
  CHECK(t.observations[row][1].item<float>() == static_cast<float>(episodes[1].observations[1]));
  CHECK(t.next_observations[row][1].item<float>() ==
        static_cast<float>(episodes[1].observations[4 + 1]));
  CHECK(t.actions[row][0].item<float>() == static_cast<float>(episodes[1].actions[0]));
}
