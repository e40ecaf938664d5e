// SAC: improves on a tiny task from a seed, resumes bit-identically (networks, optimiser,
// replay buffer and envs all in the checkpoint), loads checkpoints strictly, refuses bad
// settings and changed settings on resume, and stops on a non-finite loss keeping the last
// good checkpoint.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agents/policy_agent.h"
#include "agents/ppo.h"
#include "agents/random_agent.h"
#include "agents/sac.h"
#include "agents/sac_agent.h"
#include "agents/train_agent.h"
#include "sim/error.h"
#include "tasks/registry.h"

// LibTorch's headers define glog's CHECK; Catch's CHECK must win, so Catch comes last.
#undef CHECK
#include <catch2/catch.hpp>

namespace agents = darkmatter::agents;
namespace sim = darkmatter::sim;

namespace {

const std::string kTask = "control/inverted_pendulum";

// A fresh directory per test, removed with its contents.
struct TempDir {
  std::filesystem::path dir;
  explicit TempDir(const std::string& name) {
    dir = std::filesystem::temp_directory_path() /
          ("darkmatter_sac_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

// Small, fast settings: 2 envs, 32 hidden units, batches of 64.
agents::SacSettings Tiny() {
  agents::SacSettings s;
  s.num_envs = 2;
  s.hidden = 32;
  s.batch_size = 64;
  s.learning_starts = 200;
  s.chunk_steps = 200;
  s.buffer_size = 5000;
  s.lr = 1e-3;
  s.seed = 3;
  return s;
}

sim::EnvSettings ShortEpisodes(int steps = 100) {
  sim::EnvSettings e;
  e.max_episode_steps = steps;
  return e;
}

}  // namespace

TEST_CASE("sac: learns to balance the inverted pendulum from a seed", "[agents][sac][learning]") {
  TempDir tmp("learn");
  const sim::EnvSettings env_settings = ShortEpisodes();
  agents::SacSettings s = Tiny();
  agents::SacTrainer trainer(kTask, env_settings, s);
  trainer.Save(tmp / "untrained.pt");
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, double> metrics;
  while (trainer.EnvSteps() < 3000) metrics = trainer.Update();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  trainer.Save(tmp / "trained.pt");

  auto env = darkmatter::tasks::MakeEnv(kTask, env_settings);
  agents::SacPolicyAgent untrained(env->ObservationSpec(), env->ActionSpec(),
                                   tmp / "untrained.pt");
  agents::SacPolicyAgent trained(env->ObservationSpec(), env->ActionSpec(), tmp / "trained.pt");
  const auto before = agents::EvaluateAgent(*env, untrained, agents::kTestSeedBase, 5);
  const auto after = agents::EvaluateAgent(*env, trained, agents::kTestSeedBase, 5);
  std::printf("sac pendulum: %lld env steps, %.0f updates in %.2f s (%.0f updates/s); "
              "deterministic return %.1f -> %.1f (max 100), alpha %.3f\n",
              static_cast<long long>(trainer.EnvSteps()), metrics.at("updates"), seconds,
              metrics.at("updates_per_s"), before.mean_return, after.mean_return,
              metrics.at("alpha"));
  CHECK(metrics.at("updates") == trainer.EnvSteps() - s.learning_starts + s.num_envs);
  CHECK(metrics.at("alpha") < 1.0);  // the temperature falls toward the target entropy
  CHECK(after.mean_return > 3 * before.mean_return);
  CHECK(after.mean_return > 60);
}

TEST_CASE("sac: a resumed run is bit-identical to an uninterrupted one, for any thread count",
          "[agents][sac][resume]") {
  TempDir tmp("resume");
  agents::SacSettings s = Tiny();
  s.chunk_steps = 60;
  s.learning_starts = 100;
  s.utd = 0.5;  // fractional update credit crosses the checkpoint
  s.buffer_size = 150;  // the ring wraps before the end
  const sim::EnvSettings env_settings = ShortEpisodes(25);  // episodes end mid-chunk
  std::map<std::string, double> straight_metrics;
  std::string straight_hash;
  {
    agents::SacTrainer trainer(kTask, env_settings, s);
    for (int u = 0; u < 6; ++u) straight_metrics = trainer.Update();
    straight_hash = trainer.ParameterHash();
    trainer.Save(tmp / "straight.pt");
  }
  {
    agents::SacTrainer first(kTask, env_settings, s);
    for (int u = 0; u < 3; ++u) first.Update();
    first.Save(tmp / "half.pt");
  }
  s.threads = 2;
  agents::SacTrainer resumed(kTask, env_settings, s);
  CHECK(resumed.Load(tmp / "half.pt") == 180);
  std::map<std::string, double> resumed_metrics;
  for (int u = 0; u < 3; ++u) resumed_metrics = resumed.Update();
  CHECK(resumed.EnvSteps() == 360);
  CHECK(resumed.ParameterHash() == straight_hash);
  for (const char* key : {"critic_loss", "actor_loss", "alpha", "q_mean", "updates"}) {
    INFO(key);
    CHECK(resumed_metrics.at(key) == straight_metrics.at(key));
  }
  CHECK(resumed_metrics.at("episodes") == straight_metrics.at("episodes"));
  // The whole checkpoint (buffer and envs included) is the same file content too.
  resumed.Save(tmp / "resumed.pt");
  agents::SacTrainer a(kTask, env_settings, s), b(kTask, env_settings, s);
  a.Load(tmp / "straight.pt");
  b.Load(tmp / "resumed.pt");
  CHECK(a.Update().at("critic_loss") == b.Update().at("critic_loss"));
  CHECK(a.ParameterHash() == b.ParameterHash());
  // Another seed gives other parameters.
  s.seed = 4;
  agents::SacTrainer other(kTask, env_settings, s);
  for (int u = 0; u < 6; ++u) other.Update();
  CHECK(other.ParameterHash() != straight_hash);
}

TEST_CASE("sac: strict checkpoints refuse mismatched, foreign and corrupt files",
          "[agents][sac][checkpoint]") {
  TempDir tmp("strict");
  agents::SacSettings s = Tiny();
  agents::SacTrainer small(kTask, ShortEpisodes(), s);
  small.Save(tmp / "checkpoint.pt");
  s.hidden = 16;
  agents::SacTrainer other(kTask, ShortEpisodes(), s);
  try {
    other.Load(tmp / "checkpoint.pt");
    FAIL("mismatched checkpoint was accepted");
  } catch (const sim::BadInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("nets.actor.0.weight") && Catch::Contains("(32x4)"));
  }
  // A ppo checkpoint is not a sac one.
  agents::PpoSettings ppo;
  ppo.rollout_steps = 8;
  agents::PpoTrainer ppo_trainer(kTask, ShortEpisodes(), ppo);
  ppo_trainer.Save(tmp / "ppo.pt");
  CHECK_THROWS_WITH(other.Load(tmp / "ppo.pt"), Catch::Contains("'ppo' checkpoint, not sac"));
  // A truncated file is refused, naming it.
  {
    std::ifstream in(tmp / "checkpoint.pt", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(tmp / "corrupt.pt", std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  CHECK_THROWS_AS(other.Load(tmp / "corrupt.pt"), sim::BadInput);
  CHECK_THROWS_WITH(other.Load(tmp / "corrupt.pt"), Catch::Contains("corrupt.pt"));
  CHECK_THROWS_AS(other.Load(tmp / "missing.pt"), sim::BadInput);
  // The pendulum policy does not fit the reach task.
  auto reach = darkmatter::tasks::MakeEnv("manipulation/reach");
  CHECK_THROWS_AS(agents::SacPolicyAgent(reach->ObservationSpec(), reach->ActionSpec(),
                                         tmp / "checkpoint.pt"),
                  sim::BadInput);
}

TEST_CASE("sac: every setting is validated, naming its key", "[agents][sac][settings]") {
  const std::vector<std::pair<std::string, std::function<void(agents::SacSettings&)>>> cases = {
      {"sac.num_envs", [](auto& s) { s.num_envs = 0; }},
      {"sac.threads", [](auto& s) { s.threads = -1; }},
      {"sac.total_env_steps", [](auto& s) { s.total_env_steps = 0; }},
      {"sac.chunk_steps", [](auto& s) { s.chunk_steps = 0; }},
      {"sac.buffer_size", [](auto& s) { s.buffer_size = 0; }},
      {"sac.batch_size", [](auto& s) { s.batch_size = 0; }},
      {"sac.learning_starts", [](auto& s) { s.learning_starts = -1; }},
      {"sac.utd", [](auto& s) { s.utd = 0; }},
      {"sac.gamma", [](auto& s) { s.gamma = 1.5; }},
      {"sac.tau", [](auto& s) { s.tau = 0; }},
      {"sac.lr", [](auto& s) { s.lr = NAN; }},
      {"sac.hidden", [](auto& s) { s.hidden = 0; }},
      {"sac.alpha", [](auto& s) { s.alpha = -1; }},
      {"sac.target_entropy_scale", [](auto& s) { s.target_entropy_scale = INFINITY; }},
      {"sac.checkpoint_every", [](auto& s) { s.checkpoint_every = 0; }},
      {"sac.eval_episodes", [](auto& s) { s.eval_episodes = -1; }},
      {"sac.eval_every", [](auto& s) { s.eval_every = -1; }},
  };
  for (const auto& [key, breaks] : cases) {
    agents::SacSettings s = Tiny();
    breaks(s);
    INFO(key);
    CHECK_THROWS_WITH(agents::ValidateSacSettings(s), Catch::Contains("setting " + key + "="));
  }
  agents::SacSettings fine = Tiny();
  CHECK_NOTHROW(agents::ValidateSacSettings(fine));
}

TEST_CASE("sac: TrainAgent resumes, refuses changed settings and stops on a non-finite loss",
          "[agents][sac][resume]") {
  TempDir tmp("train");
  agents::AgentTrainRequest request;
  request.model = "sac";
  request.task = kTask;
  request.out = tmp / "run";
  request.env = ShortEpisodes();
  request.sac = Tiny();
  request.sac.total_env_steps = 400;
  request.sac.checkpoint_every = 1;
  request.sac.eval_episodes = 1;
  request.settings_text = {{"sac.hidden", "32"}, {"sac.lr", "0.001"}, {"sac.total_env_steps", "400"}};
  const auto first = agents::TrainAgent(request);
  CHECK(first.steps == 400);
  CHECK(first.evaluation.episodes == 1);
  // The run directory is a policy for the rollout command.
  auto env = darkmatter::tasks::MakeEnv(kTask, request.env);
  auto agent = agents::LoadPolicyAgent(tmp / "run", *env);
  std::vector<double> action(1);
  agent->Act(std::vector<double>(4, 0.0), action);
  CHECK(std::abs(action[0]) <= 3.0);
  // A longer budget resumes; changed learning settings are refused, naming the keys.
  request.resume = true;
  request.sac.total_env_steps = 600;
  request.settings_text["sac.total_env_steps"] = "600";
  request.settings_text["sac.lr"] = "0.01";
  request.settings_text["sac.hidden"] = "64";
  try {
    agents::TrainAgent(request);
    FAIL("changed settings were accepted on resume");
  } catch (const sim::BadInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("sac.lr (0.001 -> 0.01)") &&
                             Catch::Contains("sac.hidden (32 -> 64)"));
    CHECK_THAT(e.what(), !Catch::Contains("total_env_steps"));
  }
  request.settings_text["sac.lr"] = "0.001";
  request.settings_text["sac.hidden"] = "32";
  const auto resumed = agents::TrainAgent(request);
  CHECK(resumed.start_step == 400);
  CHECK(resumed.steps == 600);
  // An absurd learning rate drives a loss to infinity: the run stops with a message naming
  // the last good checkpoint, which is still there and loads.
  TempDir bad("nan");
  request.out = bad / "run";
  request.resume = false;
  request.sac.lr = 1e30;
  request.sac.learning_starts = 500;  // two chunks (checkpoints) before the first update
  request.sac.total_env_steps = 2000;
  try {
    agents::TrainAgent(request);
    FAIL("a non-finite loss did not stop the run");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("not finite") && Catch::Contains("is kept"));
  }
  agents::SacSettings same = request.sac;
  agents::SacTrainer reload(kTask, request.env, same);
  CHECK(reload.Load(bad / "run/checkpoint.pt") == 400);
}
