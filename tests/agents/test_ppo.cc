// PPO: learns the inverted pendulum within a small budget, is bit-reproducible for a seed,
// loads checkpoints strictly, and resumes from the checkpoint's step.
#include <chrono>
#include <cmath>
#include <vector>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agents/policy_agent.h"
#include "agents/ppo.h"
#include "agents/random_agent.h"
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
          ("darkmatter_ppo_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

// Small, fast settings: 8 envs x 64 steps per update.
agents::PpoSettings Tiny() {
  agents::PpoSettings s;
  s.num_envs = 8;
  s.rollout_steps = 64;
  s.epochs = 4;
  s.minibatches = 4;
  s.lr = 1e-3;
  s.hidden = 32;
  s.seed = 7;
  return s;
}

sim::EnvSettings ShortEpisodes() {
  sim::EnvSettings e;
  e.max_episode_steps = 200;
  return e;
}

}  // namespace

TEST_CASE("ppo: learns to balance the inverted pendulum far better than random",
          "[agents][ppo][learning]") {
  TempDir tmp("learn");
  const sim::EnvSettings env_settings = ShortEpisodes();
  agents::PpoSettings s = Tiny();
  agents::PpoTrainer trainer(kTask, env_settings, s);
  const int updates = 40;
  const auto start = std::chrono::steady_clock::now();
  double last_return = 0;
  for (int u = 0; u < updates; ++u) {
    const auto metrics = trainer.Update();
    if (metrics.at("episodes") > 0) last_return = metrics.at("episode_return");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  trainer.Save(tmp / "checkpoint.pt");

  auto env = darkmatter::tasks::MakeEnv(kTask, env_settings);
  agents::RandomAgent random(env->ActionSpec());
  const auto random_eval = agents::EvaluateAgent(*env, random, agents::kTestSeedBase, 10);
  agents::PolicyAgent policy(env->ObservationSpec(), env->ActionSpec(), s.hidden,
                             tmp / "checkpoint.pt");
  const auto policy_eval = agents::EvaluateAgent(*env, policy, agents::kTestSeedBase, 10);
  std::printf("ppo pendulum: %lld env steps in %.2f s (%.0f env steps/s incl. updates); "
              "training return %.1f; deterministic return %.1f vs random %.1f (max 200)\n",
              static_cast<long long>(trainer.EnvSteps()), seconds, trainer.EnvSteps() / seconds,
              last_return, policy_eval.mean_return, random_eval.mean_return);
  CHECK(trainer.EnvSteps() == updates * 8 * 64);
  CHECK(random_eval.mean_return < 20);
  CHECK(policy_eval.mean_return > 5 * random_eval.mean_return);
  CHECK(policy_eval.mean_return > 100);
}

TEST_CASE("ppo: a seeded run is bit-reproducible for any pool thread count",
          "[agents][ppo][determinism]") {
  agents::PpoSettings s = Tiny();
  s.rollout_steps = 32;
  auto run = [&](int threads, uint64_t seed) {
    agents::PpoSettings settings = s;
    settings.threads = threads;
    settings.seed = seed;
    agents::PpoTrainer trainer(kTask, ShortEpisodes(), settings);
    std::map<std::string, double> metrics;
    for (int u = 0; u < 3; ++u) metrics = trainer.Update();
    return std::make_pair(trainer.ParameterHash(), metrics);
  };
  const auto a = run(1, 7), b = run(2, 7), c = run(1, 8);
  CHECK(a.first == b.first);
  CHECK(a.second.at("policy_loss") == b.second.at("policy_loss"));
  CHECK(a.second.at("value_loss") == b.second.at("value_loss"));
  CHECK(a.first != c.first);
}

TEST_CASE("ppo: strict load refuses a mismatched checkpoint, naming the tensor",
          "[agents][ppo][checkpoint]") {
  TempDir tmp("strict");
  agents::PpoSettings s = Tiny();
  s.rollout_steps = 8;
  agents::PpoTrainer small(kTask, ShortEpisodes(), s);
  small.Save(tmp / "checkpoint.pt");
  s.hidden = 16;
  agents::PpoTrainer other(kTask, ShortEpisodes(), s);
  try {
    other.Load(tmp / "checkpoint.pt");
    FAIL("mismatched checkpoint was accepted");
  } catch (const sim::BadInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("pi.0.weight") && Catch::Contains("(32x4)"));
  }
  // A pendulum policy does not fit the reach task (20-d observations, 6-d actions).
  auto reach = darkmatter::tasks::MakeEnv("manipulation/reach");
  try {
    agents::PolicyAgent agent(reach->ObservationSpec(), reach->ActionSpec(), 32,
                              tmp / "checkpoint.pt");
    FAIL("checkpoint of another task was accepted");
  } catch (const sim::BadInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("log_std") && Catch::Contains("pi.0.weight"));
  }
}

