// darkmatter rollout: record episodes of a policy into an HDF5 episode file.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agents/expert_agent.h"
#include "agents/latent_planner_agent.h"
#include "agents/open_loop_agent.h"
#include "agents/planner_agent.h"
#include "agents/policy_agent.h"
#include "agents/random_agent.h"
#include "agents/rollout.h"
#include "apps/seed_option.h"
#include "apps/commands.h"
#include "apps/env_source.h"
#include "apps/progress.h"
#include "apps/size_option.h"
#include "sim/episode_file.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "sim/splits.h"
#include "tasks/registry.h"
#include "tasks/twin_set.h"

namespace darkmatter::apps {
namespace {

struct RolloutOptions {
  EnvSource source;
  std::string policy = "random";
  int episodes = 1;
  uint64_t seed = 0;
  int threads = 1;
  int frame_skip = 0;
  int max_steps = 0;
  std::string render;  // "WxH" to store RGB frames
  std::string camera;  // camera for --render
  std::string config;                  // YAML preset
  std::vector<std::string> overrides;  // key=value
  bool show_config = false;
  bool twins = false;                  // one matched twin set per principle and seed
  std::string split = "train";         // seed range (and parameter ranges for ood)
  std::string out;
  bool uncompressed = false;           // numeric datasets without shuffle + gzip
  bool json = false;
};

// One worker's envs (one per variant), each with its own agent.
struct Worker {
  std::vector<std::unique_ptr<sim::Env>> envs;
  std::vector<std::unique_ptr<agents::Agent>> agents;
};

// The env settings that differ between variants: the twin set principle and its world.
struct Variant {
  std::string violation;  // env.violation
  int world = 0;          // env.world
  int principle_index = 0;  // of `violation` in the task's Principles() (twin set ids)
};

// One job: a clip of variant `variant` from `seed`, or (with --twins) the matched set of
// principle `variant / 2` from the clips of variants variant (world A) and variant + 1 (B).
struct Job {
  uint64_t seed;
  int variant;
  int principle_index;  // twins: of the set's principle in the task's Principles()
};


// True for the policies that plan with the true simulator (settings under plan.*).
bool IsPlanner(const std::string& policy) { return policy == "cem" || policy == "mppi"; }

// random | expert | actions:FILE.csv (open-loop replay of one action per row) | cem | mppi
// (planning with oracle clones of task `name` with `settings`, the env's own settings).
std::unique_ptr<agents::Agent> MakePolicy(const std::string& policy, sim::Env& env,
                                          const agents::PlanSettings& plan = {},
                                          const std::string& name = "",
                                          const sim::EnvSettings& settings = {},
                                          const agents::LatentPlanSettings& latent = {}) {
  // cem:CKPT | mppi:CKPT: planning in a learned world model toward a goal observation.
  if (std::string checkpoint; agents::ParseLatentPolicy(policy, nullptr, &checkpoint)) {
    return agents::MakeLatentPlannerAgent(checkpoint, env, latent);
  }
  if (policy == "random") return std::make_unique<agents::RandomAgent>(env.ActionSpec());
  if (policy == "expert") return std::make_unique<agents::ExpertAgent>(env);
  if (IsPlanner(policy)) {
    sim::EnvSettings oracle_settings = settings;
    if (sim::WantsState(settings)) oracle_settings.observation = "state";  // no frames to render
    auto oracle = std::make_unique<agents::OracleDynamics>(
        [name, oracle_settings] { return tasks::MakeEnv(name, oracle_settings); }, plan.oracle);
    return std::make_unique<agents::PlannerAgent>(env, agents::MakePlanner(plan, env.ActionSpec()),
                                                  std::move(oracle));
  }
  // A bc/ppo run directory or its checkpoint.pt (strict load; deterministic mean actions).
  if (agents::IsPolicyPath(policy)) return agents::LoadPolicyAgent(policy, env);
  const std::string prefix = "actions:";
  if (policy.rfind(prefix, 0) == 0) {
    const int act_dim = static_cast<int>(env.ActionSpec().Size());
    return std::make_unique<agents::OpenLoopAgent>(
        agents::LoadActionCsv(policy.substr(prefix.size()), act_dim), act_dim);
  }
  throw sim::BadInput("unknown policy '" + policy + "' for " + env.Name() +
                      " (available: random, expert, actions:FILE.csv, cem, mppi, CKPT: a bc/ppo run directory or .pt)");
}

// Records jobs [first, first + count) in parallel; results in job order (a twins job gives
// its set's four members).
std::vector<sim::Episode> RecordChunk(std::vector<Worker>& workers, const std::vector<Job>& jobs,
                                      int64_t first, int64_t count, bool twins) {
  std::vector<std::vector<sim::Episode>> recorded(count);
  std::atomic<int64_t> next{0};
  std::vector<std::exception_ptr> errors(workers.size());
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers.size(); ++w) {
    threads.emplace_back([&, w] {
      try {
        Worker& worker = workers[w];
        for (int64_t k; (k = next.fetch_add(1)) < count;) {
          const Job& job = jobs[first + k];
          auto record = [&](int variant) {
            return agents::RecordEpisode(*worker.envs[variant], *worker.agents[variant], job.seed);
          };
          if (!twins) {
            recorded[k].push_back(record(job.variant));
            continue;
          }
          const int a = job.variant, b = job.variant + 1;
          recorded[k] = agents::RecordTwinSet(*worker.envs[a], *worker.agents[a],
                                              *worker.envs[b], *worker.agents[b], job.seed,
                                              tasks::TwinSetId(job.seed, job.principle_index));
        }
      } catch (...) {
        errors[w] = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  std::vector<sim::Episode> episodes;
  for (auto& clips : recorded) {
    for (auto& clip : clips) episodes.push_back(std::move(clip));
  }
  return episodes;
}

// Env settings from defaults, then the YAML preset, then key=value, then explicit flags.
void ResolveSettings(const RolloutOptions& o, sim::SettingsBinder* binder,
                     sim::EnvSettings* settings, agents::PlanSettings* plan,
                     agents::LatentPlanSettings* latent) {
  sim::BindEnvSettings(settings, binder);
  if (IsPlanner(o.policy)) {
    plan->planner = o.policy;
    agents::BindPlanSettings(plan, binder);
  } else if (agents::ParseLatentPolicy(o.policy, &latent->plan.planner, nullptr)) {
    agents::BindLatentPlanSettings(latent, binder);
  }
  if (!o.config.empty()) binder->ApplyYamlFile(o.config);
  binder->ApplyOverrides(o.overrides);
  if (o.frame_skip != 0) settings->frame_skip = o.frame_skip;
  if (o.max_steps != 0) settings->max_episode_steps = o.max_steps;
  if (!o.render.empty()) {
    const auto [width, height] = ParseSize(o.render, "--render");
    settings->observation = "state+pixels";
    settings->frame_width = width;
    settings->frame_height = height;
    settings->camera = o.camera;
  }
}

// The variants: the env's own settings, or with --twins worlds A and B of every principle of
// the task (or of env.violation's only, when it names one).
std::vector<Variant> Variants(const RolloutOptions& o, const std::string& name,
                              const sim::EnvSettings& settings) {
  if (!o.twins) return {{settings.violation, settings.world}};
  const std::vector<std::string> principles = tasks::MakeEnv(name, settings)->Principles();
  if (principles.empty()) throw sim::BadInput("--twins: " + name + " makes no twin sets");
  if (principles.size() > tasks::kSetsPerSeed) {
    throw std::logic_error(name + ": too many principles");
  }
  // A set is matched over the family's whole clip (a swapped object hidden inside another
  // early is balanced by the possible member's occlusion later): shorter clips are not sets.
  sim::EnvSettings full = settings;
  full.max_episode_steps = 0;
  const int full_steps = tasks::MakeEnv(name, full)->MaxEpisodeSteps();
  if (settings.max_episode_steps != 0 && settings.max_episode_steps < full_steps) {
    throw sim::BadInput("--twins: env.max_episode_steps=" +
                        std::to_string(settings.max_episode_steps) + " cuts " + name +
                        "'s clips short of its " + std::to_string(full_steps) +
                        " steps; twin sets are matched over whole clips (leave it unset)");
  }
  std::vector<Variant> variants;
  for (int i = 0; i < static_cast<int>(principles.size()); ++i) {
    if (settings.violation != "none" && settings.violation != principles[i]) continue;
    variants.push_back({principles[i], 0, i});
    variants.push_back({principles[i], 1, i});
  }
  return variants;
}

// The variants as JSON: [{"violation": ..., "world": ...}, ...].
nlohmann::json VariantsJson(const std::vector<Variant>& variants) {
  nlohmann::json list = nlohmann::json::array();
  for (const Variant& v : variants) list.push_back({{"violation", v.violation}, {"world", v.world}});
  return list;
}

void RunRollout(const RolloutOptions& o) {
  sim::SettingsBinder binder;
  sim::EnvSettings settings;
  agents::PlanSettings plan;
  agents::LatentPlanSettings latent;
  ResolveSettings(o, &binder, &settings, &plan, &latent);
  if (o.show_config) {
    std::printf("%s", binder.Describe().c_str());
    return;
  }
  const std::string name = o.source.EnvName();
  if (o.out.empty()) throw sim::BadInput("--out FILE.h5 is required");
  if (o.episodes < 1) throw sim::BadInput("--episodes must be >= 1");
  if (o.threads < 1) throw sim::BadInput("--threads must be >= 1");
  const sim::Split split = sim::ParseSplit(o.split, "--split");
  if (split == sim::Split::kOod) settings.split = "ood";
  const uint64_t seed_base = sim::SplitSeedBase(split);
  sim::CheckSeedsInSplitBlock(o.seed, static_cast<uint64_t>(o.episodes), "--seed");
  const std::vector<Variant> variants = Variants(o, name, settings);
  std::vector<Job> jobs;
  for (int k = 0; k < o.episodes; ++k) {
    for (int v = 0; v < static_cast<int>(variants.size()); v += o.twins ? 2 : 1) {
      jobs.push_back({seed_base + o.seed + static_cast<uint64_t>(k), v,
                      variants[v].principle_index});
    }
  }
  const int num_workers = static_cast<int>(std::min<size_t>(o.threads, jobs.size()));
  std::vector<Worker> workers(num_workers);
  for (Worker& worker : workers) {
    for (const Variant& v : variants) {
      sim::EnvSettings variant = settings;
      variant.violation = v.violation;
      variant.world = v.world;
      worker.envs.push_back(tasks::MakeEnv(name, variant));
      worker.agents.push_back(MakePolicy(o.policy, *worker.envs.back(), plan, name, variant,
                                          latent));
    }
  }
  const nlohmann::json config = {{"task", name},
                                 {"policy", o.policy},
                                 {"episodes", o.episodes},
                                 {"seed", o.seed},
                                 {"split", o.split},
                                 {"seed_base", seed_base},
                                 {"twins", o.twins},
                                 {"variants", VariantsJson(variants)},
                                 {"frame_skip", workers[0].envs[0]->FrameSkip()},
                                 {"max_episode_steps", workers[0].envs[0]->MaxEpisodeSteps()},
                                 {"render", o.render},
                                 {"camera", o.camera},
                                 {"env", binder.Values()}};
  sim::EpisodeWriter writer(o.out, {.task = name,
                                    .creator = "darkmatter " DARKMATTER_VERSION,
                                    .config_json = config.dump()},
                           {.compress = !o.uncompressed});
  const auto start = std::chrono::steady_clock::now();
  ProgressBar progress(o.twins ? "rollout (twin sets)" : "rollout",
                       static_cast<int64_t>(jobs.size()));
  int64_t steps = 0, diverged = 0, terminated = 0;
  double return_sum = 0.0;
  const int64_t chunk = 4 * num_workers;
  const int64_t total = static_cast<int64_t>(jobs.size());
  int64_t frames = 0, written = 0;
  // Pipelined: the workers record chunk k+1 while this thread writes chunk k.
  auto record = [&](int64_t first) {
    const int64_t count = std::min<int64_t>(chunk, total - first);
    return std::async(std::launch::async,
                      [&, first, count] { return RecordChunk(workers, jobs, first, count, o.twins); });
  };
  std::future<std::vector<sim::Episode>> pending = record(0);
  for (int64_t first = 0; first < total; first += chunk) {
    const int64_t count = std::min<int64_t>(chunk, total - first);
    const std::vector<sim::Episode> recorded = pending.get();
    if (first + chunk < total) pending = record(first + chunk);
    for (const sim::Episode& episode : recorded) {
      ++written;
      frames += episode.frame_height > 0 ? episode.Length() + 1 : 0;
      writer.Append(episode);
      steps += episode.Length();
      return_sum += episode.Return();
      diverged += episode.AnyInfo("diverged") ? 1 : 0;
      terminated += episode.Length() > 0 && episode.terminations.back() ? 1 : 0;
    }
    progress.Update(first + count);
  }
  writer.Commit();
  progress.Finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double mean_return = return_sum / static_cast<double>(written);
  if (o.json) {
    const nlohmann::json summary = {{"out", o.out},           {"task", name},
                                    {"episodes", written},      {"steps", steps},
                                    {"frames", frames},
                                    {"frames_per_s", frames / std::max(seconds, 1e-9)},
                                    {"steps_per_s", steps / std::max(seconds, 1e-9)},
                                    {"mean_return", mean_return}, {"terminated", terminated},
                                    {"diverged", diverged},   {"seconds", seconds}};
    std::printf("%s\n", summary.dump(2).c_str());
    return;
  }
  std::printf("rollout: %lld episodes, %lld steps, mean return %.4g, %lld terminated, "
              "%lld diverged, %.2f s (%.0f steps/s",
              static_cast<long long>(written), static_cast<long long>(steps), mean_return,
              static_cast<long long>(terminated), static_cast<long long>(diverged), seconds,
              steps / std::max(seconds, 1e-9));
  if (frames > 0) std::printf(", %.0f frames/s", frames / std::max(seconds, 1e-9));
  std::printf(") -> %s\n", o.out.c_str());
}

}  // namespace

void AddRolloutCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("rollout", "Record episodes of a policy to an HDF5 file");
  auto o = std::make_shared<RolloutOptions>();
  o->source.AddOptions(cmd);
  cmd->add_option("--policy", o->policy, "Policy: random | expert | actions:FILE.csv (one action per row, cycled) | cem | mppi "
                  "(planning with the true simulator; settings plan.*, see --show-config) | cem:CKPT | mppi:CKPT "
                  "(planning in a trained world model toward the goal observation; plan.*) | CKPT (bc/ppo run dir or checkpoint.pt)")->capture_default_str();
  cmd->add_option("--episodes", o->episodes, "Number of episodes")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Episode k is reset with seed + k")
      ->check(SeedValidator())->capture_default_str();
  cmd->add_option("--threads", o->threads, "Worker threads (file is identical for any value)")
      ->check(CLI::Range(1, sim::kMaxThreads))
      ->capture_default_str();
  cmd->add_option("--frame-skip", o->frame_skip, "Physics steps per control step (0: task default)");
  cmd->add_option("--max-steps", o->max_steps, "Control steps per episode (0: task default)");
  cmd->add_option("--render", o->render, "Store RGB frames of this size, e.g. 64x64");
  cmd->add_option("--camera", o->camera, "Scene camera for --render (default: free camera)");
  cmd->add_flag("--twins", o->twins,
                "Record each seed as one matched twin set per principle of the task (or of "
                "env.violation): possible worlds A and B, then the impossible A-then-B and "
                "B-then-A (docs/physics-scenes.md)");
  cmd->add_option("--split", o->split,
                  "Seed range: train, readout, test (disjoint), or ood (out-of-distribution "
                  "parameter ranges)")
      ->capture_default_str();
  cmd->add_option("--config", o->config, "YAML preset of settings (see --show-config)");
  cmd->add_option("overrides", o->overrides, "Settings as key=value, e.g. env.frame_skip=4");
  cmd->add_flag("--show-config", o->show_config, "Print every settings key and value, then exit");
  cmd->add_option("--out", o->out, "Output episode file (.h5)");
  cmd->add_flag("--uncompressed", o->uncompressed,
                "Store the numeric datasets uncompressed (frames stay gzip-compressed); "
                "for size and speed comparisons");
  cmd->add_flag("--json", o->json, "Print the summary as JSON");
  cmd->callback([o] { RunRollout(*o); });
}

}  // namespace darkmatter::apps
