#include "eval/suite_settings.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "eval/report.h"
#include "eval/suite_methods.h"
#include "sim/error.h"
#include "tasks/registry.h"

namespace darkmatter::eval {
namespace {

using Preset = std::vector<std::pair<std::string, std::string>>;

// quick: the whole pipeline at small budgets, 3 seeds (configs/suite_quick.yaml).
const Preset& QuickPreset() {
  static const Preset preset = {
      {"name", "quick"},
      {"tasks", "manipulation/push,manipulation/reach,driving/lane_keep,driving/follow"},
      {"methods", "random,expert,oracle-cem,oracle-mppi,bc,jepa-bc,ppo,jepa-cem"},
      {"seeds", "3"},
      {"eval.episodes", "3"},
      {"eval.max_episode_steps", "60"},
      {"eval.driving_max_episode_steps", "0"},
      {"budgets.bc", "2,10"},
      {"budgets.ppo", "2048,8192"},
      {"budgets.sac", "5000,20000"},
      {"budgets.tdmpc", "5000"},
      {"budgets.jepa", "2000"},
      {"plan.samples", "16"},
      {"plan.elites", "4"},
      {"plan.iterations", "2"},
      {"plan.horizon", "6"},
      {"plan.threads", "2"},
      {"bc.epochs", "30"},
      {"bc.hidden", "64"},
      {"bc.demo_noise", "0.1"},
      {"ppo.num_envs", "8"},
      {"ppo.rollout_steps", "128"},
      {"ppo.epochs", "4"},
      {"ppo.hidden", "64"},
      {"ppo.threads", "2"},
      {"sac.num_envs", "4"},
      {"sac.hidden", "64"},
      {"sac.utd", "1"},
      {"sac.learning_starts", "1000"},
      {"sac.threads", "1"},
      {"tdmpc.hidden", "64"},
      {"tdmpc.seed_steps", "1000"},
      {"jepa.steps", "150"},
      {"jepa.batch", "32"},
      {"jepa.input", "pixels"},
      {"physics.task", "physics/collide"},
      {"physics.protocols", "voe,ocp,probe"},
      {"physics.budgets", "1500"},
      {"physics.test_episodes", "12"},
      {"bootstrap", "1000"},
      {"device", "auto"},
      {"videos.enabled", "true"},
      {"videos.tasks", "manipulation/push,driving/lane_keep"},
      {"videos.size", "320x240"},
  };
  return preset;
}

// full: the real comparison, 5 seeds x 20 held-out pairs, sized to run in about an hour on
// 2 cores (configs/suite_full.yaml; docs/suite.md has the measured run).
const Preset& FullPreset() {
  static const Preset preset = {
      {"name", "full"},
      {"tasks", "manipulation/push,manipulation/reach,manipulation/pick_place,manipulation/stack,"
                "driving/lane_keep,driving/follow,driving/avoid"},
      {"methods", "random,expert,oracle-cem,oracle-mppi,bc,jepa-bc,ppo,jepa-cem"},
      {"seeds", "5"},
      {"eval.episodes", "20"},
      {"eval.max_episode_steps", "0"},
      {"eval.driving_max_episode_steps", "0"},
      {"budgets.bc", "5,20,50"},
      {"budgets.ppo", "10000,40000,160000"},
      {"budgets.sac", "20000,100000"},
      {"budgets.tdmpc", "20000,50000"},
      {"budgets.jepa", "20000,100000"},
      {"plan.samples", "32"},
      {"plan.elites", "4"},
      {"plan.iterations", "2"},
      {"plan.horizon", "8"},
      {"plan.threads", "2"},
      {"bc.epochs", "100"},
      {"bc.hidden", "64"},
      {"bc.demo_noise", "0.1"},
      {"ppo.num_envs", "16"},
      {"ppo.rollout_steps", "128"},
      {"ppo.epochs", "8"},
      {"ppo.hidden", "64"},
      {"ppo.threads", "2"},
      {"sac.num_envs", "4"},
      {"sac.hidden", "256"},
      {"sac.utd", "1"},
      {"sac.learning_starts", "5000"},
      {"sac.threads", "1"},
      {"tdmpc.hidden", "128"},
      {"tdmpc.seed_steps", "1000"},
      {"jepa.steps", "2000"},
      {"jepa.batch", "64"},
      {"physics.task", "physics/collide"},
      {"physics.protocols", "voe,ocp,probe"},
      {"physics.budgets", "5000,20000"},
      {"physics.test_episodes", "48"},
      {"bootstrap", "2000"},
      {"device", "auto"},
      {"videos.enabled", "true"},
      {"videos.tasks", "manipulation/push,manipulation/pick_place,driving/lane_keep,driving/avoid"},
      {"videos.size", "320x240"},
  };
  return preset;
}

// test: one task, one method, one seed, seconds (unit and CLI tests).
const Preset& TestPreset() {
  static const Preset preset = {
      {"name", "test"},
      {"tasks", "manipulation/reach"},
      {"methods", "random,expert"},
      {"seeds", "2"},
      {"eval.episodes", "2"},
      {"eval.max_episode_steps", "20"},
      {"eval.driving_max_episode_steps", "40"},
      {"budgets.bc", "2"},
      {"budgets.ppo", "1024"},
      {"budgets.sac", "300"},
      {"budgets.tdmpc", "300"},
      {"budgets.jepa", "500"},
      {"plan.samples", "8"},
      {"plan.elites", "2"},
      {"plan.iterations", "1"},
      {"plan.horizon", "4"},
      {"plan.threads", "1"},
      {"bc.epochs", "5"},
      {"bc.hidden", "16"},
      {"bc.demo_noise", "0.1"},
      {"ppo.num_envs", "4"},
      {"ppo.rollout_steps", "64"},
      {"ppo.epochs", "1"},
      {"ppo.hidden", "16"},
      {"ppo.threads", "1"},
      {"sac.num_envs", "2"},
      {"sac.hidden", "16"},
      {"sac.utd", "1"},
      {"sac.learning_starts", "100"},
      {"sac.threads", "1"},
      {"tdmpc.hidden", "16"},
      {"tdmpc.seed_steps", "100"},
      {"jepa.steps", "20"},
      {"jepa.batch", "8"},
      {"physics.task", "physics/collide"},
      {"physics.protocols", ""},
      {"physics.budgets", "300"},
      {"physics.test_episodes", "6"},
      {"bootstrap", "100"},
      {"device", "cpu"},
      {"videos.enabled", "false"},
      {"videos.tasks", ""},
      {"videos.size", "160x120"},
  };
  return preset;
}

const Preset* FindPreset(const std::string& name) {
  if (name == "quick") return &QuickPreset();
  if (name == "full") return &FullPreset();
  if (name == "test") return &TestPreset();
  return nullptr;
}

void CheckAtLeast(const std::string& key, int value, int minimum) {
  if (value < minimum) {
    throw sim::BadInput("setting " + key + "=" + std::to_string(value) + ": must be >= " +
                        std::to_string(minimum));
  }
}

// Seeds and evaluation episodes per cell beyond this are a typo, not a plan (and would not fit
// one seed's block of the split: kSuiteSeedStride).
constexpr int kMaxSuiteSeeds = 100000;

// `settings` is the struct `binder` is bound to (read, not moved, so Values() stays valid).
ResolvedSuite Finish(const SuiteSettings& settings, const sim::SettingsBinder& binder) {
  ValidateSuiteSettings(settings);
  ResolvedSuite suite;
  suite.settings = settings;
  suite.config = nlohmann::json::object();
  for (const auto& [key, value] : binder.Values()) suite.config[key] = value;
  suite.config_hash = ConfigHash(suite.config);
  return suite;
}

}  // namespace

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) items.push_back(item);
    start = end + 1;
  }
  return items;
}

