// Settings of the comparison suite: one struct, bound to dotted keys, filled from an embedded
// preset (quick, full, test), an optional YAML file (configs/suite_*.yaml) and key=value
// overrides. Lists are comma-separated strings. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/settings.h"

namespace darkmatter::eval {

struct SuiteSettings {
  std::string name = "quick";  // preset name (recorded in results.json)
  std::string tasks;           // control tasks, comma-separated
  std::string methods;         // control methods, comma-separated (suite_methods.h)
  int seeds = 3;               // seeds 0 .. seeds-1 per (task, method, budget)
  int eval_episodes = 5;       // held-out (start, goal) pairs per cell (test split seeds)
  int max_episode_steps = 0;   // manipulation: control steps per episode; 0 = the task's default
  int driving_max_episode_steps = 0;  // driving: control steps per episode (success needs the
                                      // route's end); 0 = the task's default
  std::string budgets_bc;      // bc: demonstrations (labelled episodes), comma-separated
  std::string budgets_ppo;     // ppo: environment steps, comma-separated
  std::string budgets_sac;     // sac: environment steps, comma-separated
  std::string budgets_tdmpc;   // tdmpc: environment steps, comma-separated
  std::string budgets_jepa;    // jepa-cem: unlabelled frames of reward-free play, comma-separated
  int plan_samples = 32;       // oracle planners: candidate sequences per iteration
  int plan_elites = 4;         // CEM elites
  int plan_iterations = 2;     // planner iterations per action
  int plan_horizon = 8;        // planning horizon (control steps)
  int plan_threads = 2;        // oracle worker threads
  int bc_epochs = 50;          // bc: passes over the demonstrations
  int bc_hidden = 64;          // bc: hidden units
  double bc_demo_noise = 0.1;  // bc: DART noise while recording demos (fraction of half range)
  int ppo_num_envs = 8;        // ppo: parallel envs
  int ppo_rollout_steps = 128; // ppo: steps per env per update
  int ppo_epochs = 4;          // ppo: passes over each batch
  int ppo_hidden = 64;         // ppo: hidden units
  int ppo_threads = 2;         // ppo: env pool threads (results identical for any value)
  int sac_num_envs = 4;        // sac: parallel envs
  int sac_hidden = 256;        // sac: hidden units of actor and critics
  double sac_utd = 1.0;        // sac: gradient updates per env step
  int sac_learning_starts = 5000;  // sac: env steps of random actions before learning
  int sac_threads = 1;         // sac: env pool threads (results identical for any value)
  int tdmpc_hidden = 128;      // tdmpc: hidden units of every MLP
  int tdmpc_seed_steps = 1000; // tdmpc: env steps of random actions before learning
  int jepa_steps = 300;        // world models: optimiser steps
  int jepa_batch = 32;         // world models: clips per step
  std::string jepa_input = "state";  // physics cells' jepa: state | pixels (the spatial
                                     // pixel jepa on 64x64 frames of camera "main")
  std::string physics_task = "physics/collide";  // scene of the physics protocols
  std::string physics_protocols = "voe,ocp,probe";  // subset of voe,ocp,probe; "" = none
  std::string physics_budgets; // unlabelled frames the jepa watches, comma-separated
  int physics_test_episodes = 16;   // twins (and readout clips) per evaluation file
  int bootstrap = 1000;        // bootstrap replicates (aggregates, protocol intervals)
  std::string device = "auto";  // learning methods and world models: auto (CUDA when present,
                                // else CPU) | cpu | cuda[:N]; cells keep the resolved device
  bool videos = true;          // render best and worst episode per (video task, method)
  std::string video_tasks;     // tasks that get videos, comma-separated ("" = none)
  std::string video_size = "320x240";  // video pane size WxH
};

// Binds every field under its dotted key (e.g. "budgets.ppo", "plan.samples").
void BindSuiteSettings(SuiteSettings* settings, sim::SettingsBinder* binder);
// Throws sim::BadInput naming the key and value of the first bad setting (unknown task or
// method, a budget <= 0, a count < 1, ...).
void ValidateSuiteSettings(const SuiteSettings& settings);

// The embedded presets: quick, full, test.
const std::vector<std::string>& SuitePresets();

// A suite ready to run: settings, the resolved config (every key -> value text) and its hash.
struct ResolvedSuite {
  SuiteSettings settings;
  nlohmann::json config;    // key -> value text, keys sorted
  std::string config_hash;  // ConfigHash(config)
};

// Preset, then the YAML file (if any), then key=value overrides; validated. Throws
// sim::BadInput naming an unknown preset, file, key or value.
ResolvedSuite ResolveSuite(const std::string& preset, const std::string& config_file,
                           const std::vector<std::string>& overrides);
// Rebuilds a suite from a recorded config (results.json's suite.config); validated.
ResolvedSuite SuiteFromConfig(const nlohmann::json& config, const std::string& source);
// Every key with its help text, one per line (for --show-config).
std::string DescribeSuite(const std::string& preset);

// Splits "a,b,c" (spaces trimmed, empty items dropped).
std::vector<std::string> SplitList(const std::string& text);
// Parses a list of positive numbers; throws sim::BadInput naming `key`.
std::vector<double> ParseBudgets(const std::string& text, const std::string& key);

}  // namespace darkmatter::eval
