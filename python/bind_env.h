// The single env as Python sees it (darkmatter.make): settings from keyword arguments,
// Gymnasium-style reset/step returning numpy arrays, specs, render, state and truth.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <pybind11/pybind11.h>

#include "sim/env.h"

namespace darkmatter::python {

namespace py = pybind11;

// Env settings from {key: text} (keys without the "env." prefix); unknown keys and bad
// values are sim::BadInput naming the key and the value (source "darkmatter.make").
sim::EnvSettings ParseEnvSettings(const py::dict& settings);

// {"shape": tuple, "low": array, "high": array, "dtype": str} of a box spec.
py::dict SpecDict(const sim::BoxSpec& spec);

// The env's state as {"physics": array, "rng": (4 ints), "elapsed_steps", "needs_reset"}.
py::dict StateDict(const sim::EnvState& state);

// Marks an object busy for the duration of a call; a second thread calling at the same time
// gets RuntimeError instead of racing on the same env.
class BusyGuard {
 public:
  explicit BusyGuard(std::atomic<bool>* busy);
  ~BusyGuard() { busy_->store(false); }

 private:
  std::atomic<bool>* busy_;
};

// One env and what its Python face needs.
struct PyEnv {
  std::string task;
  sim::EnvSettings settings;
  std::unique_ptr<sim::Env> env;
  bool state = true, pixels = false;  // what an observation holds
  std::atomic<bool> busy{false};

  PyEnv(const std::string& task, const py::dict& settings);
  // The observation of a result: state array, pixel array, or {"state", "pixels"}.
  py::object Observation(const sim::StepResult& result) const;
  // {info key: value} of a result.
  py::dict Info(const sim::StepResult& result) const;
};

// Registers Env, tasks() and the spec helpers on `m`.
void BindEnv(py::module_& m);

}  // namespace darkmatter::python
