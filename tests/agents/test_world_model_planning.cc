// Planning in a learned world model: WorldModelDynamics scores all candidates in one batched
// model call with the same costs as one call per candidate, and CEM in a state jepa trained
// on reward-free random play of manipulation/reach moves the gripper toward the goal state.
#include <torch/torch.h>
#undef CHECK
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "agents/latent_planner_agent.h"
#include "agents/random_agent.h"
#include "agents/rollout.h"
#include "agents/world_model_dynamics.h"
#include "sim/error.h"
#include "sim/rng.h"
#include "tasks/manipulation/arm_env.h"
#include "tasks/registry.h"
#include "worldmodel/clips.h"
#include "worldmodel/world_model.h"

namespace sim = darkmatter::sim;
namespace agents = darkmatter::agents;
namespace tasks = darkmatter::tasks;
namespace worldmodel = darkmatter::worldmodel;

namespace {

const std::string kReach = "manipulation/reach";

worldmodel::ModelOptions StateJepa(const sim::Env& env) {
  worldmodel::ModelOptions o;
  o.model = "jepa";
  o.input = "state";
  o.obs_dim = env.ObservationSpec().Size();
  o.act_dim = env.ActionSpec().Size();
  o.latent_dim = 32;
  o.hidden = 128;
  o.context = 2;
  o.horizon = 4;
  return o;
}

// Uniform random action sequences (N x H x act_dim) within the bounds.
std::vector<double> RandomSequences(const sim::BoxSpec& spec, int n, int h, uint64_t seed) {
  sim::Rng rng(seed);
  const int64_t a = spec.Size();
  std::vector<double> actions(n * h * a);
  for (size_t j = 0; j < actions.size(); ++j) {
    const int64_t k = j % a;
    actions[j] = rng.Uniform(spec.low[k], spec.high[k]);
  }
  return actions;
}

double GoalDistance(sim::Env& env) {
  return dynamic_cast<tasks::manipulation::ArmEnv&>(env).GoalDistance();
}

}  // namespace

TEST_CASE("WorldModelDynamics scores N candidates in one model call, as a per-candidate loop",
          "[agents][planners][worldmodel]") {
  torch::manual_seed(3);
  auto env = tasks::MakeEnv(kReach, {});
  auto model = worldmodel::MakeWorldModel(StateJepa(*env));
  agents::WorldModelDynamics dynamics(model, env->ActionSpec(), torch::kCPU);
  const int n = 32, h = 6;
  const int64_t a = env->ActionSpec().Size();
  std::vector<double> costs(n);
  const std::vector<double> actions = RandomSequences(env->ActionSpec(), n, h, 7);
  // No context or goal yet: bad input, not a crash.
  CHECK_THROWS_AS(dynamics.Evaluate(actions, n, h, costs), sim::BadInput);

  sim::StepResult first = env->Reset(11);
  std::vector<double> obs(first.observation.begin(), first.observation.end());
  dynamics.PushObservation(obs);
  std::vector<double> step(a, 0.0);
  for (int k = 0; k < a; ++k) step[k] = 0.5 * (env->ActionSpec().low[k] + env->ActionSpec().high[k]);
  sim::StepResult next = env->Step(step);
  dynamics.PushObservation(next.observation);
  std::vector<double> goal(obs.size());
  agents::GoalObservation(dynamic_cast<tasks::manipulation::ArmEnv&>(*env), next.observation,
                          goal);
  dynamics.SetGoal(goal);

  dynamics.ResetStats();
  dynamics.Evaluate(actions, n, h, costs);
  CHECK(dynamics.Stats().model_calls == 1);
  CHECK(dynamics.Stats().candidates == n);
  CHECK(dynamics.Stats().transitions == n * h);
  for (double cost : costs) CHECK(std::isfinite(cost));
  CHECK(*std::max_element(costs.begin(), costs.end()) >
        *std::min_element(costs.begin(), costs.end()));  // the actions matter

  // One call per candidate gives the same costs (float tolerance).
  std::vector<double> single(1);
  for (int i = 0; i < n; ++i) {
    const std::span<const double> sequence(actions.data() + i * h * a, h * a);
    dynamics.Evaluate(sequence, 1, h, single);
    CHECK(single[0] == Approx(costs[i]).epsilon(1e-5).margin(1e-6));
  }
  CHECK(dynamics.Stats().model_calls == 1 + n);

  // The oneDNN predictor path computes what WorldModelImpl::Rollout computes.
  CHECK(dynamics.FastPath());
  auto sequences = torch::from_blob(const_cast<double*>(actions.data()), {n, h, a},
                                    torch::kFloat64)
                       .to(torch::kFloat32);
  torch::Tensor fast = dynamics.RolloutLatents(sequences);
  torch::Tensor reference;
  {
    torch::NoGradGuard no_grad;
    const auto options = model->options();
    auto observations = torch::tensor(std::vector<float>(obs.begin(), obs.end()))
                            .reshape({1, 1, options.obs_dim});
    auto second = torch::tensor(std::vector<float>(next.observation.begin(),
                                                   next.observation.end()))
                      .reshape({1, 1, options.obs_dim});
    auto context = model->Encode(torch::cat({observations, second}, 1));
    reference = model->Rollout(context.expand({n, options.context, options.latent_dim}), sequences);
  }
  CHECK(torch::allclose(fast, reference, 1e-4, 1e-5));

  // Wrong sizes and kinds are bad input.
  std::vector<double> wrong(3);
  CHECK_THROWS_AS(dynamics.Evaluate(actions, n + 1, h, costs), sim::BadInput);
  CHECK_THROWS_AS(dynamics.PushObservation(wrong), sim::BadInput);
  CHECK_THROWS_AS(dynamics.PushFrame(std::vector<uint8_t>(64 * 64 * 3)), sim::BadInput);
}

