// darkmatter.episodes: episode files (docs/episode-format.md) read into numpy and written
// from Python with the same validating reader and atomic writer as the CLI, and episodes
// recorded from a Python policy with the same recorder as `darkmatter rollout`.
#include "python/bind_episodes.h"

#include <memory>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "agents/agent.h"
#include "agents/random_agent.h"
#include "agents/rollout.h"
#include "python/arrays.h"
#include "python/bind_env.h"
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

// A Python policy as an agent: policy(observation) -> action, called with the GIL held.
class CallableAgent : public agents::Agent {
 public:
  CallableAgent(py::object policy, const sim::BoxSpec& obs, const sim::BoxSpec& act)
      : policy_(std::move(policy)), obs_shape_(obs.shape), act_shape_(act.shape) {}
  void Reset(uint64_t, int) override {}
  void Act(std::span<const double> observations, std::span<double> actions) override {
    py::gil_scoped_acquire gil;
    py::object action = policy_(CopyArray<double>(observations, obs_shape_));
    const auto a = RealArray(action, act_shape_, "policy(observation) result");
    std::copy_n(a.data(), actions.size(), actions.begin());
  }

 private:
  py::object policy_;
  std::vector<int64_t> obs_shape_, act_shape_;
};

// The scripted expert of the env's task as an agent.
class ExpertPolicy : public agents::Agent {
 public:
  explicit ExpertPolicy(sim::Env* env) : env_(env) {}
  void Reset(uint64_t, int) override {}
  void Act(std::span<const double>, std::span<double> actions) override {
    env_->ExpertAction(actions);
  }

 private:
  sim::Env* env_;
};

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
    std::unique_ptr<agents::Agent> agent;
    if (py::isinstance<py::str>(policy)) {
      const std::string name = py::cast<std::string>(policy);
      if (name == "random") {
        agent = std::make_unique<agents::RandomAgent>(env.env->ActionSpec());
      } else if (name == "expert") {
        if (!env.env->HasExpert()) throw sim::BadInput("policy 'expert': " + env.env->Name() + " has no scripted expert");
        agent = std::make_unique<ExpertPolicy>(env.env.get());
      } else {
        throw sim::BadInput("policy '" + name + "': expected 'random', 'expert' or a callable");
      }
    } else {
      if (!PyCallable_Check(policy.ptr())) throw py::type_error("policy: expected a callable, 'random' or 'expert'");
      agent = std::make_unique<CallableAgent>(policy, env.env->ObservationSpec(), env.env->ActionSpec());
    }
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
