// LatentPlannerAgent: acts by planning (CEM, MPPI) inside a learned world model toward a goal
// observation, with no reward and no simulator access beyond observing: each step it encodes
// the current observation (rendering a frame itself for pixel models, at the model's frame
// size from an explicitly chosen camera), slides the model's context window, and plans over
// WorldModelDynamics. The goal is a goal image (ArmEnv::RenderGoal) for pixel models or a
// goal state vector (GoalObservation) for state models; manipulation tasks only.
//
// CLI: `darkmatter rollout|eval plan --policy cem:CKPT | mppi:CKPT` (CKPT: a `train --model
// jepa|...` run directory or its checkpoint.pt), settings under plan.*.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agents/agent.h"
#include "agents/planner_agent.h"
#include "agents/world_model_dynamics.h"
#include "sim/env.h"
#include "sim/settings.h"

namespace darkmatter::tasks::manipulation {
class ArmEnv;
}

namespace darkmatter::agents {

// Settings of world-model planning (the planner's own under PlanSettings).
struct LatentPlanSettings {
  PlanSettings plan;               // planner ("cem" | "mppi") and its settings
  WorldModelCostSettings cost;     // latent cost (final-step weight)
  std::string device = "cpu";      // auto | cpu | cuda[:N] (worldmodel::ResolveDevice)
  std::string camera = "main";     // scene camera of pixel models; must be the one the
                                   // training frames were rendered from (rollout --camera)
};

// Splits "cem:CKPT" / "mppi:CKPT" into planner and checkpoint; false for any other policy.
bool ParseLatentPolicy(const std::string& policy, std::string* planner, std::string* checkpoint);
// Binds the planner's settings (planner named by settings->plan.planner) and plan.device,
// plan.camera and plan.final_weight under `prefix`.
void BindLatentPlanSettings(LatentPlanSettings* settings, sim::SettingsBinder* binder,
                            const std::string& prefix = "plan.");

// The state observation of `env`'s scene as it is when the goal is achieved, from the
// current observation `obs` (env.ObservationSpec().Size()): for reach, the arm posed by
// inverse kinematics with its grip site on the target; for block tasks, block k at goal
// position k (its heading kept); all velocities zero; the goal slice unchanged.
void GoalObservation(tasks::manipulation::ArmEnv& env, std::span<const double> obs,
                     std::span<double> out);

class LatentPlannerAgent final : public Agent {
 public:
  // Plans for `env` (must outlive the agent; rendered for pixel models; a manipulation task)
  // with `planner` over `dynamics`. Throws sim::BadInput when env is not a manipulation task
  // or its observation does not match the model's input.
  LatentPlannerAgent(sim::Env& env, std::unique_ptr<Planner> planner,
                     std::unique_ptr<WorldModelDynamics> dynamics,
                     const LatentPlanSettings& settings = {});
  // Re-seeds the planner, drops its warm start, and forgets context and goal (batch of one).
  void Reset(uint64_t seed, int row) override;
  // Encodes the observation (or a frame rendered from the env), sets the goal on the first
  // step of an episode, plans, and writes the first planned action.
  void Act(std::span<const double> observations, std::span<double> actions) override;
  // Statistics since construction: "plans", "plan_seconds", "plan_ms_per_action",
  // "model_calls" (batched rollouts), "model_calls_per_action", "encoder_calls",
  // "transitions" (predicted candidate steps), "latent_goal_distance" (at the last step).
  std::map<std::string, double> PlanStats() const;

  WorldModelDynamics& Dynamics() { return *dynamics_; }
  Planner& GetPlanner() { return *planner_; }

 private:
  void SetGoal(std::span<const double> observation);

  sim::Env& env_;
  tasks::manipulation::ArmEnv* arm_ = nullptr;
  std::unique_ptr<Planner> planner_;
  std::unique_ptr<WorldModelDynamics> dynamics_;
  LatentPlanSettings settings_;
  sim::CameraSpec camera_;
  sim::RenderOutput frame_;          // reused render buffers (pixel models)
  std::vector<double> goal_obs_;     // (obs_dim) goal state (state models)
  bool needs_goal_ = true;
  int64_t plans_ = 0;
  double plan_seconds_ = 0.0;
};

// Loads `checkpoint` onto settings.device and builds a LatentPlannerAgent for `env`.
std::unique_ptr<LatentPlannerAgent> MakeLatentPlannerAgent(const std::string& checkpoint,
                                                           sim::Env& env,
                                                           const LatentPlanSettings& settings);

}  // namespace darkmatter::agents
