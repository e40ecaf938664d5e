// darkmatter.EnvPool: sim::EnvPool with numpy views into its own buffers (no copy per step),
// the GIL released while the workers step.
#include "python/bind_pool.h"

#include <atomic>
#include <memory>
#include <optional>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "agents/random_agent.h"
#include "python/arrays.h"
#include "python/bind_env.h"
#include "sim/env_pool.h"
#include "sim/error.h"
#include "tasks/registry.h"

namespace darkmatter::python {
namespace {

struct PyPool {
  std::string task;
  sim::EnvSettings settings;
  std::unique_ptr<sim::EnvPool> pool;
  bool state = true, pixels = false;
  std::vector<int64_t> pixel_shape;  // (H, W, 3)
  int in_flight = 0;                 // steps sent and not yet received
  std::atomic<bool> busy{false};

  PyPool(const std::string& task_name, int num_envs, int threads, const py::dict& settings_dict)
      : task(task_name), settings(ParseEnvSettings(settings_dict)) {
    state = sim::WantsState(settings);
    pixels = sim::WantsPixels(settings);
    pool = std::make_unique<sim::EnvPool>([&] { return tasks::MakeEnv(task, settings); },
                                          num_envs, threads);
    pixel_shape = pool->GetEnv(0).PixelSpec().shape;
  }

  // Throws RuntimeError while sent steps have not all been received.
  void CheckNothingInFlight(const char* what) const {
    if (in_flight > 0) {
      throw std::runtime_error(std::string(what) + ": " + std::to_string(in_flight) +
                               " sent steps not received yet (call recv first)");
    }
  }

