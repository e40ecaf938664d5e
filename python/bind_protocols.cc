// The evaluation protocols with Python callables (darkmatter.protocols): the C++ protocol
// runs with the GIL released and takes it back only to call the callable.
#include "python/bind_protocols.h"

#include <sstream>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "agents/planner_agent.h"
#include "eval/ocp.h"
#include "eval/plan_episodes.h"
#include "eval/probe.h"
#include "eval/report.h"
#include "eval/voe.h"
#include "python/arrays.h"
#include "python/bind_env.h"
#include "python/callable_agent.h"
#include "python/episode_arrays.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "worldmodel/run_files.h"

namespace darkmatter::python {
namespace {

// A callable's input of one episode: its frames for input "pixels", its observations for
// "state", and for "" its frames when it has them.
py::array ClipInput(const sim::Episode& e, const std::string& input) {
  if (input == "pixels" || (input.empty() && !e.frames.empty())) {
    if (e.frames.empty()) {
      throw sim::BadInput("episode (seed " + std::to_string(e.seed) +
                          ") has no frames: record with --render WxH, or use input='state'");
    }
    return FramesArray(e);
  }
  return CopyArray<double>(e.observations, {e.Length() + 1, e.obs_dim});
}

// fn(input of episode e, its actions): the one way a protocol calls a Python callable.
py::object CallOnClip(const py::object& fn, const sim::Episode& e, const std::string& input) {
  return fn(ClipInput(e, input), CopyArray<double>(e.actions, {e.Length(), e.act_dim}));
}

// A scorer that calls surprise_fn(frames, actions) -> (T+1) per-frame surprise.
eval::ExternalScorer CallableScorer(const std::string& name, int64_t context, py::object fn,
                                    const std::string& input, const std::string& describe_json) {
  eval::ExternalScorer scorer;
  scorer.name = name;
  scorer.context = context;
  if (!describe_json.empty()) scorer.describe = nlohmann::json::parse(describe_json);
  scorer.surprise = [fn, input, name](const sim::Episode& e) {
    py::gil_scoped_acquire gil;
    py::object result = CallOnClip(fn, e, input);
    const auto values = RealArray(result, {e.Length() + 1},
                                  name + ": the surprise of episode (seed " +
                                      std::to_string(e.seed) + ")");
    return std::vector<double>(values.data(), values.data() + values.size());
  };
  return scorer;
}

// Features that call features_fn(frames, actions) -> (T+1, D).
eval::ExternalFeatures CallableFeatures(const std::string& name, py::object fn,
                                        const std::string& input, const std::string& describe_json) {
  eval::ExternalFeatures external;
  external.name = name;
  if (!describe_json.empty()) external.describe = nlohmann::json::parse(describe_json);
  external.features = [fn, input, name](const sim::Episode& e, int64_t* dim) {
    py::gil_scoped_acquire gil;
    py::array a = py::array::ensure(CallOnClip(fn, e, input));
    const std::string what = name + ": the features of episode (seed " + std::to_string(e.seed) + ")";
    if (!a || a.ndim() != 2) {
      throw sim::BadInput(what + ": expected a 2-D array (" + std::to_string(e.Length() + 1) +
                          ", D)");
    }
    *dim = a.shape(1);
    const auto values = RealArray(a, {e.Length() + 1, *dim}, what);
    return std::vector<double>(values.data(), values.data() + values.size());
  };
  return external;
}

// The features of `callables`, each a tuple (name, fn, input, describe_json).
std::vector<eval::ExternalFeatures> FeaturesOf(const py::list& callables) {
  std::vector<eval::ExternalFeatures> features;
  for (const auto& item : callables) {
    const py::tuple t = py::reinterpret_borrow<py::tuple>(item);
    features.push_back(CallableFeatures(py::cast<std::string>(t[0]),
                                        py::reinterpret_borrow<py::object>(t[1]),
                                        py::cast<std::string>(t[2]), py::cast<std::string>(t[3])));
  }
  return features;
}

// Runs protocol `run` on `s` with the GIL released, then drops its callables (Python
// objects) while holding the GIL; returns the result's JSON text.
template <typename Settings, typename Run>
std::string RunReleased(Settings& s, Run run) {
  nlohmann::json result;
  {
    py::gil_scoped_release release;
    result = run(s);
  }
  s.external.clear();
  return result.dump();
}

}  // namespace

void BindProtocols(py::module_& m) {
  m.def("voe", [](py::list callables, const std::string& data, std::vector<std::string> models,
                  const std::string& input, int bootstrap, double confidence, uint64_t seed,
                  bool nulls, const std::string& curves, int untrained_inits,
                  const std::string& device) {
    eval::VoeSettings s;
    s.models = std::move(models);
    s.data = data;
    s.input = input;
    s.bootstrap = bootstrap;
    s.confidence = confidence;
    s.seed = seed;
    s.nulls = nulls;
    s.curves = curves;
    s.untrained_inits = untrained_inits;
    s.device = device;
    for (const auto& item : callables) {
      const py::tuple t = py::reinterpret_borrow<py::tuple>(item);
      s.external.push_back(CallableScorer(py::cast<std::string>(t[0]), py::cast<int64_t>(t[1]),
                                          py::reinterpret_borrow<py::object>(t[2]),
                                          py::cast<std::string>(t[3]), py::cast<std::string>(t[4])));
    }
    return RunReleased(s, eval::RunVoe);
  }, py::arg("callables"), py::arg("data"), py::arg("models"), py::arg("input"),
     py::arg("bootstrap"), py::arg("confidence"), py::arg("seed"), py::arg("nulls"),
     py::arg("curves"), py::arg("untrained_inits"), py::arg("device"),
     "P1 on a twin sets file: callables [(name, context, fn, input, describe_json)] beside "
     "C++ models; returns the JSON of `darkmatter eval voe --json`");

  m.def("probe", [](py::list callables, const std::string& train, const std::string& data,
                    std::vector<std::string> models, std::vector<std::string> fields,
                    std::vector<int> horizons, std::vector<int> labels,
                    const std::string& label_field, int supervised_steps,
                    const std::string& input, uint64_t seed, const std::string& device) {
    eval::ProbeSettings s;
    s.models = std::move(models);
    s.train = train;
    s.data = data;
    s.fields = std::move(fields);
    s.horizons = std::move(horizons);
    s.labels = std::move(labels);
    s.label_field = label_field;
    s.supervised_steps = supervised_steps;
    s.input = input;
    s.seed = seed;
    s.device = device;
    s.external = FeaturesOf(callables);
    return RunReleased(s, eval::RunProbe);
  }, py::arg("callables"), py::arg("train"), py::arg("data"), py::arg("models"),
     py::arg("fields"), py::arg("horizons"), py::arg("labels"), py::arg("label_field"),
     py::arg("supervised_steps"), py::arg("input"), py::arg("seed"), py::arg("device"),
     "P3 ridge probes: callables [(name, fn, input, describe_json)] beside C++ models; "
     "returns the JSON of `darkmatter eval probe --json`");

  m.def("ocp", [](py::list callables, const std::string& train, const std::string& data,
                  const std::string& ood, std::vector<std::string> models, int frames,
                  const std::string& label, const std::string& input, int bootstrap,
                  double confidence, uint64_t seed, const std::string& device) {
    eval::OcpSettings s;
    s.models = std::move(models);
    s.train = train;
    s.data = data;
    s.ood = ood;
    s.frames = frames;
    s.label = label;
    s.input = input;
    s.bootstrap = bootstrap;
    s.confidence = confidence;
    s.seed = seed;
    s.device = device;
    s.external = FeaturesOf(callables);
    return RunReleased(s, eval::RunOcp);
  }, py::arg("callables"), py::arg("train"), py::arg("data"), py::arg("ood"),
     py::arg("models"), py::arg("frames"), py::arg("label"), py::arg("input"),
     py::arg("bootstrap"), py::arg("confidence"), py::arg("seed"), py::arg("device"),
     "P2 outcome readout: callables [(name, fn, input, describe_json)] see the first K "
     "frames of each clip; returns the JSON of `darkmatter eval ocp --json`");

  m.def("validate_results", [](const std::string& text, const std::string& source) {
    std::istringstream in(text);
    eval::ValidateResults(worldmodel::ParseJsonInput(in, source), source);
  }, py::arg("results_json"), py::arg("source"),
     "Checks results.json text as `darkmatter report` does (ValueError naming the key)");

  m.def("plan", [](PyEnv& env, py::object policy, const std::string& name, int episodes,
                   uint64_t seed, py::object cost_fn, py::object dynamics_fn,
                   const std::vector<std::string>& planner_overrides) {
    BusyGuard guard(&env.busy);
    sim::EnvSettings copy = env.settings;
    agents::PlanSettings plan;  // outlives the binder's last use (the reported settings)
    sim::SettingsBinder binder;
    sim::BindEnvSettings(&copy, &binder);
    std::unique_ptr<agents::Agent> agent = MakePlanningPolicy(
        env, policy, cost_fn, dynamics_fn, planner_overrides, &plan, &binder);
    eval::PlanEpisodes run{.task = env.task, .policy = name, .episodes = episodes, .seed = seed};
    auto* planning = dynamic_cast<agents::PlannerAgent*>(agent.get());
    nlohmann::json result;
    {
      py::gil_scoped_release release;
      result = eval::RunPlanEpisodes(
          *env.env, *agent, run,
          [planning] { return planning ? planning->PlanStats().at("model_calls") : 0.0; },
          binder.Values());
    }
    agent.reset();
    return result.dump();
  }, py::arg("env"), py::arg("policy"), py::arg("name"), py::arg("episodes"), py::arg("seed"),
     py::arg("cost_fn"), py::arg("dynamics_fn"), py::arg("planner_overrides"),
     "P4 on the test seeds with a policy (callable, 'random', 'expert') or a planner ('cem', "
     "'mppi') over the true simulator, a cost_fn or a dynamics_fn; the JSON of "
     "`darkmatter eval plan --json`");
}

}  // namespace darkmatter::python
