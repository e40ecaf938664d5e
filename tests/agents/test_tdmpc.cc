// TD-MPC: improves on a tiny task from a seed, resumes bit-identically (networks, optimiser,
// replay, the env and the planner's warm start all in the checkpoint), loads checkpoints
// strictly, plans deterministically from a seed, refuses bad settings naming the key, and
// runs through TrainAgent and the rollout command's policy loader.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include <torch/torch.h>

#include "agents/policy_agent.h"
#include "agents/rollout.h"
#include "agents/sac.h"
#include "agents/tdmpc.h"
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

struct TempDir {
  std::filesystem::path dir;
  explicit TempDir(const std::string& name) {
    dir = std::filesystem::temp_directory_path() /
          ("darkmatter_tdmpc_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

// Small, fast settings: 32 hidden units, a 16-value latent, 32 candidates, batches of 32.
agents::TdmpcSettings Tiny() {
  agents::TdmpcSettings s;
  s.hidden = 32;
  s.latent = 16;
  s.batch_size = 32;
  s.samples = 32;
  s.pi_samples = 4;
  s.elites = 4;
  s.iterations = 2;
  s.seed_steps = 200;
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

// Mean return of `episodes` test-seed episodes of the planner in `checkpoint`.
double PlanningReturn(const std::string& checkpoint, const sim::EnvSettings& env_settings,
                      int episodes) {
  auto env = darkmatter::tasks::MakeEnv(kTask, env_settings);
  agents::TdmpcPolicyAgent agent(env->ObservationSpec(), env->ActionSpec(), checkpoint);
  return agents::EvaluateAgent(*env, agent, agents::kTestSeedBase, episodes).mean_return;
}

}  // namespace

TEST_CASE("tdmpc: learns to balance the inverted pendulum from a seed",
          "[agents][tdmpc][learning]") {
  TempDir tmp("learn");
  const sim::EnvSettings env_settings = ShortEpisodes();
  agents::TdmpcSettings s = Tiny();
  agents::TdmpcTrainer trainer(kTask, env_settings, s);
  trainer.Save(tmp / "untrained.pt");
  std::map<std::string, double> metrics;
  while (trainer.EnvSteps() < 2000) metrics = trainer.Update();
  trainer.Save(tmp / "trained.pt");
  const double before = PlanningReturn(tmp / "untrained.pt", env_settings, 3);
  const double after = PlanningReturn(tmp / "trained.pt", env_settings, 3);
  std::printf("tdmpc pendulum: %lld env steps, %.0f updates (%.0f/s), %.2f ms per plan; "
              "planning return %.1f -> %.1f (max 100); consistency %.4f, reward %.4f\n",
              static_cast<long long>(trainer.EnvSteps()), metrics.at("updates"),
              metrics.at("updates_per_s"), metrics.at("plan_ms"), before, after,
              metrics.at("consistency_loss"), metrics.at("reward_loss"));
  // Updates: seed_steps at once, then one per step.
  CHECK(metrics.at("updates") == trainer.EnvSteps());
  CHECK(metrics.at("reward_loss") < 0.05);  // the pendulum's reward is 1 while upright
  CHECK(after > 3 * before);
  CHECK(after > 80);  // 100.0 with TD-MPC2's loss weights here (65.7 with TD-MPC1's)
}

TEST_CASE("tdmpc: a resumed run is bit-identical to an uninterrupted one",
          "[agents][tdmpc][resume]") {
  TempDir tmp("resume");
  agents::TdmpcSettings s = Tiny();
  s.chunk_steps = 60;
  s.seed_steps = 100;
  s.utd = 0.5;          // fractional update credit crosses the checkpoint
  s.buffer_size = 150;  // the ring wraps before the end
  const sim::EnvSettings env_settings = ShortEpisodes(25);  // episodes end mid-chunk
  std::map<std::string, double> straight_metrics;
  std::string straight_hash;
  {
    agents::TdmpcTrainer trainer(kTask, env_settings, s);
    for (int u = 0; u < 6; ++u) straight_metrics = trainer.Update();
    straight_hash = trainer.ParameterHash();
  }
  {
    agents::TdmpcTrainer first(kTask, env_settings, s);
    for (int u = 0; u < 3; ++u) first.Update();
    first.Save(tmp / "half.pt");
  }
  agents::TdmpcTrainer resumed(kTask, env_settings, s);
  CHECK(resumed.Load(tmp / "half.pt") == 180);
  std::map<std::string, double> resumed_metrics;
  for (int u = 0; u < 3; ++u) resumed_metrics = resumed.Update();
  CHECK(resumed.EnvSteps() == 360);
  CHECK(resumed.ParameterHash() == straight_hash);
  for (const char* key : {"consistency_loss", "reward_loss", "value_loss", "policy_loss",
                          "q_scale", "updates", "episodes", "episode_return"}) {
    INFO(key);
    CHECK(resumed_metrics.at(key) == straight_metrics.at(key));
  }
  s.seed = 4;
  agents::TdmpcTrainer other(kTask, env_settings, s);
  for (int u = 0; u < 6; ++u) other.Update();
  CHECK(other.ParameterHash() != straight_hash);
}

TEST_CASE("tdmpc: strict checkpoints and seeded, deterministic planning",
          "[agents][tdmpc][checkpoint]") {
  TempDir tmp("strict");
  agents::TdmpcSettings s = Tiny();
  s.chunk_steps = 250;
  agents::TdmpcTrainer trainer(kTask, ShortEpisodes(), s);
  trainer.Update();
  trainer.Save(tmp / "checkpoint.pt");
  s.hidden = 16;
  agents::TdmpcTrainer other(kTask, ShortEpisodes(), s);
  CHECK_THROWS_WITH(other.Load(tmp / "checkpoint.pt"),
                    Catch::Contains("nets.encoder.0.weight") && Catch::Contains("(32x4)"));
  agents::SacSettings sac;
  sac.num_envs = 1;
  sac.hidden = 8;
  sac.buffer_size = 10;
  agents::SacTrainer sac_trainer(kTask, ShortEpisodes(), sac);
  sac_trainer.Save(tmp / "sac.pt");
  CHECK_THROWS_WITH(other.Load(tmp / "sac.pt"), Catch::Contains("'sac' checkpoint, not tdmpc"));
  auto reach = darkmatter::tasks::MakeEnv("manipulation/reach");
  CHECK_THROWS_AS(agents::TdmpcPolicyAgent(reach->ObservationSpec(), reach->ActionSpec(),
                                           tmp / "checkpoint.pt"),
                  sim::BadInput);
  // Same episode seed, same plans; another seed draws other candidates.
  auto env = darkmatter::tasks::MakeEnv(kTask, ShortEpisodes(20));
  agents::TdmpcPolicyAgent a(env->ObservationSpec(), env->ActionSpec(), tmp / "checkpoint.pt");
  agents::TdmpcPolicyAgent b(env->ObservationSpec(), env->ActionSpec(), tmp / "checkpoint.pt");
  const auto first = agents::RecordEpisode(*env, a, 7);
  const auto again = agents::RecordEpisode(*env, b, 7);
  CHECK(first.actions == again.actions);
  const auto other_seed = agents::RecordEpisode(*env, b, 8);
  CHECK(other_seed.actions != first.actions);
}

TEST_CASE("tdmpc: every setting is validated, naming its key", "[agents][tdmpc][settings]") {
  const std::vector<std::pair<std::string, std::function<void(agents::TdmpcSettings&)>>> cases = {
      {"tdmpc.total_env_steps", [](auto& s) { s.total_env_steps = 0; }},
      {"tdmpc.chunk_steps", [](auto& s) { s.chunk_steps = 0; }},
      {"tdmpc.buffer_size", [](auto& s) { s.buffer_size = 0; }},
      {"tdmpc.batch_size", [](auto& s) { s.batch_size = 0; }},
      {"tdmpc.seed_steps", [](auto& s) { s.seed_steps = 2; }},  // below the horizon
      {"tdmpc.utd", [](auto& s) { s.utd = 0; }},
      {"tdmpc.latent", [](auto& s) { s.latent = 12; }},
      {"tdmpc.hidden", [](auto& s) { s.hidden = 0; }},
      {"tdmpc.lr", [](auto& s) { s.lr = NAN; }},
      {"tdmpc.tau", [](auto& s) { s.tau = 0; }},
      {"tdmpc.rho", [](auto& s) { s.rho = 1.5; }},
      {"tdmpc.consistency_coef", [](auto& s) { s.consistency_coef = -1; }},
      {"tdmpc.entropy_coef", [](auto& s) { s.entropy_coef = INFINITY; }},
      {"tdmpc.grad_clip", [](auto& s) { s.grad_clip = 0; }},
      {"tdmpc.horizon", [](auto& s) { s.horizon = 0; }},
      {"tdmpc.samples", [](auto& s) { s.samples = 1; }},
      {"tdmpc.pi_samples", [](auto& s) { s.pi_samples = 32; }},
      {"tdmpc.elites", [](auto& s) { s.elites = 33; }},
      {"tdmpc.iterations", [](auto& s) { s.iterations = 0; }},
      {"tdmpc.temperature", [](auto& s) { s.temperature = 0; }},
      {"tdmpc.max_std", [](auto& s) { s.max_std = 0.01; }},  // below min_std
      {"tdmpc.gamma", [](auto& s) { s.gamma = 0; }},
      {"tdmpc.checkpoint_every", [](auto& s) { s.checkpoint_every = 0; }},
      {"tdmpc.eval_episodes", [](auto& s) { s.eval_episodes = -1; }},
  };
  for (const auto& [key, breaks] : cases) {
    agents::TdmpcSettings s = Tiny();
    breaks(s);
    INFO(key);
    CHECK_THROWS_WITH(agents::ValidateTdmpcSettings(s), Catch::Contains("setting " + key + "="));
  }
  CHECK_NOTHROW(agents::ValidateTdmpcSettings(Tiny()));
}

TEST_CASE("tdmpc: TrainAgent resumes, refuses changed settings and its run is a policy",
          "[agents][tdmpc][resume]") {
  TempDir tmp("train");
  agents::AgentTrainRequest request;
  request.model = "tdmpc";
  request.task = kTask;
  request.out = tmp / "run";
  request.env = ShortEpisodes();
  request.tdmpc = Tiny();
  request.tdmpc.total_env_steps = 400;
  request.tdmpc.checkpoint_every = 1;
  request.tdmpc.eval_episodes = 1;
  request.tdmpc.eval_every = 2;
  request.settings_text = {{"tdmpc.hidden", "32"}, {"tdmpc.total_env_steps", "400"}};
  const auto first = agents::TrainAgent(request);
  CHECK(first.steps == 400);
  CHECK(first.evaluation.episodes == 1);
  CHECK(std::isfinite(first.last.at("eval_return")));
  auto env = darkmatter::tasks::MakeEnv(kTask, request.env);
  auto agent = agents::LoadPolicyAgent(tmp / "run", *env);
  const auto episode = agents::RecordEpisode(*env, *agent, agents::kTestSeedBase);
  CHECK(episode.Length() >= 1);
  request.resume = true;
  request.tdmpc.total_env_steps = 600;
  request.settings_text["tdmpc.total_env_steps"] = "600";
  request.settings_text["tdmpc.hidden"] = "64";
  CHECK_THROWS_WITH(agents::TrainAgent(request), Catch::Contains("tdmpc.hidden (32 -> 64)"));
  request.settings_text["tdmpc.hidden"] = "32";
  const auto resumed = agents::TrainAgent(request);
  CHECK(resumed.start_step == 400);
  CHECK(resumed.steps == 600);
  // The ablation: the same networks acting with the policy prior alone (may change on resume).
  request.tdmpc.act = "policy";
  request.settings_text["tdmpc.act"] = "policy";
  const auto prior = agents::TrainAgent(request);
  CHECK(prior.start_step == 600);
  CHECK(prior.parameter_hash == resumed.parameter_hash);
  CHECK(prior.evaluation.episodes == 1);
  request.tdmpc.act = "dream";
  CHECK_THROWS_WITH(agents::TrainAgent(request), Catch::Contains("tdmpc.act=dream"));
}
