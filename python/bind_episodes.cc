// darkmatter.episodes: episode files (docs/episode-format.md) read into numpy and written
// from Python with the same validating reader and atomic writer as the CLI, and episodes
// recorded from a Python policy with the same recorder as `darkmatter rollout`.
#include "python/bind_episodes.h"

#include <memory>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "agents/rollout.h"
#include "python/arrays.h"
#include "python/bind_env.h"
#include "python/callable_agent.h"
#include "python/episode_arrays.h"
#include "sim/episode_file.h"
#include "sim/error.h"

namespace darkmatter::python {
namespace {

py::dict HeaderDict(const sim::EpisodeFileHeader& h) {
  py::dict d;
  d["format_version"] = h.format_version;
  d["task"] = h.task;
  d["creator"] = h.creator;
  d["config_json"] = h.config_json;
  d["content_hash"] = h.content_hash;
  return d;
}

}  // namespace

void BindEpisodes(py::module_& m) {
  py::class_<sim::EpisodeReader>(m, "EpisodeReader", "A validated episode file")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def_property_readonly("header", [](const sim::EpisodeReader& r) { return HeaderDict(r.Header()); })
      .def("__len__", &sim::EpisodeReader::NumEpisodes)
      .def("read", [](const sim::EpisodeReader& r, int64_t k) {
        if (k < 0 || k >= r.NumEpisodes()) {
          throw py::index_error("episode " + std::to_string(k) + " out of range [0, " +
                                std::to_string(r.NumEpisodes()) + ")");
        }
        sim::Episode e;
        {
          py::gil_scoped_release release;
          e = r.Read(k);
        }
        return EpisodeDict(e);
      }, py::arg("k"), "Episode k as a dict of numpy arrays");

  py::class_<sim::EpisodeWriter>(m, "EpisodeWriter", "Atomic episode file writer")
      .def(py::init([](const std::string& path, const std::string& task,
                       const std::string& config_json) {
        return std::make_unique<sim::EpisodeWriter>(
            path, sim::EpisodeFileHeader{.task = task,
                                         .creator = "darkmatter " DARKMATTER_VERSION " (python)",
                                         .config_json = config_json});
      }), py::arg("path"), py::arg("task"), py::arg("config_json") = "{}")
      .def("append", [](sim::EpisodeWriter& w, const py::dict& episode) {
        w.Append(EpisodeFromDict(episode));
      }, py::arg("episode"))
      .def("commit", &sim::EpisodeWriter::Commit, "Renames the temporary file into place");

  m.def("record_episode", [](PyEnv& env, py::object policy, uint64_t seed) {
    BusyGuard guard(&env.busy);
    std::unique_ptr<agents::Agent> agent = MakePolicy(env, policy);
    sim::Episode e;
    {
      py::gil_scoped_release release;
      agent->Reset(seed, 0);
      e = agents::RecordEpisode(*env.env, *agent, seed);
    }
    agent.reset();
    return EpisodeDict(e);
  }, py::arg("env"), py::arg("policy"), py::arg("seed"),
     "Records one episode from reset(seed) to its end with the rollout recorder");
}

}  // namespace darkmatter::python
