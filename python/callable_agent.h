// Policies given from Python: a callable observation -> action, or "random" / "expert", as
// an agents::Agent (the callable is called with the GIL held).
#pragma once

#include <memory>

#include <pybind11/pybind11.h>

#include "agents/agent.h"
#include "python/bind_env.h"

namespace darkmatter::python {

// The agent for `policy` on `env`: a callable, "random" or "expert". Throws BadInput for an
// unknown name or an expert the task lacks, py::type_error for anything else.
std::unique_ptr<agents::Agent> MakePolicy(PyEnv& env, pybind11::object policy);

}  // namespace darkmatter::python
