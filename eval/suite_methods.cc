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
namespace {

namespace fs = std::filesystem;

// The evaluation env's settings as the keys an episode file's "env" block holds.
std::map<std::string, std::string> EnvValues(sim::EnvSettings env) {
  sim::SettingsBinder binder;
  sim::BindEnvSettings(&env, &binder);
  return binder.Values();
}

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

// A jepa on the state observations of episode file `data` (jepa.steps, jepa.batch), into
// run directory `out`, seeded by `seed`; one checkpoint at the end.
worldmodel::TrainResult TrainStateJepa(const SuiteSettings& s, const std::string& data,
                                       const std::string& out, int seed,
                                       const std::string& device,
                                       const std::string& input = "state") {
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
      TrainStateJepa(s, play, (work / "jepa").string(), ctx.seed, ctx.device);
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

namespace {

// Records reward-free clips of a physics scene (a possible clip per seed, or with `twins` one
// matched twin set per principle and seed) for seeds first_seed + k, until `frames` frames (or
// `episodes` seeds when frames <= 0), into `path` with the rollout command's config layout.
int64_t RecordPhysicsFile(const std::string& task, const std::string& split, uint64_t first_seed,
                          int episodes, double frames, bool twins, const std::string& path,
                          bool pixels = false) {
  sim::EnvSettings settings;
  if (pixels) {
    settings.observation = "state+pixels";
    settings.frame_width = settings.frame_height = 64;
    settings.camera = "main";
  }
  nlohmann::json variants = nlohmann::json::array();
  std::vector<std::unique_ptr<sim::Env>> envs;  // twins: worlds A and B of each principle
  std::vector<std::unique_ptr<agents::Agent>> agents_;
  const std::vector<std::string> principles =
      twins ? tasks::MakeEnv(task, settings)->Principles() : std::vector<std::string>{"none"};
  for (const std::string& principle : principles) {
    for (int world = 0; world < (twins ? 2 : 1); ++world) {
      sim::EnvSettings variant = settings;
      variant.violation = principle;
      variant.world = world;
      envs.push_back(tasks::MakeEnv(task, variant));
      agents_.push_back(std::make_unique<agents::RandomAgent>(envs.back()->ActionSpec()));
      variants.push_back({{"violation", principle}, {"world", world}});
    }
  }
  const nlohmann::json config = {{"task", task},
                                 {"policy", "random"},
                                 {"split", split},
                                 {"seed_base", first_seed},
                                 {"twins", twins},
                                 {"variants", variants},
                                 {"frame_skip", envs[0]->FrameSkip()},
                                 {"max_episode_steps", envs[0]->MaxEpisodeSteps()},
                                 {"env", EnvValues(settings)}};
  sim::EpisodeWriter writer(path, {.task = task,
                                   .creator = "darkmatter " DARKMATTER_VERSION " suite",
                                   .config_json = config.dump()});
  int64_t recorded_frames = 0;
  for (int k = 0; frames > 0 ? recorded_frames < frames : k < episodes; ++k) {
    const uint64_t seed = first_seed + static_cast<uint64_t>(k);
    std::vector<sim::Episode> clips;
    if (!twins) clips.push_back(agents::RecordEpisode(*envs[0], *agents_[0], seed));
    for (size_t p = 0; twins && p < principles.size(); ++p) {
      for (sim::Episode& member : agents::RecordTwinSet(
               *envs[2 * p], *agents_[2 * p], *envs[2 * p + 1], *agents_[2 * p + 1], seed,
               tasks::TwinSetId(seed, static_cast<int>(p)))) {
        clips.push_back(std::move(member));
      }
    }
    for (const sim::Episode& episode : clips) {
      recorded_frames += episode.Length() + 1;
      writer.Append(episode);
    }
  }
  writer.Commit();
  return recorded_frames;
}

double NumberOr(const nlohmann::json& json, double fallback) {
  return json.is_number() ? json.get<double>() : fallback;
}

}  // namespace

nlohmann::json RunPhysicsCell(const SuiteSettings& s, int seed, double frames,
                              const std::string& work_dir) {
  const fs::path work(work_dir);
  const uint64_t base = static_cast<uint64_t>(seed) * kSuiteSeedStride;
  const std::string task = s.physics_task;
  const std::string train_file = (work / "train.h5").string();
  const std::string readout_file = (work / "readout.h5").string();
  const std::string test_file = (work / "test.h5").string();
  // Watching: reward-free possible clips of the train split, `frames` frames in all.
  const bool pixels = s.jepa_input == "pixels";
  const int64_t watched =
      RecordPhysicsFile(task, "train", base, 0, frames, false, train_file, pixels);
  RecordPhysicsFile(task, "readout", sim::SplitSeedBase(sim::Split::kReadout) + base,
                    s.physics_test_episodes, 0, true, readout_file, pixels);
  RecordPhysicsFile(task, "test", sim::SplitSeedBase(sim::Split::kTest) + base,
                    s.physics_test_episodes, 0, true, test_file, pixels);

  const std::string jepa_dir = (work / "jepa").string();
  const std::string device = SuiteDevice(s);
  const worldmodel::TrainResult trained =
      TrainStateJepa(s, train_file, jepa_dir, seed, device, s.jepa_input);

  // The null: the same network untrained (for pixels, of the trained model's shape).
  const std::vector<std::string> models = {jepa_dir,
                                           pixels ? "untrained:" + jepa_dir : "untrained:jepa"};
  nlohmann::json metrics = {{"frames_watched", static_cast<double>(watched)},
                            {"train_steps", static_cast<double>(trained.steps)}};
  if (std::isfinite(trained.heldout_ratio)) metrics["heldout_copy_ratio"] = trained.heldout_ratio;
  nlohmann::json sections = nlohmann::json::object();
  nlohmann::json notes = nlohmann::json::array();
  const std::vector<std::string> protocols = SplitList(s.physics_protocols);
  auto wants = [&](const char* p) {
    return std::find(protocols.begin(), protocols.end(), p) != protocols.end();
  };
  const auto run = [&](const char* name, const std::function<void()>& body) {
    try {
      body();
    } catch (const sim::BadInput& e) {
      // Small files can make a protocol ill-posed (e.g. one readout class): noted, not faked.
      notes.push_back(std::string(name) + ": " + e.what());
    }
  };
  if (wants("voe")) {
    run("voe", [&] {
      VoeSettings v;
      v.device = device;
      v.models = models;
      v.data = test_file;
      v.input = s.jepa_input;
      v.bootstrap = s.bootstrap;
      v.seed = static_cast<uint64_t>(seed);
      const nlohmann::json out = RunVoe(v);
      // Set scores (matched twin sets) of the jepa, its untrained null and motion energy.
      metrics["voe_accuracy"] = NumberOr(out.value("set_accuracy", nlohmann::json()), 0.5);
      for (const auto& m : out["models"]) {
        const std::string null = m.value("null", std::string());
        const char* key = null == "untrained"       ? "voe_accuracy_null"
                          : null == "motion-energy" ? "voe_accuracy_motion"
                                                    : nullptr;
        if (key && !metrics.contains(key)) {
          metrics[key] = NumberOr(m.value("set_accuracy", nlohmann::json()), 0.5);
        }
      }
      if (out.contains("auroc") && out["auroc"].is_number()) metrics["voe_auroc"] = out["auroc"];
      sections["voe"] = out["voe"];
    });
  }
  if (wants("ocp")) {
    run("ocp", [&] {
      OcpSettings o;
      o.device = device;
      o.models = models;
      o.train = readout_file;
      o.data = test_file;
      o.input = s.jepa_input;
      o.bootstrap = s.bootstrap;
      o.seed = static_cast<uint64_t>(seed);
      const nlohmann::json out = RunOcp(o);
      if (out["accuracy"].is_number()) metrics["ocp_accuracy"] = out["accuracy"];
      sections["ocp"] = out["ocp"];
    });
  }
  if (wants("probe")) {
    run("probe", [&] {
      ProbeSettings p;
      p.device = device;
      p.models = models;
      p.train = readout_file;
      p.data = test_file;
      p.fields = {"positions"};
      p.horizons = {0, 1, 4};
      p.labels = {10, 100, 1000};
      p.supervised_steps = std::max(20, s.jepa_steps / 2);
      p.input = s.jepa_input;
      p.seed = static_cast<uint64_t>(seed);
      const nlohmann::json out = RunProbe(p);
      for (const auto& [model, fields] : out["r2"].items()) {
        if (model != "jepa") continue;
        const nlohmann::json& zero = fields["positions"]["0"];
        if (zero.is_number()) metrics["probe_r2"] = zero;
      }
      sections["probes"] = out["probes"];
    });
  }
  return {{"metrics", metrics},
          {"sections", sections},
          {"notes", notes},
          {"artefacts", {{"episodes", test_file}, {"checkpoint", trained.checkpoint}}}};
}

}  // namespace darkmatter::eval