  // The numpy face of a batch: views into the pool's buffers, owned by `self`.
  py::tuple Batch(const sim::BatchView& b, py::handle self, bool with_reward) const {
    const int64_t n = b.Size();
    py::object obs;
    py::object state_view, pixel_view;
    if (state) state_view = ReadOnlyView(b.observations.data(), {n, b.obs_dim}, self);
    if (pixels) {
      std::vector<int64_t> shape = {n};
      shape.insert(shape.end(), pixel_shape.begin(), pixel_shape.end());
      pixel_view = ReadOnlyView(b.pixels.data(), shape, self);
    }
    if (state && pixels) {
      py::dict both;
      both["state"] = state_view;
      both["pixels"] = pixel_view;
      obs = both;
    } else {
      obs = pixels ? pixel_view : state_view;
    }
    py::dict info;
    info["env_id"] = ReadOnlyView(b.env_ids.data(), {n}, self);
    const auto& keys = pool->InfoKeys();
    for (size_t k = 0; k < keys.size(); ++k) {
      info[py::str(keys[k])] = ReadOnlyView(b.infos.data() + k, {n}, self,
                                            {static_cast<int64_t>(b.info_dim * sizeof(double))});
    }
    if (!with_reward) return py::make_tuple(obs, info);
    auto flags = [&](std::span<const uint8_t> values) {
      return ReadOnlyView(values.data(), {n}, self).attr("view")("bool");
    };
    return py::make_tuple(obs, ReadOnlyView(b.rewards.data(), {n}, self), flags(b.terminated),
                          flags(b.truncated), info);
  }
};

// Env steps per second of the C++ pool stepped by a C++ loop with uniform random actions
// (as `darkmatter bench pool`): the reference the Python pool is measured against.
double CppPoolStepsPerSecond(const std::string& task, int num_envs, int threads,
                             const py::dict& settings_dict, double seconds) {
  const sim::EnvSettings settings = ParseEnvSettings(settings_dict);
  py::gil_scoped_release release;
  sim::EnvPool pool([&] { return tasks::MakeEnv(task, settings); }, num_envs, threads);
  return agents::RandomPoolStepsPerSecond(pool, seconds);
}

}  // namespace

void BindPool(py::module_& m) {
  m.def("cpp_pool_steps_per_second", &CppPoolStepsPerSecond, py::arg("task"),
        py::arg("num_envs"), py::arg("threads"), py::arg("settings"), py::arg("seconds"),
        "Env steps/s of the C++ pool in a C++ loop with random actions (bench reference)");
  py::class_<PyPool>(m, "EnvPool", "N envs stepped by T threads (use darkmatter.EnvPool)")
      .def(py::init<const std::string&, int, int, const py::dict&>(), py::arg("task"),
           py::arg("num_envs"), py::arg("threads") = 0, py::arg("settings") = py::dict())
      .def_property_readonly("num_envs", [](const PyPool& p) { return p.pool->NumEnvs(); })
      .def_property_readonly("num_threads", [](const PyPool& p) { return p.pool->NumThreads(); })
      .def_property_readonly("observation_spec", [](const PyPool& p) { return SpecDict(p.pool->ObservationSpec()); })
      .def_property_readonly("pixel_spec", [](PyPool& p) { return SpecDict(p.pool->GetEnv(0).PixelSpec()); })
      .def_property_readonly("action_spec", [](const PyPool& p) { return SpecDict(p.pool->ActionSpec()); })
      .def_property_readonly("info_keys", [](const PyPool& p) { return p.pool->InfoKeys(); })
      .def_property_readonly("observes_state", [](const PyPool& p) { return p.state; })
      .def_property_readonly("observes_pixels", [](const PyPool& p) { return p.pixels; })
      .def("reset", [](py::object self, uint64_t seed) {
        PyPool& p = self.cast<PyPool&>();
        BusyGuard guard(&p.busy);
        p.CheckNothingInFlight("reset");
        sim::BatchView batch;
        {
          py::gil_scoped_release release;
          batch = p.pool->Reset(seed);
        }
        return p.Batch(batch, self, false);
      }, py::arg("seed"), "Resets env i with seed + i -> (obs, info); views, valid until the next call")
      .def("step", [](py::object self, py::handle actions) {
        PyPool& p = self.cast<PyPool&>();
        BusyGuard guard(&p.busy);
        p.CheckNothingInFlight("step");
        std::vector<int64_t> shape = {p.pool->NumEnvs()};
        for (int64_t d : p.pool->ActionSpec().shape) shape.push_back(d);
        const auto a = RealArray(actions, shape, "actions");
        sim::BatchView batch;
        {
          py::gil_scoped_release release;
          batch = p.pool->Step(std::span<const double>(a.data(), a.size()));
        }
        return p.Batch(batch, self, true);
      }, py::arg("actions"), "Steps every env (N x action shape) -> (obs, reward, terminated, truncated, info)")
      .def("send", [](PyPool& p, py::handle actions, std::optional<std::vector<int>> env_ids) {
        BusyGuard guard(&p.busy);
        if (!env_ids) {
          env_ids.emplace(p.pool->NumEnvs());
          for (int i = 0; i < p.pool->NumEnvs(); ++i) (*env_ids)[i] = i;
        }
        std::vector<int64_t> shape = {static_cast<int64_t>(env_ids->size())};
        for (int64_t d : p.pool->ActionSpec().shape) shape.push_back(d);
        const auto a = RealArray(actions, shape, "actions");
        p.pool->Send(std::span<const double>(a.data(), a.size()), *env_ids);
        p.in_flight += static_cast<int>(env_ids->size());
      }, py::arg("actions"), py::arg("env_ids") = py::none(),
         "Queues one step for each env in env_ids (all when None)")
      .def("recv", [](py::object self, std::optional<int> batch_size) {
        PyPool& p = self.cast<PyPool&>();
        BusyGuard guard(&p.busy);
        const int size = batch_size.value_or(p.in_flight);
        if (size < 1 || size > p.in_flight) {
          throw sim::BadInput("recv: batch_size " + std::to_string(size) + " but " +
                              std::to_string(p.in_flight) + " steps are in flight (send first)");
        }
        sim::BatchView batch;
        {
          py::gil_scoped_release release;
          batch = p.pool->Recv(size);
        }
        p.in_flight -= size;
        return p.Batch(batch, self, true);
      }, py::arg("batch_size") = py::none(),
         "Waits for batch_size queued steps -> (obs, reward, terminated, truncated, info); rows in completion order, info['env_id'] names them");
}

}  // namespace darkmatter::python
