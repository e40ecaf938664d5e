// darkmatter.WorldModel: the C++ world models from Python (torch lives only in bind_model.cc).
#pragma once

#include <pybind11/pybind11.h>

namespace darkmatter::python {

// Registers WorldModel on `m`.
void BindModel(pybind11::module_& m);

}  // namespace darkmatter::python