std::vector<double> ParseBudgets(const std::string& text, const std::string& key) {
  std::vector<double> values;
  for (const std::string& item : SplitList(text)) {
    char* end = nullptr;
    const double value = std::strtod(item.c_str(), &end);
    if (*end != '\0' || !std::isfinite(value) || value <= 0) {
      throw sim::BadInput("setting " + key + "=" + text + ": '" + item +
                          "' is not a positive number");
    }
    values.push_back(value);
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

void BindSuiteSettings(SuiteSettings* s, sim::SettingsBinder* b) {
  b->Bind("name", &s->name, "preset name, recorded in results.json");
  b->Bind("tasks", &s->tasks, "control tasks, comma-separated");
  b->Bind("methods", &s->methods, "control methods, comma-separated");
  b->Bind("seeds", &s->seeds, "seeds 0..seeds-1 per (task, method, budget)");
  b->Bind("eval.episodes", &s->eval_episodes, "held-out (start, goal) pairs per cell");
  b->Bind("eval.max_episode_steps", &s->max_episode_steps,
          "manipulation (and other non-driving) tasks: control steps per evaluation "
          "episode; 0 = the task's default");
  b->Bind("eval.driving_max_episode_steps", &s->driving_max_episode_steps,
          "driving tasks: control steps per evaluation episode; 0 = the task's default");
  b->Bind("budgets.bc", &s->budgets_bc, "bc: demonstrations (labelled episodes), comma-separated");
  b->Bind("budgets.ppo", &s->budgets_ppo, "ppo: environment steps, comma-separated");
  b->Bind("budgets.sac", &s->budgets_sac, "sac: environment steps, comma-separated");
  b->Bind("budgets.tdmpc", &s->budgets_tdmpc, "tdmpc: environment steps, comma-separated");
  b->Bind("budgets.jepa", &s->budgets_jepa, "jepa-cem: unlabelled frames, comma-separated");
  b->Bind("plan.samples", &s->plan_samples, "oracle planners: candidates per iteration");
  b->Bind("plan.elites", &s->plan_elites, "CEM elites");
  b->Bind("plan.iterations", &s->plan_iterations, "planner iterations per action");
  b->Bind("plan.horizon", &s->plan_horizon, "planning horizon (control steps)");
  b->Bind("plan.threads", &s->plan_threads, "oracle worker threads");
  b->Bind("bc.epochs", &s->bc_epochs, "bc: passes over the demonstrations");
  b->Bind("bc.hidden", &s->bc_hidden, "bc: hidden units");
  b->Bind("bc.demo_noise", &s->bc_demo_noise,
          "bc: noise injected while recording demos (fraction of half the action range)");
  b->Bind("ppo.num_envs", &s->ppo_num_envs, "ppo: parallel envs");
  b->Bind("ppo.rollout_steps", &s->ppo_rollout_steps, "ppo: steps per env per update");
  b->Bind("ppo.epochs", &s->ppo_epochs, "ppo: passes over each batch");
  b->Bind("ppo.hidden", &s->ppo_hidden, "ppo: hidden units");
  b->Bind("ppo.threads", &s->ppo_threads, "ppo: env pool threads");
  b->Bind("sac.num_envs", &s->sac_num_envs, "sac: parallel envs");
  b->Bind("sac.hidden", &s->sac_hidden, "sac: hidden units of actor and critics");
  b->Bind("sac.utd", &s->sac_utd, "sac: gradient updates per env step (update-to-data ratio)");
  b->Bind("sac.learning_starts", &s->sac_learning_starts,
          "sac: env steps of uniform random actions before learning");
  b->Bind("sac.threads", &s->sac_threads, "sac: env pool threads");
  b->Bind("tdmpc.hidden", &s->tdmpc_hidden, "tdmpc: hidden units of every MLP");
  b->Bind("tdmpc.seed_steps", &s->tdmpc_seed_steps,
          "tdmpc: env steps of uniform random actions before learning");
  b->Bind("jepa.steps", &s->jepa_steps, "world models: optimiser steps");
  b->Bind("jepa.batch", &s->jepa_batch, "world models: clips per step");
  b->Bind("jepa.input", &s->jepa_input,
          "physics cells' jepa: state | pixels (learns from 64x64 video)");
  b->Bind("physics.task", &s->physics_task, "scene of the physics protocols (twins)");
  b->Bind("physics.protocols", &s->physics_protocols, "subset of voe,ocp,probe; empty = none");
  b->Bind("physics.budgets", &s->physics_budgets,
          "unlabelled frames the physics jepa watches, comma-separated");
  b->Bind("physics.test_episodes", &s->physics_test_episodes,
          "twins (and readout clips) per evaluation file");
  b->Bind("bootstrap", &s->bootstrap, "bootstrap replicates of every interval");
  b->Bind("device", &s->device,
          "bc, ppo, sac, tdmpc, jepa models: auto (CUDA when present, else CPU) | cpu | cuda[:N]");
  b->Bind("videos.enabled", &s->videos, "render best and worst episode per (task, method)");
  b->Bind("videos.tasks", &s->video_tasks, "tasks that get videos, comma-separated");
  b->Bind("videos.size", &s->video_size, "video pane size WxH");
}

void ValidateSuiteSettings(const SuiteSettings& s) {
  const auto tasks = SplitList(s.tasks);
  if (tasks.empty() && SplitList(s.physics_protocols).empty()) {
    throw sim::BadInput("setting tasks='" + s.tasks + "': no task and no physics protocol");
  }
  for (const std::string& task : tasks) {
    try {
      tasks::FindTask(task);
    } catch (const sim::BadInput& e) {
      throw sim::BadInput("setting tasks: " + std::string(e.what()));
    }
  }
  for (const std::string& task : SplitList(s.video_tasks)) {
    if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) {
      throw sim::BadInput("setting videos.tasks: '" + task + "' is not one of tasks");
    }
  }
  for (const std::string& method : SplitList(s.methods)) FindSuiteMethod(method);
  sim::RequireInRange("seeds", s.seeds, 1, kMaxSuiteSeeds);
  sim::RequireInRange("eval.episodes", s.eval_episodes, 1, kMaxSuiteSeeds);
  CheckAtLeast("eval.max_episode_steps", s.max_episode_steps, 0);
  CheckAtLeast("eval.driving_max_episode_steps", s.driving_max_episode_steps, 0);
  ParseBudgets(s.budgets_bc, "budgets.bc");
  ParseBudgets(s.budgets_ppo, "budgets.ppo");
  ParseBudgets(s.budgets_sac, "budgets.sac");
  ParseBudgets(s.budgets_tdmpc, "budgets.tdmpc");
  ParseBudgets(s.budgets_jepa, "budgets.jepa");
  ParseBudgets(s.physics_budgets, "physics.budgets");
  sim::RequireInRange("plan.samples", s.plan_samples, 2, sim::kMaxSamples);
  CheckAtLeast("plan.elites", s.plan_elites, 1);
  if (s.plan_elites > s.plan_samples) {
    throw sim::BadInput("setting plan.elites=" + std::to_string(s.plan_elites) +
                        ": must be <= plan.samples");
  }
  sim::RequireInRange("plan.iterations", s.plan_iterations, 1, sim::kMaxWindow);
  sim::RequireInRange("plan.horizon", s.plan_horizon, 1, sim::kMaxWindow);
  sim::RequireInRange("plan.threads", s.plan_threads, 1, sim::kMaxThreads);
  CheckAtLeast("bc.epochs", s.bc_epochs, 1);
  sim::RequireInRange("bc.hidden", s.bc_hidden, 1, sim::kMaxWidth);
  if (!(s.bc_demo_noise >= 0 && s.bc_demo_noise <= 1)) {
    throw sim::BadInput("setting bc.demo_noise=" + std::to_string(s.bc_demo_noise) +
                        ": must be in [0, 1]");
  }
  sim::RequireInRange("ppo.num_envs", s.ppo_num_envs, 1, sim::kMaxEnvs);
  sim::RequireInRange("ppo.rollout_steps", s.ppo_rollout_steps, 1, sim::kMaxWindow);
  CheckAtLeast("ppo.epochs", s.ppo_epochs, 1);
  sim::RequireInRange("ppo.hidden", s.ppo_hidden, 1, sim::kMaxWidth);
  sim::RequireInRange("ppo.threads", s.ppo_threads, 1, sim::kMaxThreads);
  sim::RequireInRange("sac.num_envs", s.sac_num_envs, 1, sim::kMaxEnvs);
  sim::RequireInRange("sac.hidden", s.sac_hidden, 1, sim::kMaxWidth);
  if (!(s.sac_utd > 0 && s.sac_utd <= 64)) {
    throw sim::BadInput("setting sac.utd=" + std::to_string(s.sac_utd) + ": must be in (0, 64]");
  }
  CheckAtLeast("sac.learning_starts", s.sac_learning_starts, 0);
  sim::RequireInRange("sac.threads", s.sac_threads, 1, sim::kMaxThreads);
  sim::RequireInRange("tdmpc.hidden", s.tdmpc_hidden, 1, sim::kMaxWidth);
  sim::RequireInRange("tdmpc.seed_steps", s.tdmpc_seed_steps, 3, sim::kMaxReplay);
  CheckAtLeast("jepa.steps", s.jepa_steps, 1);
  sim::RequireInRange("jepa.batch", s.jepa_batch, 1, sim::kMaxBatch);
  if (s.jepa_input != "state" && s.jepa_input != "pixels") {
    throw sim::BadInput("setting jepa.input=" + s.jepa_input + ": must be state or pixels");
  }
  sim::RequireInRange("physics.test_episodes", s.physics_test_episodes, 2, kMaxSuiteSeeds);
  sim::RequireInRange("bootstrap", s.bootstrap, 10, sim::kMaxSamples);
  for (const std::string& protocol : SplitList(s.physics_protocols)) {
    if (protocol != "voe" && protocol != "ocp" && protocol != "probe") {
      throw sim::BadInput("setting physics.protocols: unknown protocol '" + protocol +
                          "' (expected voe, ocp, probe)");
    }
  }
  if (!SplitList(s.physics_protocols).empty()) {
    const auto& info = [&]() -> const tasks::TaskInfo& {
      try {
        return tasks::FindTask(s.physics_task);
      } catch (const sim::BadInput& e) {
        throw sim::BadInput("setting physics.task: " + std::string(e.what()));
      }
    }();
    if (tasks::MakeEnv(info.name)->Principles().empty()) {
      throw sim::BadInput("setting physics.task=" + s.physics_task + ": has no impossible twins");
    }
    if (ParseBudgets(s.physics_budgets, "physics.budgets").empty()) {
      throw sim::BadInput("setting physics.budgets: empty while physics.protocols is set");
    }
  }
  const bool cuda_index = s.device.rfind("cuda:", 0) == 0 && s.device.size() > 5 &&
                          s.device.find_first_not_of("0123456789", 5) == std::string::npos;
  if (s.device != "auto" && s.device != "cpu" && s.device != "cuda" && !cuda_index) {
    throw sim::BadInput("setting device=" + s.device + ": expected auto, cpu, cuda or cuda:N");
  }
  const auto x = s.video_size.find('x');
  if (x == std::string::npos || std::atoi(s.video_size.c_str()) < 16 ||
      std::atoi(s.video_size.c_str() + x + 1) < 16) {
    throw sim::BadInput("setting videos.size=" + s.video_size + ": expected WxH, e.g. 320x240");
  }
}

const std::vector<std::string>& SuitePresets() {
  static const std::vector<std::string> names = {"quick", "full", "test"};
  return names;
}

ResolvedSuite ResolveSuite(const std::string& preset, const std::string& config_file,
                           const std::vector<std::string>& overrides) {
  const Preset* values = FindPreset(preset);
  if (values == nullptr) {
    throw sim::BadInput("unknown --preset '" + preset + "' (presets: quick, full, test)");
  }
  SuiteSettings settings;
  sim::SettingsBinder binder;
  BindSuiteSettings(&settings, &binder);
  for (const auto& [key, value] : *values) binder.Set(key, value, "preset " + preset);
  if (!config_file.empty()) binder.ApplyYamlFile(config_file);
  binder.ApplyOverrides(overrides);
  return Finish(settings, binder);
}

ResolvedSuite SuiteFromConfig(const nlohmann::json& config, const std::string& source) {
  if (!config.is_object()) throw sim::BadInput(source + ": suite.config is not an object");
  SuiteSettings settings;
  sim::SettingsBinder binder;
  BindSuiteSettings(&settings, &binder);
  const auto known = binder.Values();
  for (const auto& [key, value] : config.items()) {
    if (!value.is_string()) throw sim::BadInput(source + ": suite.config." + key + " is not text");
    binder.Set(key, value.get<std::string>(), source);
  }
  if (known.size() != config.size()) {
    throw sim::BadInput(source + ": suite.config has " + std::to_string(config.size()) +
                        " keys, this version expects " + std::to_string(known.size()));
  }
  return Finish(settings, binder);
}

std::string DescribeSuite(const std::string& preset) {
  const Preset* values = FindPreset(preset);
  if (values == nullptr) {
    throw sim::BadInput("unknown --preset '" + preset + "' (presets: quick, full, test)");
  }
  SuiteSettings settings;
  sim::SettingsBinder binder;
  BindSuiteSettings(&settings, &binder);
  for (const auto& [key, value] : *values) binder.Set(key, value, "preset " + preset);
  return binder.Describe();
}

}  // namespace darkmatter::eval
