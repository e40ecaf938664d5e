#include "python/callable_dynamics.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <pybind11/numpy.h>

#include "python/arrays.h"
#include "sim/error.h"

namespace darkmatter::python {
namespace {

// The (N, H, act_dim) candidates of an Evaluate call, checked against the action size.
void CheckCandidates(std::span<const double> actions, int num_candidates, int horizon,
                     int64_t act_dim, std::span<double> costs) {
  if (num_candidates < 1 || horizon < 1 ||
      actions.size() != static_cast<size_t>(num_candidates) * horizon * act_dim ||
      costs.size() != static_cast<size_t>(num_candidates)) {
    throw sim::BadInput("planner: " + std::to_string(actions.size()) + " action values and " +
                        std::to_string(costs.size()) + " costs for " +
                        std::to_string(num_candidates) + " candidates of " +
                        std::to_string(horizon) + " steps");
  }
}

// A Python cost function over whole candidate sequences.
class CostFnDynamics final : public agents::Dynamics {
 public:
  CostFnDynamics(PyEnv& env, py::object fn)
      : env_(env), fn_(std::move(fn)), spec_(env.env->ActionSpec()) {
    camera_.name = env.settings.camera;
  }

  const sim::BoxSpec& ActionSpec() const override { return spec_; }

  void StartFrom(const sim::Env& live, std::span<const double> observation) override {
    observation_.assign(observation.begin(), observation.end());
    live.GetState(&state_);
    if (env_.pixels) {
      env_.env->Render(camera_, env_.settings.frame_width, env_.settings.frame_height, &frame_);
    }
  }

  void Evaluate(std::span<const double> actions, int num_candidates, int horizon,
                std::span<double> costs) override {
    const int64_t act_dim = spec_.Size();
    CheckCandidates(actions, num_candidates, horizon, act_dim, costs);
    {
      py::gil_scoped_acquire gil;
      sim::StepResult now;
      now.observation = observation_;
      now.pixels = frame_.rgb;
      py::object result = fn_(env_.Observation(now),
                              CopyArray<double>(actions, {num_candidates, horizon, act_dim}),
                              StateDict(state_));
      const auto values = RealArray(result, {num_candidates}, "cost_fn result");
      std::copy_n(values.data(), num_candidates, costs.begin());
    }
    for (int i = 0; i < num_candidates; ++i) {
      if (std::isnan(costs[i])) {
        throw sim::BadInput("cost_fn result: cost of candidate " + std::to_string(i) + " is NaN");
      }
    }
    stats_.model_calls += 1;
    stats_.candidates += num_candidates;
    stats_.transitions += static_cast<int64_t>(num_candidates) * horizon;
  }

 private:
  PyEnv& env_;
  py::object fn_;
  sim::BoxSpec spec_;
  sim::CameraSpec camera_;
  std::vector<double> observation_;
  sim::EnvState state_;
  sim::RenderOutput frame_;
};

// A Python one-step model over batches of state observations.
class StepFnDynamics final : public agents::Dynamics {
 public:
  StepFnDynamics(PyEnv& env, py::object fn)
      : fn_(std::move(fn)), spec_(env.env->ActionSpec()), obs_dim_(env.env->ObservationSpec().Size()) {
    if (!env.state) {
      throw sim::BadInput("dynamics_fn: env.observation=" + env.settings.observation +
                          " has no state vector to predict; use env.observation=state (or "
                          "state+pixels), or a cost_fn, which sees frames");
    }
  }

  const sim::BoxSpec& ActionSpec() const override { return spec_; }

  void StartFrom(const sim::Env&, std::span<const double> observation) override {
    start_.assign(observation.begin(), observation.end());
  }

  void Evaluate(std::span<const double> actions, int num_candidates, int horizon,
                std::span<double> costs) override {
    const int64_t n = num_candidates, act_dim = spec_.Size();
    CheckCandidates(actions, num_candidates, horizon, act_dim, costs);
    std::vector<double> step_actions(n * act_dim);
    std::vector<char> alive(n, 1);
    std::fill(costs.begin(), costs.end(), 0.0);
    int64_t transitions = 0;
    py::gil_scoped_acquire gil;
    py::array_t<double> observations({n, obs_dim_});
    for (int64_t i = 0; i < n; ++i) {
      std::copy(start_.begin(), start_.end(), observations.mutable_data() + i * obs_dim_);
    }
    for (int t = 0; t < horizon; ++t) {
      for (int64_t i = 0; i < n; ++i) {
        std::copy_n(actions.data() + (i * horizon + t) * act_dim, act_dim,
                    step_actions.data() + i * act_dim);
      }
      const std::string at = "dynamics_fn result at step " + std::to_string(t);
      py::object result = fn_(observations, CopyArray<double>(step_actions, {n, act_dim}));
      if (!py::isinstance<py::tuple>(result) || (py::len(result) != 2 && py::len(result) != 3)) {
        throw sim::BadInput(at + ": expected (next_observations, rewards) or "
                            "(next_observations, rewards, terminated)");
      }
      const py::tuple parts = result;
      const auto next = RealArray(parts[0], {n, obs_dim_}, at + ": next_observations");
      const auto rewards = RealArray(parts[1], {n}, at + ": rewards");
      const bool has_ended = parts.size() == 3;  // a default array_t is empty, not null
      py::array_t<bool, py::array::c_style> ended;
      if (has_ended) ended = FlagArray(parts[2], {n}, at + ": terminated");
      for (int64_t i = 0; i < n; ++i) {
        if (!alive[i]) continue;
        if (std::isnan(rewards.data()[i])) {
          throw sim::BadInput(at + ": reward of candidate " + std::to_string(i) + " is NaN");
        }
        costs[i] -= rewards.data()[i];
        ++transitions;
        if (has_ended && ended.data()[i]) alive[i] = 0;
      }
      observations = py::array_t<double>({n, obs_dim_});
      std::copy_n(next.data(), n * obs_dim_, observations.mutable_data());
    }
    stats_.model_calls += 1;
    stats_.candidates += num_candidates;
    stats_.transitions += transitions;
  }

 private:
  py::object fn_;
  sim::BoxSpec spec_;
  int64_t obs_dim_ = 0;
  std::vector<double> start_;
};

}  // namespace

std::unique_ptr<agents::Dynamics> MakeCostFnDynamics(PyEnv& env, py::object cost_fn) {
  if (!PyCallable_Check(cost_fn.ptr())) throw py::type_error("cost_fn: expected a callable");
  return std::make_unique<CostFnDynamics>(env, std::move(cost_fn));
}

std::unique_ptr<agents::Dynamics> MakeStepFnDynamics(PyEnv& env, py::object dynamics_fn) {
  if (!PyCallable_Check(dynamics_fn.ptr())) {
    throw py::type_error("dynamics_fn: expected a callable");
  }
  return std::make_unique<StepFnDynamics>(env, std::move(dynamics_fn));
}

}  // namespace darkmatter::python
