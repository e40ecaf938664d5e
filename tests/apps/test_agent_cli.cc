// darkmatter train --model bc|ppo --task NAME and rollout --policy CKPT: bad keys and values
// exit 2 naming them and write nothing; a trained run directory acts in the rollout command.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"

using darkmatter::testing::Darkmatter;
using darkmatter::testing::Run;
using darkmatter::testing::Scratch;

namespace {

nlohmann::json Json(const Run& r) {
  INFO(r.output);
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(r.output.substr(r.output.find('{')));
}

}  // namespace

TEST_CASE("cli: bad bc/ppo train inputs exit 2, name the problem, and write nothing",
          "[cli][train][agents][errors]") {
  Scratch s;
  const std::string out = " --out " + (s / "run");
  const std::string pendulum = " --task control/inverted_pendulum";
  struct Case {
    std::string args, expected;
  };
  const Case cases[] = {
      {"--model ppo" + out, "--task"},
      {"--model ppo --task nope/none" + out, "'nope/none'"},
      {"--model ppo" + pendulum + out + " ppo.bogus=1", "ppo.bogus"},
      {"--model ppo" + pendulum + out + " bc.epochs=3", "bc.epochs"},
      {"--model ppo" + pendulum + out + " ppo.num_envs=abc", "abc"},
      {"--model ppo" + pendulum + out + " ppo.num_envs=0", "ppo.num_envs"},
      {"--model ppo" + pendulum + out + " ppo.gamma=1.5", "ppo.gamma"},
      {"--model ppo" + pendulum + out + " ppo.minibatches=0", "ppo.minibatches"},
      {"--model ppo" + pendulum + out + " env.observation=pixels", "env.observation"},
      {"--model ppo" + pendulum + out + " --device tpu", "'tpu'"},
      {"--model ppo" + pendulum + out + " --resume", "checkpoint"},
      {"--model ppo --task physics/collide" + out, "has no actions"},
      {"--model ppo" + pendulum + out + " --nproc 100000", "--nproc"},
      {"--model bc --task physics/drop" + out, "has no actions"},
      {"--model bc" + pendulum + out, "no scripted expert"},
      {"--model bc --task manipulation/reach" + out + " bc.lr=-1", "bc.lr"},
      {"--model bc --task manipulation/reach" + out + " bc.history=0", "bc.history=0"},
      {"--model bc --task manipulation/reach" + out + " bc.history=17", "bc.history=17"},
      {"--model bc --task manipulation/reach --data " + (s / "missing.h5") + out, "missing.h5"},
  };
  for (const Case& c : cases) {
    const Run r = Darkmatter("train " + c.args);
    INFO(c.args << "\n" << r.output);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.expected));
    CHECK(!std::filesystem::exists(s / "run"));
  }
}

TEST_CASE("cli: train ppo writes a run that rollout --policy can act with, --resume continues",
          "[cli][train][agents]") {
  Scratch s;
  const std::string tiny =
      " --task control/inverted_pendulum --out " + (s / "ppo") +
      " ppo.num_envs=4 ppo.rollout_steps=16 ppo.hidden=16 ppo.eval_episodes=2"
      " ppo.checkpoint_every=1 env.max_episode_steps=50 --json";
  const nlohmann::json first = Json(Darkmatter("train --model ppo" + tiny + " ppo.total_env_steps=128"));
  CHECK(first["steps"] == 128);
  CHECK(first["evaluation"]["episodes"] == 2);
  CHECK(std::filesystem::exists(s / "ppo/checkpoint.pt"));
  CHECK(std::filesystem::exists(s / "ppo/run.json"));
  const nlohmann::json resumed =
      Json(Darkmatter("train --model ppo" + tiny + " ppo.total_env_steps=256 --resume"));
  CHECK(resumed["start_step"] == 128);
  CHECK(resumed["steps"] == 256);

  const Run rollout = Darkmatter("rollout --task control/inverted_pendulum --policy " +
                                 (s / "ppo") + " --episodes 2 --out " + (s / "ppo.h5"));
  INFO(rollout.output);
  CHECK(rollout.code == 0);
  CHECK(std::filesystem::exists(s / "ppo.h5"));
  // The same checkpoint refuses another task, naming the mismatched tensors.
  const Run wrong = Darkmatter("rollout --task manipulation/reach --policy " +
                               (s / "ppo/checkpoint.pt") + " --episodes 1 --out " +
                               (s / "wrong.h5"));
  INFO(wrong.output);
  CHECK(wrong.code == 2);
  CHECK_THAT(wrong.output, Catch::Contains("pi.0.weight"));
  CHECK(!std::filesystem::exists(s / "wrong.h5"));
  const Run missing = Darkmatter("rollout --task control/inverted_pendulum --policy " +
                                 (s / "none.pt") + " --episodes 1 --out " + (s / "x.h5"));
  CHECK(missing.code == 2);
  CHECK_THAT(missing.output, Catch::Contains("none.pt"));
}

TEST_CASE("cli: train bc records expert demos and reports a held-out success rate",
          "[cli][train][agents]") {
  Scratch s;
  const nlohmann::json bc = Json(Darkmatter(
      "train --model bc --task manipulation/reach --out " + (s / "bc") +
      " bc.demos=3 bc.epochs=5 bc.hidden=16 bc.eval_episodes=2 --json"));
  CHECK(bc["steps"] == 5);
  CHECK(bc["evaluation"]["episodes"] == 2);
  const nlohmann::json run =
      nlohmann::json::parse(std::ifstream(s / "bc/run.json"), nullptr, false);
  CHECK(run["num_demos"] == 3);
  CHECK(run["demo_seeds"][1] == 2);
}
