// darkmatter.WorldModel: a C++ world model (a run directory, checkpoint.pt or untrained:NAME)
// callable from Python, so that its surprise and features can go through the protocols'
// Python path (and any Python code). The one binding translation unit that includes torch.
#include "python/bind_model.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <torch/torch.h>

#include "eval/model_source.h"
#include "python/arrays.h"
#include "sim/error.h"
#include "worldmodel/clips.h"
#include "worldmodel/device.h"

namespace darkmatter::python {
namespace {

struct PyWorldModel {
  eval::ModelSource source;
  int64_t obs_dim = 0, act_dim = 0, frame_height = 0, frame_width = 0;
  bool pixels = false;

  PyWorldModel(const std::string& spec, const std::string& data, const std::string& input,
               uint64_t seed, const std::string& device) {
    const eval::DataFile file = eval::LoadDataFile(data, "data");
    source = eval::ResolveModel(spec, file, input, seed, worldmodel::ResolveDevice(device));
    const sim::Episode& e = file.episodes.front();
    obs_dim = e.obs_dim;
    act_dim = e.act_dim;
    frame_height = e.frame_height;
    frame_width = e.frame_width;
    pixels = source.Options().input == "pixels";
  }

  // An episode holding the clip (frames or observations) and actions, as the file would.
  sim::Episode Clip(py::handle x, py::handle actions) const {
    py::array a = py::array::ensure(actions);
    if (!a || a.ndim() != 2) throw sim::BadInput("actions: expected a 2-D array (T, act_dim)");
    const int64_t steps = a.shape(0);
    sim::Episode e;
    e.act_dim = act_dim;
    const auto act = RealArray(a, {steps, act_dim}, "actions");
    e.actions.assign(act.data(), act.data() + act.size());
    e.rewards.assign(steps, 0.0);
    if (pixels) {
      py::array f = py::array::ensure(x);
      if (!f || f.dtype().kind() != 'u' || f.itemsize() != 1) {
        throw py::type_error("frames: expected uint8 (T+1, H, W, 3)");
      }
      std::vector<int64_t> shape(f.shape(), f.shape() + f.ndim());
      const std::vector<int64_t> want = {steps + 1, frame_height, frame_width, 3};
      if (shape != want) {
        throw sim::BadInput("frames (T+1 for " + std::to_string(steps) + " actions): expected shape " + ShapeText(want) + ", got " + ShapeText(shape));
      }
      const auto frames = py::array_t<uint8_t, py::array::c_style>::ensure(f);
      e.frames.assign(frames.data(), frames.data() + frames.size());
      e.frame_height = frame_height;
      e.frame_width = frame_width;
    } else {
      const auto obs = RealArray(x, {steps + 1, obs_dim},
                                 "observations (T+1 rows for " + std::to_string(steps) + " actions)");
      e.observations.assign(obs.data(), obs.data() + obs.size());
      e.obs_dim = obs_dim;
    }
    return e;
  }
};

}  // namespace

void BindModel(py::module_& m) {
  py::class_<PyWorldModel>(m, "WorldModel", "A C++ world model for Python code")
      .def(py::init<const std::string&, const std::string&, const std::string&, uint64_t,
                    const std::string&>(),
           py::arg("spec"), py::arg("data"), py::arg("input") = "", py::arg("seed") = 0,
           py::arg("device") = "cpu")
      .def_property_readonly("name", [](const PyWorldModel& w) { return w.source.name; })
      .def_property_readonly("model", [](const PyWorldModel& w) { return w.source.model; })
      .def_property_readonly("input", [](const PyWorldModel& w) { return w.source.Options().input; })
      .def_property_readonly("context", [](const PyWorldModel& w) {
        return w.source.Options().context * w.source.Options().skip;
      }, "First frame with a prediction (frames before it have surprise 0)")
      .def("describe", [](const PyWorldModel& w) { return w.source.Describe().dump(); })
      .def("manual_seed", [](PyWorldModel&, uint64_t seed) { torch::manual_seed(seed); },
           "Seeds torch (stochastic surprise draws from it)")
      .def("surprise", [](PyWorldModel& w, py::handle x, py::handle actions) {
        const sim::Episode e = w.Clip(x, actions);
        std::vector<double> values;
        {
          py::gil_scoped_release release;
          torch::NoGradGuard no_grad;
          const auto input = eval::ModelInput(w.source, e);
          const auto s = w.source.net->Surprise(input.observations, input.actions)
                             .squeeze(0).to(torch::kCPU, torch::kFloat64).contiguous();
          values.assign(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
        }
        return CopyArray<double>(values, {static_cast<int64_t>(values.size())});
      }, py::arg("frames"), py::arg("actions"),
         "Per-frame surprise (T+1) of a clip: frames (T+1, H, W, 3) uint8 or observations")
      .def("encode", [](PyWorldModel& w, py::handle x, py::handle actions) {
        const sim::Episode e = w.Clip(x, actions);
        std::vector<float> values;
        int64_t rows = 0, dim = 0;
        {
          py::gil_scoped_release release;
          const auto z = eval::EncodeEpisode(w.source, e).contiguous();
          rows = z.size(0);
          dim = z.numel() / std::max<int64_t>(rows, 1);
          values.assign(z.data_ptr<float>(), z.data_ptr<float>() + z.numel());
        }
        return CopyArray<float>(values, {rows, dim});
      }, py::arg("frames"), py::arg("actions"), "Online features of every frame (T+1, D) float32");
}

}  // namespace darkmatter::python
