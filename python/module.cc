// The extension module darkmatter._core: envs, EnvPool, episode files, the protocols with
// Python callables and the C++ world models. sim::BadInput becomes ValueError (the message
// names the key, value or shape); nothing crashes the interpreter.
#include <pybind11/pybind11.h>

#include "python/arrays.h"
#include "python/bind_env.h"
#include "python/bind_episodes.h"
#include "python/bind_model.h"
#include "python/bind_pool.h"
#include "python/bind_protocols.h"
#include "sim/error.h"
#include "sim/hash.h"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "darkmatter's C++ core (use the darkmatter package)";
  m.attr("__version__") = DARKMATTER_VERSION;
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const darkmatter::sim::BadInput& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  py::class_<darkmatter::sim::Hasher>(m, "Hasher", "64-bit FNV-1a over raw bytes (sim/hash.h)")
      .def(py::init<>())
      .def("add", [](darkmatter::sim::Hasher& h, py::buffer data) {
        const py::buffer_info info = data.request();
        if (!PyBuffer_IsContiguous(info.view(), 'C')) {
          throw darkmatter::sim::BadInput("Hasher.add: the buffer must be C-contiguous");
        }
        h.Add(info.ptr, static_cast<size_t>(info.size * info.itemsize));
      }, py::arg("data"), "Mixes the buffer's bytes into the hash")
      .def_property_readonly("value", &darkmatter::sim::Hasher::Value);
  darkmatter::python::BindEnv(m);
  darkmatter::python::BindPool(m);
  darkmatter::python::BindEpisodes(m);
  darkmatter::python::BindProtocols(m);
  darkmatter::python::BindModel(m);
}
