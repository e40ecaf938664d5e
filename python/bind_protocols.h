// darkmatter.protocols: the evaluation protocols called with Python callables.
#pragma once

#include <pybind11/pybind11.h>

namespace darkmatter::python {

namespace py = pybind11;

// Registers voe (and the other protocols) on `m`.
void BindProtocols(py::module_& m);

}  // namespace darkmatter::python
