// darkmatter.EnvPool: batched envs with numpy views into the C++ pool's buffers.
#pragma once

#include <pybind11/pybind11.h>

namespace darkmatter::python {

// Registers EnvPool on `m`.
void BindPool(pybind11::module_& m);

}  // namespace darkmatter::python
