// Policies given from Python: a callable observation -> action, "random" / "expert", or a
// planner ("cem" / "mppi") over the true simulator or a Python cost or dynamics function, as
// an agents::Agent (callables are called with the GIL held).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>

#include "agents/agent.h"
#include "agents/planner_agent.h"
#include "python/bind_env.h"
#include "sim/settings.h"

namespace darkmatter::python {

// The agent for `policy` on `env`: a callable, "random" or "expert". Throws BadInput for an
// unknown name or an expert the task lacks, py::type_error for anything else.
std::unique_ptr<agents::Agent> MakePolicy(PyEnv& env, pybind11::object policy);

// The agent of protocols.plan: MakePolicy's, or for "cem" / "mppi" a PlannerAgent over
// `cost_fn`, `dynamics_fn` (python/callable_dynamics.h) or, both None, the true simulator.
// Binds the planner's settings `*plan` (which must outlive `binder`) as plan.* on `binder`
// and applies `planner_overrides` ("plan.KEY=VALUE") to them. Throws BadInput for a function
// without a planner, both functions at once, or planner settings without a planner.
std::unique_ptr<agents::Agent> MakePlanningPolicy(PyEnv& env, pybind11::object policy,
                                                  pybind11::object cost_fn,
                                                  pybind11::object dynamics_fn,
                                                  const std::vector<std::string>& planner_overrides,
                                                  agents::PlanSettings* plan,
                                                  sim::SettingsBinder* binder);

}  // namespace darkmatter::python
