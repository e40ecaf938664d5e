// Planner dynamics given from Python (darkmatter.protocols.plan with cost_fn or dynamics_fn):
// our CEM and MPPI sample and refit action sequences in C++, and the Python callable scores
// them. The callable is called with the GIL held; everything else runs without it.
#pragma once

#include <memory>

#include <pybind11/pybind11.h>

#include "agents/dynamics.h"
#include "python/bind_env.h"

namespace darkmatter::python {

// cost_fn(observation, actions, state) -> costs (N), lower is better: `observation` is what
// env.step would return now (state vector, frame, or {"state", "pixels"}), `actions` the
// candidate sequences (N, H, act_dim) float64, `state` the live env's get_state() dict.
std::unique_ptr<agents::Dynamics> MakeCostFnDynamics(PyEnv& env, pybind11::object cost_fn);

// dynamics_fn(observations (N, D), actions (N, act_dim)) -> (next_observations (N, D),
// rewards (N)) or (..., terminated (N)), rolled over the horizon in C++ from the current
// state observation; cost = -(sum of rewards) until a row terminates. Needs an env that
// observes state (sim::BadInput naming env.observation otherwise).
std::unique_ptr<agents::Dynamics> MakeStepFnDynamics(PyEnv& env, pybind11::object dynamics_fn);

}  // namespace darkmatter::python
