#include "python/bind_env.h"

#include <map>
#include <stdexcept>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "python/arrays.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "tasks/registry.h"

namespace darkmatter::python {

sim::EnvSettings ParseEnvSettings(const py::dict& settings) {
  sim::EnvSettings out;
  sim::SettingsBinder binder;
  sim::BindEnvSettings(&out, &binder);
  for (const auto& [key, value] : settings) {
    binder.Set("env." + py::cast<std::string>(key), py::cast<std::string>(value),
               "darkmatter.make");
  }
  return out;
}

py::dict SpecDict(const sim::BoxSpec& spec) {
  py::dict out;
  out["shape"] = py::tuple(py::cast(spec.shape));
  out["low"] = CopyArray<double>(spec.low, spec.shape);
  out["high"] = CopyArray<double>(spec.high, spec.shape);
  out["dtype"] = spec.dtype;
  return out;
}

BusyGuard::BusyGuard(std::atomic<bool>* busy) : busy_(busy) {
  if (busy->exchange(true)) {
    throw std::runtime_error("this env (or pool) is in use by another thread");
  }
}

PyEnv::PyEnv(const std::string& task_name, const py::dict& settings_dict)
    : task(task_name), settings(ParseEnvSettings(settings_dict)) {
  env = tasks::MakeEnv(task, settings);
  state = sim::WantsState(settings);
  pixels = sim::WantsPixels(settings);
}

py::object PyEnv::Observation(const sim::StepResult& result) const {
  py::object state_array, pixel_array;
  if (state) state_array = CopyArray<double>(result.observation, env->ObservationSpec().shape);
  if (pixels) pixel_array = CopyArray<uint8_t>(result.pixels, env->PixelSpec().shape);
  if (state && pixels) {
    py::dict both;
    both["state"] = state_array;
    both["pixels"] = pixel_array;
    return both;
  }
  return pixels ? pixel_array : state_array;
}

py::dict PyEnv::Info(const sim::StepResult& result) const {
  py::dict info;
  const auto& keys = env->InfoKeys();
  for (size_t k = 0; k < keys.size(); ++k) info[py::str(keys[k])] = result.info[k];
  return info;
}

py::dict StateDict(const sim::EnvState& state) {
  py::dict out;
  out["physics"] = CopyArray<double>(state.physics, {static_cast<int64_t>(state.physics.size())});
  out["rng"] = py::tuple(py::cast(std::vector<uint64_t>(state.rng.begin(), state.rng.end())));
  out["elapsed_steps"] = state.elapsed_steps;
  out["needs_reset"] = state.needs_reset;
  return out;
}

namespace {

// The inverse of StateDict, checked against the env (ValueError naming the key).
sim::EnvState StateFromDict(const sim::Env& env, const py::dict& dict) {
  for (const char* key : {"physics", "rng", "elapsed_steps", "needs_reset"}) {
    if (!dict.contains(key)) throw sim::BadInput(std::string("set_state: missing key '") + key + "'");
  }
  sim::EnvState state;
  const auto physics = RealArray(dict["physics"], {env.StateSize()}, "set_state: physics");
  state.physics.assign(physics.data(), physics.data() + physics.size());
  const auto rng = py::cast<std::vector<uint64_t>>(dict["rng"]);
  if (rng.size() != state.rng.size()) throw sim::BadInput("set_state: rng must hold 4 integers");
  std::copy(rng.begin(), rng.end(), state.rng.begin());
  state.elapsed_steps = py::cast<int64_t>(dict["elapsed_steps"]);
  state.needs_reset = py::cast<bool>(dict["needs_reset"]);
  return state;
}

// One registry entry with the specs of a default-settings env.
py::dict TaskEntry(const tasks::TaskInfo& task) {
  auto env = task.make({});
  py::dict out;
  out["name"] = task.name;
  out["backend"] = task.backend;
  out["description"] = task.description;
  out["observation"] = SpecDict(env->ObservationSpec());
  out["action"] = SpecDict(env->ActionSpec());
  out["info_keys"] = env->InfoKeys();
  out["principles"] = env->Principles();
  std::vector<std::string> truth;
  for (const auto& field : env->TruthFields()) truth.push_back(field.name);
  out["truth"] = truth;
  out["has_expert"] = env->HasExpert();
  out["frame_skip"] = env->FrameSkip();
  out["max_episode_steps"] = env->MaxEpisodeSteps();
  return out;
}

}  // namespace

void BindEnv(py::module_& m) {
  py::class_<PyEnv>(m, "Env", "One environment (use darkmatter.make)")
      .def(py::init<const std::string&, const py::dict&>(), py::arg("task"),
           py::arg("settings") = py::dict())
      .def_property_readonly("name", [](const PyEnv& e) { return e.env->Name(); })
      .def_property_readonly("backend", [](const PyEnv& e) { return std::string(e.env->Backend()); })
      .def_property_readonly("observes_state", [](const PyEnv& e) { return e.state; })
      .def_property_readonly("observes_pixels", [](const PyEnv& e) { return e.pixels; })
      .def_property_readonly("observation_spec", [](const PyEnv& e) { return SpecDict(e.env->ObservationSpec()); })
      .def_property_readonly("pixel_spec", [](const PyEnv& e) { return SpecDict(e.env->PixelSpec()); })
      .def_property_readonly("action_spec", [](const PyEnv& e) { return SpecDict(e.env->ActionSpec()); })
      .def_property_readonly("info_keys", [](const PyEnv& e) { return e.env->InfoKeys(); })
      .def_property_readonly("frame_skip", [](const PyEnv& e) { return e.env->FrameSkip(); })
      .def_property_readonly("max_episode_steps", [](const PyEnv& e) { return e.env->MaxEpisodeSteps(); })
      .def_property_readonly("principles", [](const PyEnv& e) { return e.env->Principles(); })
      .def_property_readonly("has_expert", [](const PyEnv& e) { return e.env->HasExpert(); })
      .def_property_readonly("settings", [](const PyEnv& e) {
        sim::EnvSettings copy = e.settings;
        sim::SettingsBinder binder;
        sim::BindEnvSettings(&copy, &binder);
        return binder.Values();
      })
      .def("reset", [](PyEnv& e, std::optional<uint64_t> seed) {
        BusyGuard guard(&e.busy);
        sim::StepResult result;
        {
          py::gil_scoped_release release;
          result = e.env->Reset(seed);
        }
        return py::make_tuple(e.Observation(result), e.Info(result));
      }, py::arg("seed") = py::none(), "Starts an episode -> (obs, info)")
      .def("step", [](PyEnv& e, py::handle action) {
        BusyGuard guard(&e.busy);
        const auto a = RealArray(action, e.env->ActionSpec().shape, "action");
        sim::StepResult result;
        {
          py::gil_scoped_release release;
          result = e.env->Step(std::span<const double>(a.data(), a.size()));
        }
        return py::make_tuple(e.Observation(result), result.reward, result.terminated,
                              result.truncated, e.Info(result));
      }, py::arg("action"), "One control step -> (obs, reward, terminated, truncated, info)")
      .def("render", [](PyEnv& e, int width, int height, std::string camera) {
        BusyGuard guard(&e.busy);
        sim::CameraSpec spec;
        spec.name = camera;
        sim::RenderOutput out;
        {
          py::gil_scoped_release release;
          e.env->Render(spec, width, height, &out);
        }
        return CopyArray<uint8_t>(out.rgb, {height, width, 3});
      }, py::arg("width"), py::arg("height"), py::arg("camera"),
         "RGB (H x W x 3) uint8 of the current state from a scene camera ('' = free camera)")
      .def("get_state", [](const PyEnv& e) { return StateDict(e.env->GetState()); })
      .def("set_state", [](PyEnv& e, const py::dict& state) {
        BusyGuard guard(&e.busy);
        e.env->SetState(StateFromDict(*e.env, state));
      }, py::arg("state"))
      .def("truth", [](const PyEnv& e) {
        const auto& fields = e.env->TruthFields();
        int64_t size = 0;
        for (const auto& f : fields) {
          int64_t n = 1;
          for (int64_t d : f.shape) n *= d;
          size += n;
        }
        std::vector<double> values(size);
        e.env->WriteTruth(values);
        py::dict out;
        int64_t offset = 0;
        for (const auto& f : fields) {
          int64_t n = 1;
          for (int64_t d : f.shape) n *= d;
          out[py::str(f.name)] = CopyArray<double>(std::span<const double>(values).subspan(offset, n), f.shape);
          offset += n;
        }
        return out;
      }, "Privileged ground truth of the current state {field: array}")
      .def("labels", [](const PyEnv& e) {
        std::map<std::string, double> scalars;
        std::map<std::string, std::string> strings;
        e.env->EpisodeLabels(&scalars, &strings);
        return py::make_tuple(scalars, strings);
      }, "Episode labels (scalars, strings), valid once the episode has ended")
      .def("expert_action", [](PyEnv& e) {
        BusyGuard guard(&e.busy);
        std::vector<double> action(e.env->ActionSpec().Size());
        e.env->ExpertAction(action);
        return CopyArray<double>(action, e.env->ActionSpec().shape);
      }, "The scripted expert's action for the current state");

  m.def("task_entries", [] {
    py::list out;
    for (const auto& task : tasks::AllTasks()) out.append(TaskEntry(task));
    return out;
  }, "Every registered task with its backend, specs, info keys, principles and truth fields");
  m.def("env_setting_help", [] {
    sim::EnvSettings settings;
    sim::SettingsBinder binder;
    sim::BindEnvSettings(&settings, &binder);
    return binder.Describe();
  }, "One line per env setting: key = default  # help");
}

}  // namespace darkmatter::python
