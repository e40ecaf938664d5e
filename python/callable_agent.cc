#include "python/callable_agent.h"

#include <pybind11/numpy.h>

#include "agents/random_agent.h"
#include "python/arrays.h"
#include "python/callable_dynamics.h"
#include "sim/error.h"

namespace darkmatter::python {
namespace {

// A Python policy as an agent: policy(observation) -> action, called with the GIL held.
class CallableAgent : public agents::Agent {
 public:
  CallableAgent(py::object policy, const sim::BoxSpec& obs, const sim::BoxSpec& act)
      : policy_(std::move(policy)), obs_shape_(obs.shape), act_shape_(act.shape) {}
  void Reset(uint64_t, int) override {}
  void Act(std::span<const double> observations, std::span<double> actions) override {
    py::gil_scoped_acquire gil;
    py::object action = policy_(CopyArray<double>(observations, obs_shape_));
    const auto a = RealArray(action, act_shape_, "policy(observation) result");
    std::copy_n(a.data(), actions.size(), actions.begin());
  }

 private:
  py::object policy_;
  std::vector<int64_t> obs_shape_, act_shape_;
};

// The scripted expert of the env's task as an agent.
class ExpertPolicy : public agents::Agent {
 public:
  explicit ExpertPolicy(sim::Env* env) : env_(env) {}
  void Reset(uint64_t, int) override {}
  void Act(std::span<const double>, std::span<double> actions) override {
    env_->ExpertAction(actions);
  }

 private:
  sim::Env* env_;
};

}  // namespace

std::unique_ptr<agents::Agent> MakePolicy(PyEnv& env, py::object policy) {
  if (py::isinstance<py::str>(policy)) {
    const std::string name = py::cast<std::string>(policy);
    if (name == "random") return std::make_unique<agents::RandomAgent>(env.env->ActionSpec());
    if (name == "expert") {
      if (!env.env->HasExpert()) {
        throw sim::BadInput("policy 'expert': " + env.env->Name() + " has no scripted expert");
      }
      return std::make_unique<ExpertPolicy>(env.env.get());
    }
    throw sim::BadInput("policy '" + name + "': expected 'random', 'expert' or a callable");
  }
  if (!PyCallable_Check(policy.ptr())) {
    throw py::type_error("policy: expected a callable, 'random' or 'expert'");
  }
  return std::make_unique<CallableAgent>(policy, env.env->ObservationSpec(),
                                         env.env->ActionSpec());
}

std::unique_ptr<agents::Agent> MakePlanningPolicy(PyEnv& env, py::object policy,
                                                  py::object cost_fn, py::object dynamics_fn,
                                                  const std::vector<std::string>& planner_overrides,
                                                  agents::PlanSettings* plan,
                                                  sim::SettingsBinder* binder) {
  const std::string name =
      py::isinstance<py::str>(policy) ? py::cast<std::string>(policy) : std::string();
  const bool planner = name == "cem" || name == "mppi";
  if (!planner) {
    if (!cost_fn.is_none() || !dynamics_fn.is_none()) {
      throw sim::BadInput("cost_fn and dynamics_fn are scored by a planner: give policy 'cem' "
                          "or 'mppi', not " + (name.empty() ? "a callable" : "'" + name + "'"));
    }
    if (!planner_overrides.empty()) {
      throw sim::BadInput("planner_settings (" + planner_overrides.front() +
                          ") need policy 'cem' or 'mppi'");
    }
    return MakePolicy(env, policy);
  }
  if (!cost_fn.is_none() && !dynamics_fn.is_none()) {
    throw sim::BadInput("give a cost_fn or a dynamics_fn, not both");
  }
  plan->planner = name;
  agents::BindPlanSettings(plan, binder);
  binder->ApplyOverrides(planner_overrides);
  if (cost_fn.is_none() && dynamics_fn.is_none()) {
    return agents::MakeOraclePlannerAgent(*env.env, env.task, env.settings, *plan);
  }
  std::unique_ptr<agents::Dynamics> dynamics = cost_fn.is_none()
                                                   ? MakeStepFnDynamics(env, dynamics_fn)
                                                   : MakeCostFnDynamics(env, cost_fn);
  return std::make_unique<agents::PlannerAgent>(
      *env.env, agents::MakePlanner(*plan, env.env->ActionSpec()), std::move(dynamics));
}

}  // namespace darkmatter::python