TEST_CASE("ppo: TrainAgent resumes from the checkpoint's step", "[agents][ppo][resume]") {
  TempDir tmp("resume");
  agents::AgentTrainRequest request;
  request.model = "ppo";
  request.task = kTask;
  request.out = tmp / "run";
  request.env = ShortEpisodes();
  request.ppo = Tiny();
  request.ppo.rollout_steps = 16;  // 128 env steps per update
  request.ppo.total_env_steps = 256;
  request.ppo.checkpoint_every = 1;
  request.ppo.eval_episodes = 2;
  request.settings_text = {{"ppo.hidden", "32"}};
  const auto first = agents::TrainAgent(request);
  CHECK(first.start_step == 0);
  CHECK(first.steps == 256);
  CHECK(first.evaluation.episodes == 2);
  request.resume = true;
  request.ppo.total_env_steps = 512;
  const auto resumed = agents::TrainAgent(request);
  CHECK(resumed.start_step == 256);
  CHECK(resumed.steps == 512);
  std::ifstream metrics(tmp / "run/metrics.jsonl");
  std::string line;
  std::vector<int64_t> steps;
  while (std::getline(metrics, line)) steps.push_back(nlohmann::json::parse(line)["step"]);
  CHECK(steps == std::vector<int64_t>{128, 256, 384, 512});
  // The run directory is a policy for the rollout command.
  auto env = darkmatter::tasks::MakeEnv(kTask, request.env);
  auto agent = agents::LoadPolicyAgent(tmp / "run", *env);
  std::vector<double> action(1);
  agent->Act(std::vector<double>(4, 0.0), action);
  CHECK(std::abs(action[0]) <= 3.0);
  // Resuming with another model or task is refused before anything changes.
  request.task = "manipulation/reach";
  CHECK_THROWS_AS(agents::TrainAgent(request), sim::BadInput);
}

TEST_CASE("ppo: the reward normaliser and the annealed learning rate resume exactly",
          "[agents][ppo][resume]") {
  TempDir tmp("normaliser");
  agents::PpoSettings s = Tiny();
  s.rollout_steps = 16;            // 128 env steps per update
  s.total_env_steps = 4 * 128;     // 4 updates: lr 1, 3/4, 1/2, 1/4 of ppo.lr
  s.anneal_lr = true;
  agents::PpoTrainer trainer(kTask, ShortEpisodes(), s);
  std::vector<double> lrs;
  for (int u = 0; u < 2; ++u) {
    const auto m = trainer.Update();
    lrs.push_back(m.at("lr"));
    CHECK(m.at("reward_std") > 0);
    CHECK(std::isfinite(m.at("reward_std")));
  }
  trainer.Save(tmp / "checkpoint.pt");
  // Two trainers loaded from the same checkpoint continue identically, and their reward
  // statistics are those saved (a saved-again checkpoint has the same metadata).
  auto continued = [&] {
    agents::PpoTrainer t(kTask, ShortEpisodes(), s);
    CHECK(t.Load(tmp / "checkpoint.pt") == 256);
    const auto m = t.Update();
    return std::make_pair(t.ParameterHash(), m);
  };
  const auto a = continued(), b = continued();
  CHECK(a.first == b.first);
  CHECK(a.second.at("reward_std") == b.second.at("reward_std"));
  CHECK(a.second.at("lr") == Approx(s.lr * 0.5));
  CHECK(lrs[0] == Approx(s.lr));
  CHECK(lrs[1] == Approx(s.lr * 0.75));
  // Without annealing and normalisation the metrics say so.
  s.anneal_lr = false;
  s.normalize_reward = false;
  agents::PpoTrainer flat(kTask, ShortEpisodes(), s);
  flat.Update();
  const auto m = flat.Update();
  CHECK(m.at("lr") == s.lr);
  CHECK(m.at("reward_std") == 1.0);
}

TEST_CASE("ppo: bad new settings are refused naming key and value", "[agents][ppo][settings]") {
  agents::PpoSettings s = Tiny();
  s.reward_clip = 0;
  try {
    agents::ValidatePpoSettings(s);
    FAIL("ppo.reward_clip=0 was accepted");
  } catch (const sim::BadInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("ppo.reward_clip"));
  }
}
