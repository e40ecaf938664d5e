// darkmatter bench env: in one run, bare backend stepping (mj_step, or the Bullet vehicle
// world) and the Env API on the same model,
// both driven by the same random actions; reports the ratio of physics steps per second.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agents/random_agent.h"
#include "apps/bench_util.h"
#include "apps/commands.h"
#include "apps/env_source.h"
#include "sim/bullet_env.h"
#include "sim/error.h"
#include "sim/mujoco_env.h"
#include "tasks/registry.h"

namespace darkmatter::apps {
namespace {

struct BenchEnvOptions {
  EnvSource source;
  int64_t physics_steps = 50000;
  int repeats = 3;
  bool json = false;
};

// Bare MuJoCo: mj_step with random ctrl held for frame_skip steps, resetting (mj_resetData
// + mj_forward) after the same control steps at which the Env API run reset, so both do the
// same work.
double RawStepsPerSecond(const sim::MujocoEnv& env, int64_t control_steps,
                         const std::vector<uint8_t>& reset_after) {
  const mjModel* m = env.model();
  mjData* d = mj_makeData(m);
  agents::RandomAgent agent(env.ActionSpec());
  agent.Reset(1, 0);
  std::vector<double> action(m->nu);
  const int frame_skip = env.FrameSkip();
  const auto start = std::chrono::steady_clock::now();
  mj_resetData(m, d);
  mj_forward(m, d);
  for (int64_t i = 0; i < control_steps; ++i) {
    agent.Act({}, action);
    std::copy(action.begin(), action.end(), d->ctrl);
    for (int k = 0; k < frame_skip; ++k) mj_step(m, d);
    if (reset_after[i]) {
      mj_resetData(m, d);
      mj_forward(m, d);
    }
  }
  const double seconds = SecondsSince(start);
  mj_deleteData(d);
  return control_steps * frame_skip / seconds;
}

// Bare Bullet: the env's own vehicle world without the Env layer (no traffic, sensors or
// metrics), with the same random actions held for frame_skip steps and rebuilt at the same
// control steps at which the Env API run reset.
double BareBulletStepsPerSecond(const sim::BulletEnv& env, int64_t control_steps,
                                const std::vector<uint8_t>& reset_after) {
  agents::RandomAgent agent(env.ActionSpec());
  agent.Reset(1, 0);
  std::vector<double> actions(2 * control_steps), action(2);
  for (int64_t i = 0; i < control_steps; ++i) {
    agent.Act({}, action);
    actions[2 * i] = action[0];
    actions[2 * i + 1] = action[1];
  }
  return env.BareStepsPerSecond(control_steps, actions, reset_after);
}

// The Env API with random actions; returns control steps per second and marks the control
// steps after which an episode ended (and the env was reset).
double EnvStepsPerSecond(sim::Env& env, int64_t control_steps, std::vector<uint8_t>* reset_after) {
  agents::RandomAgent agent(env.ActionSpec());
  agent.Reset(1, 0);
  std::vector<double> action(env.ActionSpec().Size());
  reset_after->assign(control_steps, 0);
  sim::StepResult result = env.Reset(1);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < control_steps; ++i) {
    agent.Act(result.observation, action);
    result = env.Step(action);
    if (result.terminated || result.truncated) {
      (*reset_after)[i] = 1;
      result = env.Reset(std::nullopt);
    }
  }
  return control_steps / SecondsSince(start);
}

void RunBenchEnv(const BenchEnvOptions& o) {
  const std::string name = o.source.EnvName(DefaultBenchScene());
  if (o.physics_steps < 1) throw sim::BadInput("--physics-steps must be >= 1");
  if (o.repeats < 1) throw sim::BadInput("--repeats must be >= 1");
  auto env = tasks::MakeEnv(name);
  auto* mujoco_env = dynamic_cast<sim::MujocoEnv*>(env.get());
  auto* bullet_env = dynamic_cast<sim::BulletEnv*>(env.get());
  if (!mujoco_env && !bullet_env) throw sim::BadInput(name + ": bench env has no bare stepping for backend " +
                                       std::string(env->Backend()));
  const int frame_skip = env->FrameSkip();
  const int64_t control_steps = std::max<int64_t>(1, o.physics_steps / frame_skip);
  double raw = 0.0, control = 0.0;
  std::vector<uint8_t> reset_after;
  for (int r = 0; r < o.repeats; ++r) {  // interleaved; best of each (least disturbed run)
    control = std::max(control, EnvStepsPerSecond(*env, control_steps, &reset_after));
    raw = std::max(raw, mujoco_env
                            ? RawStepsPerSecond(*mujoco_env, control_steps, reset_after)
                            : BareBulletStepsPerSecond(*bullet_env, control_steps, reset_after));
  }
  const double physics = control * frame_skip;
  const nlohmann::json result = {{"task", name},
                                 {"backend", env->Backend()},
                                 {"frame_skip", frame_skip},
                                 {"physics_steps", control_steps * frame_skip},
                                 {"repeats", o.repeats},
                                 {"raw_steps_per_s", raw},
                                 {"physics_steps_per_s", physics},
                                 {"env_steps_per_s", control},
                                 {"ratio", physics / raw}};
  if (o.json) {
    std::printf("%s\n", result.dump(2).c_str());
    return;
  }
  std::printf("bench env %s (frame_skip %d, %lld physics steps, best of %d)\n", name.c_str(),
              frame_skip, static_cast<long long>(control_steps * frame_skip), o.repeats);
  std::printf("  bare %-11s%12.0f physics steps/s\n", mujoco_env ? "mj_step:" : "Bullet:", raw);
  std::printf("  Env API:        %12.0f physics steps/s  (%.0f env steps/s)\n", physics, control);
  std::printf("  ratio:          %12.3f\n", physics / raw);
}

}  // namespace

void AddBenchEnvCommand(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("env", "Env API overhead against bare physics stepping");
  auto o = std::make_shared<BenchEnvOptions>();
  o->source.AddOptions(cmd);
  cmd->add_option("--physics-steps", o->physics_steps, "Physics steps per measurement")
      ->capture_default_str();
  cmd->add_option("--repeats", o->repeats, "Interleaved measurements; the best is reported")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { RunBenchEnv(*o); });
}

}  // namespace darkmatter::apps
