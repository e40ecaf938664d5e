#include "python/episode_arrays.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "python/arrays.h"
#include "sim/error.h"

namespace darkmatter::python {

py::array FramesArray(const sim::Episode& e) {
  return CopyArray<uint8_t>(e.frames, {e.Length() + 1, e.frame_height, e.frame_width, 3});
}

py::dict EpisodeDict(const sim::Episode& e) {
  const int64_t rows = e.Length() + 1, steps = e.Length();
  py::dict d;
  d["task"] = e.task;
  d["seed"] = e.seed;
  d["observations"] = CopyArray<double>(e.observations, {rows, e.obs_dim});
  d["actions"] = CopyArray<double>(e.actions, {steps, e.act_dim});
  d["rewards"] = CopyArray<double>(e.rewards, {steps});
  d["terminations"] = CopyArray<uint8_t>(e.terminations, {steps}).attr("astype")("bool");
  d["truncations"] = CopyArray<uint8_t>(e.truncations, {steps}).attr("astype")("bool");
  d["states"] = CopyArray<double>(e.states, {rows, e.state_dim});
  d["rng_states"] = CopyArray<uint64_t>(e.rng_states, {rows, 4});
  d["elapsed_steps"] = CopyArray<int64_t>(e.elapsed_steps, {rows});
  d["info_keys"] = e.info_keys;
  d["infos"] = CopyArray<double>(e.infos, {steps, static_cast<int64_t>(e.info_keys.size())});
  if (!e.frames.empty()) d["frames"] = FramesArray(e);
  py::dict truth;
  const int64_t truth_dim = e.TruthDim();
  int64_t offset = 0;
  for (size_t k = 0; k < e.truth_names.size(); ++k) {
    int64_t size = 1;
    std::vector<int64_t> shape = {rows};
    for (int64_t dim : e.truth_shapes[k]) {
      size *= dim;
      shape.push_back(dim);
    }
    py::array_t<double> field(shape);
    double* out = field.mutable_data();
    for (int64_t t = 0; t < rows; ++t) {
      std::copy_n(e.truth.begin() + t * truth_dim + offset, size, out + t * size);
    }
    truth[py::str(e.truth_names[k])] = field;
    offset += size;
  }
  d["truth"] = truth;
  d["scalars"] = e.scalars;
  d["strings"] = e.strings;
  return d;
}

namespace {

// A 2-D float array under `key` with `rows` rows (cols < 0: any), as a flat vector.
std::vector<double> Rows(const py::dict& d, const char* key, int64_t rows, int64_t* cols) {
  py::array a = py::array::ensure(d[key]);
  if (!a || a.ndim() != 2) {
    throw sim::BadInput(std::string("episode['") + key + "']: expected a 2-D array");
  }
  if (*cols < 0) *cols = a.shape(1);
  const auto values = RealArray(a, {rows, *cols}, std::string("episode['") + key + "']");
  return std::vector<double>(values.data(), values.data() + values.size());
}

std::vector<uint8_t> Flags(const py::dict& d, const char* key, int64_t steps) {
  if (!d.contains(key)) return std::vector<uint8_t>(steps, 0);
  const auto values = RealArray(py::array::ensure(d[key]).attr("astype")("float64"), {steps},
                                std::string("episode['") + key + "']");
  std::vector<uint8_t> out(steps);
  for (int64_t t = 0; t < steps; ++t) out[t] = values.data()[t] != 0;
  return out;
}

}  // namespace

sim::Episode EpisodeFromDict(const py::dict& d) {
  for (const char* key : {"task", "observations", "actions", "rewards"}) {
    if (!d.contains(key)) throw sim::BadInput(std::string("episode: missing key '") + key + "'");
  }
  sim::Episode e;
  e.task = py::cast<std::string>(d["task"]);
  if (d.contains("seed")) e.seed = py::cast<uint64_t>(d["seed"]);
  py::array rewards = py::array::ensure(d["rewards"]);
  if (!rewards || rewards.ndim() != 1) throw sim::BadInput("episode['rewards']: expected a 1-D array");
  const int64_t steps = rewards.shape(0), rows = steps + 1;
  const auto r = RealArray(rewards, {steps}, "episode['rewards']");
  e.rewards.assign(r.data(), r.data() + steps);
  int64_t obs_dim = -1, act_dim = -1;
  e.observations = Rows(d, "observations", rows, &obs_dim);
  e.actions = Rows(d, "actions", steps, &act_dim);
  e.obs_dim = obs_dim;
  e.act_dim = act_dim;
  e.terminations = Flags(d, "terminations", steps);
  e.truncations = Flags(d, "truncations", steps);
  int64_t state_dim = 0;
  if (d.contains("states")) {
    state_dim = -1;
    e.states = Rows(d, "states", rows, &state_dim);
  }
  e.state_dim = state_dim;
  e.rng_states.assign(rows * 4, 0);
  if (d.contains("rng_states")) {
    const auto rng = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>::ensure(d["rng_states"]);
    if (!rng || rng.size() != rows * 4) throw sim::BadInput("episode['rng_states']: expected shape " + ShapeText({rows, 4}));
    std::copy_n(rng.data(), rows * 4, e.rng_states.begin());
  }
  e.elapsed_steps.resize(rows);
  for (int64_t t = 0; t < rows; ++t) e.elapsed_steps[t] = t;
  if (d.contains("elapsed_steps")) {
    const auto steps_in = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(d["elapsed_steps"]);
    if (!steps_in || steps_in.size() != rows) {
      throw sim::BadInput("episode['elapsed_steps']: expected shape " + ShapeText({rows}));
    }
    std::copy_n(steps_in.data(), rows, e.elapsed_steps.begin());
  }
  if (d.contains("info_keys")) e.info_keys = py::cast<std::vector<std::string>>(d["info_keys"]);
  if (!e.info_keys.empty()) {
    int64_t info_dim = static_cast<int64_t>(e.info_keys.size());
    e.infos = Rows(d, "infos", steps, &info_dim);
  }
  if (d.contains("frames")) {
    py::array f = py::array::ensure(d["frames"]);
    if (!f || f.ndim() != 4 || f.shape(0) != rows || f.shape(3) != 3 || f.dtype().kind() != 'u' ||
        f.itemsize() != 1) {
      throw sim::BadInput("episode['frames']: expected uint8 of shape (" + std::to_string(rows) +
                          ", H, W, 3)");
    }
    e.frame_height = f.shape(1);
    e.frame_width = f.shape(2);
    const auto frames = py::array_t<uint8_t, py::array::c_style>::ensure(f);
    e.frames.assign(frames.data(), frames.data() + frames.size());
  }
  if (d.contains("truth")) {
    const py::dict truth = d["truth"];
    std::vector<std::vector<double>> fields;
    for (const auto& [name, value] : truth) {
      py::array a = py::array::ensure(value);
      if (!a || a.ndim() < 1 || a.shape(0) != rows) {
        throw sim::BadInput("episode['truth']['" + py::cast<std::string>(name) +
                            "']: expected " + std::to_string(rows) + " rows");
      }
      std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
      const auto values = RealArray(a, shape, "episode['truth']['" + py::cast<std::string>(name) + "']");
      e.truth_names.push_back(py::cast<std::string>(name));
      e.truth_shapes.emplace_back(shape.begin() + 1, shape.end());
      fields.emplace_back(values.data(), values.data() + values.size());
    }
    const int64_t truth_dim = e.TruthDim();
    e.truth.resize(rows * truth_dim);
    int64_t offset = 0;
    for (const auto& field : fields) {
      const int64_t size = static_cast<int64_t>(field.size()) / rows;
      for (int64_t t = 0; t < rows; ++t) {
        std::copy_n(field.begin() + t * size, size, e.truth.begin() + t * truth_dim + offset);
      }
      offset += size;
    }
  }
  if (d.contains("scalars")) e.scalars = py::cast<std::map<std::string, double>>(d["scalars"]);
  if (d.contains("strings")) e.strings = py::cast<std::map<std::string, std::string>>(d["strings"]);
  return e;
}

}  // namespace darkmatter::python