TEST_CASE("CEM in a jepa trained on random play of reach moves the gripper toward the goal",
          "[agents][planners][worldmodel][learning]") {
  torch::manual_seed(0);
  sim::EnvSettings settings;
  settings.max_episode_steps = 60;
  auto env = tasks::MakeEnv(kReach, settings);
  // Reward-free random play (the model never sees a reward).
  agents::RandomAgent random(env->ActionSpec());
  std::vector<sim::Episode> play;
  for (uint64_t seed = 0; seed < 40; ++seed) play.push_back(agents::RecordEpisode(*env, random, seed));
  const worldmodel::ModelOptions options = StateJepa(*env);
  worldmodel::ClipDataset data(play, options.context, options.horizon, torch::kCPU);
  auto model = worldmodel::MakeWorldModel(options);
  model->SetNormalisation(data.ObsMean(), data.ObsStd());
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  model->train();
  double last_loss = 0.0, copy_baseline = 0.0;
  for (int step = 0; step < 800; ++step) {
    worldmodel::ModelLoss loss = model->Loss(data.Batch(0, step, 64));
    optimizer.zero_grad();
    loss.total.backward();
    optimizer.step();
    model->AfterOptimizerStep();
    last_loss = loss.metrics["prediction"];
    copy_baseline = loss.metrics["copy_baseline"];
  }
  // It learned dynamics: predicting beats holding the last embedding.
  CHECK(last_loss < copy_baseline);

  // Plan toward the goal state on held-out seeds; compare with random play there.
  agents::LatentPlanSettings plan;
  plan.plan.planner = "cem";
  plan.plan.cem.samples = 128;
  plan.plan.cem.elites = 12;
  plan.plan.cem.iterations = 3;
  plan.plan.cem.horizon = 10;
  auto dynamics =
      std::make_unique<agents::WorldModelDynamics>(model, env->ActionSpec(), torch::kCPU, plan.cost);
  agents::LatentPlannerAgent planner(*env, agents::MakePlanner(plan.plan, env->ActionSpec()),
                                     std::move(dynamics), plan);
  double start_sum = 0.0, planned_sum = 0.0, random_sum = 0.0;
  int successes = 0;
  const int trials = 4;
  for (int k = 0; k < trials; ++k) {
    const uint64_t seed = 2000000000ULL + k;  // the test split's seeds
    env->Reset(seed);
    start_sum += GoalDistance(*env);
    const sim::Episode planned = agents::RecordEpisode(*env, planner, seed);
    planned_sum += GoalDistance(*env);
    successes += planned.AnyInfo("success") ? 1 : 0;
    agents::RecordEpisode(*env, random, seed);
    random_sum += GoalDistance(*env);
  }
  const double start = start_sum / trials, planned = planned_sum / trials,
               random_final = random_sum / trials;
  WARN("reach: start " << start << " m, CEM in the jepa " << planned << " m, random "
                       << random_final << " m; successes " << successes << "/" << trials
                       << "; prediction loss " << last_loss << " (copy baseline " << copy_baseline << "); "
                       << planner.PlanStats().at("plan_ms_per_action") << " ms/action");
  CHECK(planner.PlanStats().at("model_calls_per_action") == Approx(3.0));
  CHECK(planned < 0.6 * start);
  CHECK(planned < 0.5 * random_final);
}
