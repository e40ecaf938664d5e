#include "agents/latent_planner_agent.h"

#include <algorithm>
#include <chrono>

#include "sim/error.h"
#include "tasks/manipulation/arm_env.h"
#include "worldmodel/device.h"

namespace darkmatter::agents {

using tasks::manipulation::ArmEnv;

bool ParseLatentPolicy(const std::string& policy, std::string* planner, std::string* checkpoint) {
  for (const std::string name : {"cem", "mppi"}) {
    const std::string prefix = name + ":";
    if (policy.rfind(prefix, 0) == 0) {
      if (planner != nullptr) *planner = name;
      if (checkpoint != nullptr) *checkpoint = policy.substr(prefix.size());
      return true;
    }
  }
  return false;
}

void BindLatentPlanSettings(LatentPlanSettings* settings, sim::SettingsBinder* binder,
                            const std::string& prefix) {
  const std::string& planner = settings->plan.planner;
  if (planner == "cem") {
    BindCemSettings(&settings->plan.cem, binder, prefix);
  } else if (planner == "mppi") {
    BindMppiSettings(&settings->plan.mppi, binder, prefix);
  } else {
    throw sim::BadInput("unknown planner '" + planner + "' (expected cem or mppi)");
  }
  binder->Bind(prefix + "device", &settings->device,
               "world-model planning device: auto | cpu | cuda[:N]");
  binder->Bind(prefix + "camera", &settings->camera,
               "pixel world models: scene camera (as the training frames' rollout --camera)");
  binder->Bind(prefix + "final_weight", &settings->cost.final_weight,
               "latent cost: weight of the last step's goal distance (>= 0)");
}

void GoalObservation(ArmEnv& env, std::span<const double> obs, std::span<double> out) {
  const int64_t n = env.ObservationSpec().Size();
  if (static_cast<int64_t>(obs.size()) != n || static_cast<int64_t>(out.size()) != n) {
    throw sim::BadInput("GoalObservation: " + env.Name() + " observations have " +
                        std::to_string(n) + " values, got " + std::to_string(obs.size()));
  }
  std::copy(obs.begin(), obs.end(), out.begin());
  const int robot = ArmEnv::kRobotJoints;
  std::fill(out.begin() + robot, out.begin() + 2 * robot, 0.0);  // joint velocities
  const std::span<const double> goal = env.Goal();
  const int grip = 2 * robot;  // grip site position (3)
  if (env.NumObjects() == 0) {
    // Reach: the arm posed by inverse kinematics with the grip site on the target.
    const tasks::Vec3 target = {goal[0], goal[1], goal[2]};
    std::array<double, ArmEnv::kArmJoints> q = env.ArmAngles();
    env.SolveIk(target, env.NaturalYaw(target), q);
    std::copy(q.begin(), q.end(), out.begin());
    std::copy_n(goal.begin(), 3, out.begin() + grip);
    return;
  }
  // Block tasks: block k at goal position k (heading kept), at rest.
  const int objects = std::min<int>(env.NumObjects(), env.GoalSize() / 3);
  for (int k = 0; k < objects; ++k) {
    const int base = grip + 3 + 13 * k;  // position (3), quaternion (4), velocities (6)
    std::copy_n(goal.begin() + 3 * k, 3, out.begin() + base);
    std::fill(out.begin() + base + 7, out.begin() + base + 13, 0.0);
  }
}

LatentPlannerAgent::LatentPlannerAgent(sim::Env& env, std::unique_ptr<Planner> planner,
                                       std::unique_ptr<WorldModelDynamics> dynamics,
                                       const LatentPlanSettings& settings)
    : env_(env),
      arm_(dynamic_cast<ArmEnv*>(&env)),
      planner_(std::move(planner)),
      dynamics_(std::move(dynamics)),
      settings_(settings) {
  if (arm_ == nullptr) {
    throw sim::BadInput("world-model planning needs a goal observation: " + env.Name() +
                        " is not a manipulation/* task");
  }
  if (dynamics_->ActionSpec().Size() != env.ActionSpec().Size()) {
    throw sim::BadInput("world model and " + env.Name() + " differ in action size");
  }
  camera_.name = settings_.camera;
  if (!dynamics_->Pixels()) {
    const int64_t obs_dim = env.ObservationSpec().Size();
    if (obs_dim != dynamics_->ObsDim()) {
      throw sim::BadInput("world model reads states of " + std::to_string(dynamics_->ObsDim()) +
                          " values; " + env.Name() + " observes " + std::to_string(obs_dim) +
                          (obs_dim == 0 ? " (set env.observation=state or state+pixels)" : ""));
    }
    goal_obs_.resize(obs_dim);
  }
}

void LatentPlannerAgent::Reset(uint64_t seed, int row) {
  planner_->Reset(seed);
  dynamics_->ResetContext();
  needs_goal_ = true;
}

void LatentPlannerAgent::SetGoal(std::span<const double> observation) {
  if (dynamics_->Pixels()) {
    const int s = static_cast<int>(dynamics_->FrameSize());
    arm_->RenderGoal(camera_, s, s, &frame_);
    dynamics_->SetGoalFrame(frame_.rgb);
  } else {
    GoalObservation(*arm_, observation, goal_obs_);
    dynamics_->SetGoal(goal_obs_);
  }
  needs_goal_ = false;
}

void LatentPlannerAgent::Act(std::span<const double> observations, std::span<double> actions) {
  const auto start = std::chrono::steady_clock::now();
  if (needs_goal_) SetGoal(observations);
  if (dynamics_->Pixels()) {
    const int s = static_cast<int>(dynamics_->FrameSize());
    env_.Render(camera_, s, s, &frame_);
    dynamics_->PushFrame(frame_.rgb);
  } else {
    dynamics_->PushObservation(observations);
  }
  const std::span<const double> action = planner_->Plan(*dynamics_);
  std::copy(action.begin(), action.end(), actions.begin());
  plan_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++plans_;
}

std::map<std::string, double> LatentPlannerAgent::PlanStats() const {
  const DynamicsStats& stats = dynamics_->Stats();
  const double plans = static_cast<double>(plans_);
  return {{"plans", plans},
          {"plan_seconds", plan_seconds_},
          {"plan_ms_per_action", plans_ > 0 ? 1e3 * plan_seconds_ / plans : 0.0},
          {"model_calls", static_cast<double>(stats.model_calls)},
          {"model_calls_per_action", plans_ > 0 ? stats.model_calls / plans : 0.0},
          {"encoder_calls", static_cast<double>(dynamics_->EncoderCalls())},
          {"transitions", static_cast<double>(stats.transitions)},
          {"latent_goal_distance", dynamics_->GoalDistance()}};
}

std::unique_ptr<LatentPlannerAgent> MakeLatentPlannerAgent(const std::string& checkpoint,
                                                           sim::Env& env,
                                                           const LatentPlanSettings& settings) {
  const torch::Device device = worldmodel::ResolveDevice(settings.device);
  worldmodel::LoadedModel loaded = worldmodel::LoadWorldModel(checkpoint, device);
  auto dynamics = std::make_unique<WorldModelDynamics>(loaded.model, env.ActionSpec(), device,
                                                       settings.cost);
  return std::make_unique<LatentPlannerAgent>(env, MakePlanner(settings.plan, env.ActionSpec()),
                                              std::move(dynamics), settings);
}

}  // namespace darkmatter::agents
