#include "eval/suite_methods.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "agents/bc.h"
#include "agents/expert_agent.h"
#include "agents/latent_planner_agent.h"
#include "agents/planner_agent.h"
#include "agents/policy_agent.h"
#include "agents/random_agent.h"
#include "agents/rollout.h"
#include "agents/train_agent.h"
#include "eval/ocp.h"
#include "eval/probe.h"
#include "eval/report.h"
#include "eval/voe.h"
#include "sim/episode_file.h"
#include "sim/error.h"
#include "tasks/registry.h"
#include "tasks/twin_set.h"
#include "worldmodel/device.h"
#include "worldmodel/run_files.h"
#include "worldmodel/trainer.h"
#include "worldmodel/world_model.h"

namespace darkmatter::eval {

std::map<std::string, std::string> EnvValues(sim::EnvSettings env) {
  sim::SettingsBinder binder;
  sim::BindEnvSettings(&env, &binder);
  return binder.Values();
}

worldmodel::TrainResult TrainStateJepa(const SuiteSettings& s, const std::string& data,
                                       const std::string& out, int seed,
                                       const std::string& device,
                                       const std::string& input) {
  worldmodel::TrainRequest request;
  request.model = "jepa";
  request.data = data;
  request.out = out;
  request.device = device;
  sim::SettingsBinder binder;
  worldmodel::BindTrainSettings(&request.settings, &binder);
  request.settings.steps = s.jepa_steps;
  request.settings.batch_size = s.jepa_batch;
  request.settings.seed = static_cast<uint64_t>(seed);
  request.settings.checkpoint_every = s.jepa_steps;
  request.settings.log_every = std::max(1, s.jepa_steps / 10);
  request.settings.input = input;
  if (input == "pixels") {
    // The spatial pixel jepa of docs/world-models.md's pixel run: 3 frames of history, 4
    // frames per model step (objects move a few pixels between steps), stop-gradient target,
    // a small network (8x8 map of 8 channels).
    request.settings.context = 3;
    request.settings.horizon = 2;
    request.settings.skip = 4;
    request.settings.ema = 0;
    request.settings.channels = 8;
    request.settings.map_channels = 8;
    request.settings.hidden = 32;
  }
  request.settings_text = binder.Values();
  return worldmodel::Train(request);
}

namespace {

namespace fs = std::filesystem;


PreparedAgent PrepareRandom(const MethodContext&, sim::Env& env) {
  return {std::make_unique<agents::RandomAgent>(env.ActionSpec()), [] { return 0.0; }, {}};
}

PreparedAgent PrepareExpert(const MethodContext&, sim::Env& env) {
  return {std::make_unique<agents::ExpertAgent>(env), [] { return 0.0; }, {}};
}

// CEM with the suite's plan.* settings (the rest at their defaults), seeded by `seed`.
agents::CemSettings SuiteCem(const SuiteSettings& s, int seed) {
  agents::CemSettings cem;
  cem.samples = s.plan_samples;
  cem.elites = s.plan_elites;
  cem.iterations = s.plan_iterations;
  cem.horizon = s.plan_horizon;
  cem.seed = static_cast<uint64_t>(seed);
  return cem;
}

// CEM or MPPI over the true simulator (clones of the evaluation env).
PreparedAgent PrepareOracle(const std::string& planner, const MethodContext& ctx, sim::Env& env) {
  const SuiteSettings& s = *ctx.settings;
  agents::PlanSettings plan;
  plan.planner = planner;
  plan.cem = SuiteCem(s, ctx.seed);
  plan.mppi.samples = s.plan_samples;
  plan.mppi.iterations = s.plan_iterations;
  plan.mppi.horizon = s.plan_horizon;
  plan.mppi.seed = static_cast<uint64_t>(ctx.seed);
  plan.oracle.threads = s.plan_threads;
  auto agent = agents::MakeOraclePlannerAgent(env, ctx.task, ctx.env, plan);
  agents::PlannerAgent* raw = agent.get();
  return {std::move(agent), [raw] { return raw->PlanStats().at("model_calls"); }, {}};
}

// The bc.* settings of a cell: ctx.budget demonstrations from the train split (a block of
// seeds per suite seed, disjoint from the test seeds), epochs, hidden units, DART noise, seed.
void SetSuiteBc(const MethodContext& ctx, agents::BcSettings* bc) {
  const SuiteSettings& s = *ctx.settings;
  bc->demos = static_cast<int>(std::lround(ctx.budget));
  bc->demo_seed = static_cast<uint64_t>(ctx.seed) * kSuiteSeedStride;
  bc->epochs = s.bc_epochs;
  bc->hidden = s.bc_hidden;
  bc->demo_noise = s.bc_demo_noise;
  bc->seed = static_cast<uint64_t>(ctx.seed);
}

// bc, ppo, sac or tdmpc through agents::TrainAgent into ctx.work_dir, then its checkpoint as
// a policy.
PreparedAgent PrepareTrained(const std::string& model, const MethodContext& ctx, sim::Env& env) {
  const SuiteSettings& s = *ctx.settings;
  agents::AgentTrainRequest request;
  request.model = model;
  request.task = ctx.task;
  request.out = (fs::path(ctx.work_dir) / model).string();
  request.device = ctx.device;
  request.env = ctx.env;
  sim::SettingsBinder binder;
  agents::BindAgentSettings(model, &request, &binder);
  if (model == "bc") {
    SetSuiteBc(ctx, &request.bc);
    request.bc.checkpoint_every = s.bc_epochs;
    request.bc.eval_episodes = 0;
  } else if (model == "sac") {
    request.sac.total_env_steps = static_cast<int>(std::lround(ctx.budget));
    request.sac.num_envs = s.sac_num_envs;
    request.sac.hidden = s.sac_hidden;
    request.sac.utd = s.sac_utd;
    request.sac.learning_starts = s.sac_learning_starts;
    request.sac.threads = s.sac_threads;
    request.sac.buffer_size = std::max(request.sac.total_env_steps, 1);
    request.sac.seed = static_cast<uint64_t>(ctx.seed);
    request.sac.checkpoint_every = 1000000;
    request.sac.eval_episodes = 0;
  } else if (model == "tdmpc") {
    request.tdmpc.total_env_steps = static_cast<int>(std::lround(ctx.budget));
    request.tdmpc.hidden = s.tdmpc_hidden;
    request.tdmpc.seed_steps = std::min(s.tdmpc_seed_steps, request.tdmpc.total_env_steps);
    request.tdmpc.chunk_steps = std::min(request.tdmpc.chunk_steps, request.tdmpc.total_env_steps);
    request.tdmpc.buffer_size = std::max(request.tdmpc.total_env_steps, 1);
    request.tdmpc.seed = static_cast<uint64_t>(ctx.seed);
    request.tdmpc.checkpoint_every = 1000000;
    request.tdmpc.eval_episodes = 0;
  } else {
    request.ppo.total_env_steps = static_cast<int>(std::lround(ctx.budget));
    request.ppo.num_envs = s.ppo_num_envs;
    request.ppo.rollout_steps = s.ppo_rollout_steps;
    request.ppo.epochs = s.ppo_epochs;
    request.ppo.hidden = s.ppo_hidden;
    request.ppo.threads = s.ppo_threads;
    request.ppo.seed = static_cast<uint64_t>(ctx.seed);
    request.ppo.checkpoint_every = 1000000;
    request.ppo.eval_episodes = 0;
  }
  request.settings_text = binder.Values();
  const agents::AgentTrainResult result = agents::TrainAgent(request);
  nlohmann::json training = {{"steps", result.steps},
                             {"seconds", result.seconds},
                             {"parameter_hash", result.parameter_hash}};
  for (const auto& [key, value] : result.last) {
    if (std::isfinite(value)) training["last"][key] = value;
  }
  return {agents::LoadPolicyAgent(request.out, env), {}, training};
}


// A state jepa trained on reward-free play of ctx.task (random actions, train split seeds)
// up to `frames` frames, in ctx.work_dir/jepa; kept in ctx.cache_dir (keyed by everything it
// depends on) so that other cells of the run reuse it. Training is deterministic, so reuse
// changes only the time a cell takes.
struct PlayJepa {
  std::string checkpoint;  // the final checkpoint.pt
  double reused_seconds = 0;  // when taken from the cache: the seconds it took to make
  nlohmann::json training;  // steps, parameter_hash, last (metrics of the last step)
};

PlayJepa TrainJepaOnPlay(const MethodContext& ctx, double frames) {
  const SuiteSettings& s = *ctx.settings;
  const nlohmann::json key = {{"task", ctx.task},          {"seed", ctx.seed},
                              {"device", ctx.device},
                              {"frames", frames},          {"steps", s.jepa_steps},
                              {"batch", s.jepa_batch},     {"env", EnvValues(ctx.env)},
                              {"version", DARKMATTER_VERSION}};
  const fs::path cached =
      ctx.cache_dir.empty() ? fs::path() : fs::path(ctx.cache_dir) / ("jepa-" + ConfigHash(key));
  const fs::path cached_summary = cached / "summary.json";
  if (const nlohmann::json summary = worldmodel::ReadJsonFile(cached_summary);
      !cached.empty() && summary.is_object()) {
    return {(cached / "checkpoint.pt").string(), summary.value("seconds", 0.0),
            summary["training"]};
  }
  const auto start = std::chrono::steady_clock::now();
  const fs::path work(ctx.work_dir);
  const std::string play = (work / "play.h5").string();
  {
    auto play_env = tasks::MakeEnv(ctx.task, ctx.env);
    agents::RandomAgent agent(play_env->ActionSpec());
    const nlohmann::json config = {{"task", ctx.task},
                                   {"policy", "random"},
                                   {"split", "train"},
                                   {"frame_skip", play_env->FrameSkip()},
                                   {"max_episode_steps", play_env->MaxEpisodeSteps()},
                                   {"env", EnvValues(ctx.env)}};
    sim::EpisodeWriter writer(play, {.task = ctx.task,
                                     .creator = "darkmatter " DARKMATTER_VERSION " suite",
                                     .config_json = config.dump()});
    int64_t recorded = 0;
    for (uint64_t k = 0; recorded < frames; ++k) {
      const sim::Episode episode = agents::RecordEpisode(
          *play_env, agent, static_cast<uint64_t>(ctx.seed) * kSuiteSeedStride + k);
      recorded += episode.Length() + 1;
      writer.Append(episode);
    }
    writer.Commit();
  }
  const worldmodel::TrainResult trained =
      TrainStateJepa(s, play, (work / "jepa").string(), ctx.seed, ctx.device, "state");
  PlayJepa out{trained.checkpoint, 0,
               {{"steps", trained.steps}, {"parameter_hash", trained.parameter_hash}}};
  for (const auto& [name, value] : trained.last) {
    if (std::isfinite(value)) out.training["last"][name] = value;
  }
  if (!cached.empty()) {  // the run folder moves into the cache; summary.json marks it whole
    fs::remove_all(cached);
    fs::rename(work / "jepa", cached);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    worldmodel::WriteJsonAtomically(cached_summary,
                                    {{"seconds", seconds}, {"training", out.training}});
    out.checkpoint = (cached / "checkpoint.pt").string();
  }
  return out;
}

// jepa-cem: a jepa trained on ctx.budget frames of reward-free play, then CEM toward the goal
// state in latent space.
PreparedAgent PrepareJepaCem(const MethodContext& ctx, sim::Env& env) {
  const SuiteSettings& s = *ctx.settings;
  const PlayJepa jepa = TrainJepaOnPlay(ctx, ctx.budget);
  agents::LatentPlanSettings plan;
  plan.plan.planner = "cem";
  plan.plan.cem = SuiteCem(s, ctx.seed);
  plan.device = ctx.device;
  auto agent = agents::MakeLatentPlannerAgent(jepa.checkpoint, env, plan);
  agents::LatentPlannerAgent* raw = agent.get();
  return {std::move(agent), [raw] { return raw->PlanStats().at("model_calls"); }, jepa.training,
          jepa.reused_seconds};
}

// jepa-bc: SSL + few labels. A jepa trained on the largest budgets.jepa frames of reward-free
// play, frozen; the bc head (bc.*) cloned on its embeddings from ctx.budget demonstrations
// (the same demos, seeds and noise as bc).
PreparedAgent PrepareJepaBc(const MethodContext& ctx, sim::Env& env) {
  const SuiteSettings& s = *ctx.settings;
  const std::vector<double> frames = ParseBudgets(s.budgets_jepa, "budgets.jepa");
  const PlayJepa jepa = TrainJepaOnPlay(ctx, *std::max_element(frames.begin(), frames.end()));
  const torch::Device device = worldmodel::ResolveDevice(ctx.device);
  std::shared_ptr<worldmodel::WorldModelImpl> model =
      worldmodel::LoadWorldModel(jepa.checkpoint, device).model;
  model->eval();
  const int64_t latent_dim = model->options().latent_dim;
  // Embeddings come back on the caller's device (the policy acts on the CPU).
  agents::FeatureFn features = [model, device](const torch::Tensor& observations) {
    torch::NoGradGuard no_grad;
    return model->Encode(observations.to(device, torch::kFloat32).unsqueeze(1))
        .squeeze(1)
        .to(observations.device());
  };
  agents::BcSettings bc;
  SetSuiteBc(ctx, &bc);
  const auto demos =
      agents::RecordExpertDemos(ctx.task, ctx.env, bc.demos, bc.demo_seed, bc.demo_noise);
  const auto start = std::chrono::steady_clock::now();
  agents::BcTrainer trainer(demos, env.ActionSpec(), bc, ctx.device, features, latent_dim);
  std::map<std::string, double> last;
  for (int epoch = 0; epoch < bc.epochs; ++epoch) last = trainer.TrainEpoch();
  const std::string checkpoint = (fs::path(ctx.work_dir) / "bc-head.pt").string();
  trainer.Save(checkpoint);
  nlohmann::json training = {{"jepa", jepa.training}, {"steps", trainer.Epochs()}};
  training["seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  training["parameter_hash"] = trainer.ParameterHash();
  for (const auto& [key, value] : last) {
    if (std::isfinite(value)) training["last"][key] = value;
  }
  auto agent = std::make_unique<agents::PolicyAgent>(env.ObservationSpec(), env.ActionSpec(),
                                                     bc.hidden, checkpoint, features, latent_dim);
  return {std::move(agent), {}, training, jepa.reused_seconds};
}

}  // namespace

const std::vector<SuiteMethod>& SuiteMethods() {
  // One line per method.
  static const std::vector<SuiteMethod> methods = {
      {"random", "baseline", "uniform random actions", "reference", "", {}, "", PrepareRandom},
      {"expert", "baseline", "the task's scripted expert (privileged state; reference)",
       "reference", "", {}, "", PrepareExpert},
      {"oracle-cem", "oracle", "CEM planning with the true simulator (upper reference)",
       "reference", "", {"plan."}, "",
       [](const MethodContext& c, sim::Env& e) { return PrepareOracle("cem", c, e); }},
      {"oracle-mppi", "oracle", "MPPI planning with the true simulator (upper reference)",
       "reference", "", {"plan."}, "",
       [](const MethodContext& c, sim::Env& e) { return PrepareOracle("mppi", c, e); }},
      {"bc", "supervised", "behaviour cloning of expert demonstrations (budget: demonstrations)",
       "labels", "budgets.bc", {"bc.", "device"}, "",
       [](const MethodContext& c, sim::Env& e) { return PrepareTrained("bc", c, e); }},
      {"ppo", "rl", "PPO from environment reward (budget: environment steps)", "env_steps",
       "budgets.ppo", {"ppo.", "device"}, "",
       [](const MethodContext& c, sim::Env& e) { return PrepareTrained("ppo", c, e); }},
      {"sac", "rl",
       "Soft Actor-Critic from environment reward: twin Q, automatic temperature, replay "
       "(budget: environment steps)",
       "env_steps", "budgets.sac", {"sac.", "device"}, "",
       [](const MethodContext& c, sim::Env& e) { return PrepareTrained("sac", c, e); }},
      {"tdmpc", "rl",
       "TD-MPC: a latent world model trained from reward (dynamics, reward, termination, twin "
       "Q), MPPI in its latent with a policy prior (budget: environment steps)",
       "env_steps", "budgets.tdmpc", {"tdmpc.", "device"}, "",
       [](const MethodContext& c, sim::Env& e) { return PrepareTrained("tdmpc", c, e); }},
      {"jepa-cem", "ssl",
       "JEPA world model learned from reward-free play frames, CEM toward the goal in latent "
       "space (budget: unlabelled frames)",
       "frames", "budgets.jepa", {"jepa.", "plan.", "device"}, "", PrepareJepaCem,
       "manipulation/"},
      {"jepa-bc", "ssl",
       "the bc head on a frozen JEPA encoder learned from reward-free play (the largest "
       "budgets.jepa frames); budget: demonstrations",
       "labels", "budgets.bc", {"bc.", "jepa.", "budgets.jepa", "device"}, "", PrepareJepaBc},
  };
  return methods;
}

std::string SuiteDevice(const SuiteSettings& settings) {
  try {
    return worldmodel::ResolveDevice(settings.device).str();
  } catch (const sim::BadInput& e) {
    throw sim::BadInput("setting device=" + settings.device + ": " + e.what());
  }
}

const SuiteMethod& FindSuiteMethod(const std::string& name) {
  std::string known;
  for (const SuiteMethod& method : SuiteMethods()) {
    if (method.name == name) return method;
    known += (known.empty() ? "" : ", ") + method.name;
  }
  throw sim::BadInput("setting methods: unknown method '" + name + "' (methods: " + known + ")");
}

std::vector<double> MethodBudgets(const SuiteMethod& method, const SuiteSettings& s) {
  if (method.budgets_key.empty()) return {1.0};
  const std::string& text = method.budgets_key == "budgets.bc"    ? s.budgets_bc
                            : method.budgets_key == "budgets.ppo" ? s.budgets_ppo
                            : method.budgets_key == "budgets.sac" ? s.budgets_sac
                            : method.budgets_key == "budgets.tdmpc" ? s.budgets_tdmpc
                                                                  : s.budgets_jepa;
  return ParseBudgets(text, method.budgets_key);
}

}  // namespace darkmatter::eval
