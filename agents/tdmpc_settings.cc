// The tdmpc.* settings: binding, validation and what a resumed run may change.
#include <cmath>
#include <string>
#include <utility>

#include "agents/tdmpc.h"
#include "agents/tdmpc_planner.h"
#include "sim/error.h"

namespace darkmatter::agents {
namespace {

void Require(bool ok, const std::string& key, double value, const std::string& rule) {
  if (!ok) throw sim::BadInput("setting " + key + "=" + std::to_string(value) + ": must be " + rule);
}

}  // namespace

TdmpcPlanSettings PlanSettingsOf(const TdmpcSettings& s) {
  return {.horizon = s.horizon, .samples = s.samples, .pi_samples = s.pi_samples,
          .elites = s.elites, .iterations = s.iterations, .temperature = s.temperature,
          .min_std = s.min_std, .max_std = s.max_std, .gamma = s.gamma};
}

void BindTdmpcSettings(TdmpcSettings* s, sim::SettingsBinder* b) {
  b->Bind("tdmpc.total_env_steps", &s->total_env_steps, "env steps to train for (whole chunks)");
  b->Bind("tdmpc.chunk_steps", &s->chunk_steps, "env steps per metrics line");
  b->Bind("tdmpc.buffer_size", &s->buffer_size, "replay capacity in transitions");
  b->Bind("tdmpc.batch_size", &s->batch_size, "sequences per gradient update");
  b->Bind("tdmpc.seed_steps", &s->seed_steps,
          "env steps of uniform random actions; then as many updates at once");
  b->Bind("tdmpc.utd", &s->utd, "gradient updates per env step after seed_steps, in (0, 64]");
  b->Bind("tdmpc.latent", &s->latent, "latent size (a multiple of 8)");
  b->Bind("tdmpc.hidden", &s->hidden, "hidden units of every MLP");
  b->Bind("tdmpc.lr", &s->lr, "Adam learning rate, > 0");
  b->Bind("tdmpc.tau", &s->tau, "Polyak step of the target Q heads, in (0, 1]");
  b->Bind("tdmpc.rho", &s->rho, "loss weight decay over the horizon, in (0, 1]");
  b->Bind("tdmpc.consistency_coef", &s->consistency_coef, "weight of the latent consistency loss");
  b->Bind("tdmpc.reward_coef", &s->reward_coef, "weight of the reward loss");
  b->Bind("tdmpc.value_coef", &s->value_coef, "weight of the TD loss");
  b->Bind("tdmpc.termination_coef", &s->termination_coef, "weight of the termination loss");
  b->Bind("tdmpc.entropy_coef", &s->entropy_coef, "weight of the policy's log density");
  b->Bind("tdmpc.grad_clip", &s->grad_clip, "gradient norm clip, > 0");
  b->Bind("tdmpc.horizon", &s->horizon, "planning and training horizon (control steps)");
  b->Bind("tdmpc.samples", &s->samples, "MPPI candidate sequences per iteration");
  b->Bind("tdmpc.pi_samples", &s->pi_samples, "of which from the policy prior");
  b->Bind("tdmpc.elites", &s->elites, "elites the Gaussian is refitted to");
  b->Bind("tdmpc.iterations", &s->iterations, "MPPI iterations per action");
  b->Bind("tdmpc.temperature", &s->temperature, "softmax temperature of the elite weights");
  b->Bind("tdmpc.min_std", &s->min_std, "floor of the planner's std");
  b->Bind("tdmpc.max_std", &s->max_std, "initial and largest planner std");
  b->Bind("tdmpc.gamma", &s->gamma, "discount (TD targets and planning), in (0, 1]");
  b->Bind("tdmpc.act", &s->act, "plan (MPPI in the latent) | policy (the policy prior alone)");
  b->Bind("tdmpc.seed", &s->seed, "init, sampling, planning and env seeds");
  b->Bind("tdmpc.checkpoint_every", &s->checkpoint_every, "chunks between checkpoints");
  b->Bind("tdmpc.eval_episodes", &s->eval_episodes,
          "planning evaluation episodes at the end (test seeds; 0 = none)");
  b->Bind("tdmpc.eval_every", &s->eval_every,
          "chunks between evaluations on tdmpc.eval_episodes test seeds, logged (0 = none)");
}

void ValidateTdmpcSettings(const TdmpcSettings& s) {
  Require(s.total_env_steps >= 1, "tdmpc.total_env_steps", s.total_env_steps, ">= 1");
  sim::RequireInRange("tdmpc.chunk_steps", s.chunk_steps, 1, sim::kMaxReplay);
  sim::RequireInRange("tdmpc.buffer_size", s.buffer_size, 1, sim::kMaxReplay);
  sim::RequireInRange("tdmpc.batch_size", s.batch_size, 1, sim::kMaxBatch);
  sim::RequireInRange("tdmpc.seed_steps", s.seed_steps, s.horizon, sim::kMaxReplay);
  Require(std::isfinite(s.utd) && s.utd > 0 && s.utd <= 64, "tdmpc.utd", s.utd, "in (0, 64]");
  sim::RequireInRange("tdmpc.latent", s.latent, 8, sim::kMaxWidth);
  Require(s.latent % 8 == 0, "tdmpc.latent", s.latent, "a multiple of 8");
  sim::RequireInRange("tdmpc.hidden", s.hidden, 1, sim::kMaxWidth);
  Require(std::isfinite(s.lr) && s.lr > 0, "tdmpc.lr", s.lr, "finite and > 0");
  Require(s.tau > 0 && s.tau <= 1, "tdmpc.tau", s.tau, "in (0, 1]");
  Require(s.rho > 0 && s.rho <= 1, "tdmpc.rho", s.rho, "in (0, 1]");
  for (const auto& [key, value] : {std::pair{"tdmpc.consistency_coef", s.consistency_coef},
                                   std::pair{"tdmpc.reward_coef", s.reward_coef},
                                   std::pair{"tdmpc.value_coef", s.value_coef},
                                   std::pair{"tdmpc.termination_coef", s.termination_coef},
                                   std::pair{"tdmpc.entropy_coef", s.entropy_coef}}) {
    Require(std::isfinite(value) && value >= 0, key, value, "finite and >= 0");
  }
  Require(std::isfinite(s.grad_clip) && s.grad_clip > 0, "tdmpc.grad_clip", s.grad_clip,
          "finite and > 0");
  ValidateTdmpcPlanSettings(PlanSettingsOf(s));
  if (s.act != "plan" && s.act != "policy") {
    throw sim::BadInput("setting tdmpc.act=" + s.act + ": must be plan or policy");
  }
  Require(s.checkpoint_every >= 1, "tdmpc.checkpoint_every", s.checkpoint_every, ">= 1");
  sim::RequireInRange("tdmpc.eval_episodes", s.eval_episodes, 0, sim::kMaxSamples);
  Require(s.eval_every >= 0, "tdmpc.eval_every", s.eval_every, ">= 0");
}

bool TdmpcResumeMayChange(const std::string& key) {
  return key == "tdmpc.total_env_steps" || key == "tdmpc.checkpoint_every" ||
         key == "tdmpc.eval_episodes" || key == "tdmpc.eval_every" || key == "tdmpc.act";
}

}  // namespace darkmatter::agents
