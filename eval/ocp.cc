#include "eval/ocp.h"

#include <cmath>
#include <functional>

#include <torch/torch.h>

#include "eval/model_source.h"
#include "eval/ridge.h"
#include "eval/voe.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "worldmodel/device.h"

namespace darkmatter::eval {
namespace {

nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

// The possible clips of a file with their binary labels.
struct LabelledClips {
  std::vector<const sim::Episode*> episodes;
  std::vector<int> labels;
};

LabelledClips Select(const DataFile& file, const OcpSettings& s) {
  LabelledClips clips;
  for (const sim::Episode& e : file.episodes) {
    const auto possible = e.scalars.find("possible");
    if (possible != e.scalars.end() && possible->second == 0.0) continue;
    const double label = EpisodeScalar(e, s.label, file);
    if (label != 0.0 && label != 1.0) {
      throw sim::BadInput("'" + file.path + "': label '" + s.label + "' of seed " +
                          std::to_string(e.seed) + " is " + std::to_string(label) +
                          ", not 0 or 1");
    }
    if (e.Length() + 1 < s.frames) {
      throw sim::BadInput("--frames " + std::to_string(s.frames) + ": '" + file.path +
                          "' has an episode of only " + std::to_string(e.Length() + 1) +
                          " frames");
    }
    clips.episodes.push_back(&e);
    clips.labels.push_back(static_cast<int>(label));
  }
  if (clips.episodes.empty()) throw sim::BadInput("'" + file.path + "' has no possible clips");
  return clips;
}

// Per-frame embeddings of a clip ((>= K) x D), from a model or from external features.
using EncodeFn = std::function<torch::Tensor(const sim::Episode&)>;

// The first `frames` frames of an episode (observations, frames, truth; the actions between
// them): all that external features may see.
sim::Episode FirstFrames(const sim::Episode& e, int64_t frames) {
  sim::Episode first = e;
  const int64_t steps = frames - 1;
  first.observations.resize(frames * e.obs_dim);
  first.actions.resize(steps * e.act_dim);
  first.rewards.resize(steps);
  first.terminations.resize(steps);
  first.truncations.resize(steps);
  first.states.resize(frames * e.state_dim);
  first.rng_states.resize(frames * 4);
  first.elapsed_steps.resize(frames);
  first.infos.resize(steps * e.info_keys.size());
  if (!e.frames.empty()) first.frames.resize(frames * e.frame_height * e.frame_width * 3);
  first.truth.resize(frames * e.TruthDim());
  return first;
}

// External features of the first `frames` frames, checked: (K x D) float64.
EncodeFn ExternalEncoder(const ExternalFeatures& external, int frames) {
  return [&external, frames](const sim::Episode& e) {
    int64_t dim = 0;
    std::vector<double> values = external.features(FirstFrames(e, frames), &dim);
    const std::string where = "features " + external.name + ", episode (seed " +
                              std::to_string(e.seed) + ")";
    if (dim < 1 || static_cast<int64_t>(values.size()) != frames * dim) {
      throw sim::BadInput(where + ": expected " + std::to_string(frames) +
                          " rows (one per frame seen) of at least one feature");
    }
    for (double v : values) {
      if (!std::isfinite(v)) throw sim::BadInput(where + ": a feature is not finite");
    }
    return torch::from_blob(values.data(), {frames, dim}, torch::kFloat64).clone();
  };
}

// (n x 2D): the mean and the last of the first K embeddings of each clip.
Matrix Features(const EncodeFn& encode, const LabelledClips& clips, int frames) {
  std::vector<torch::Tensor> rows;
  for (const sim::Episode* e : clips.episodes) {
    const auto z = encode(*e).narrow(0, 0, frames);
    rows.push_back(torch::cat({z.mean(0), z[frames - 1]}).to(torch::kFloat64));
  }
  const auto all = torch::stack(rows).contiguous();
  Matrix m{all.size(0), all.size(1), {}};
  m.values.assign(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
  return m;
}

nlohmann::json Scored(const std::vector<int>& predicted, const std::vector<int>& truth,
                      const OcpSettings& s, uint64_t seed) {
  const Interval i = PercentileBootstrap(
      static_cast<int64_t>(truth.size()),
      [&](const std::vector<int64_t>& idx) {
        double right = 0;
        for (int64_t k : idx) right += predicted[k] == truth[k];
        return right / static_cast<double>(idx.size());
      },
      s.bootstrap, s.confidence, seed);
  double positives = 0;
  for (int t : truth) positives += t;
  const double base = std::max(positives, truth.size() - positives) / truth.size();
  return {{"accuracy", Number(i.estimate)},
          {"ci", {Number(i.low), Number(i.high)}},
          {"n", static_cast<int64_t>(truth.size())},
          {"positive_rate", positives / truth.size()},
          {"majority_baseline", base}};
}

}  // namespace

nlohmann::json RunOcp(const OcpSettings& s) {
  if (s.models.empty() && s.external.empty()) throw sim::BadInput("--model is required");
  if (s.frames < 1) throw sim::BadInput("--frames " + std::to_string(s.frames) + ": must be >= 1");
  if (s.bootstrap < 1 || s.bootstrap > sim::kMaxSamples) {
    throw sim::BadInput("--bootstrap " + std::to_string(s.bootstrap) + ": must be in [1, " +
                        std::to_string(sim::kMaxSamples) + "]");
  }
  const DataFile train = LoadDataFile(s.train, "--train");
  const DataFile test = LoadDataFile(s.data, "--data");
  const bool has_ood = !s.ood.empty();
  const DataFile ood = has_ood ? LoadDataFile(s.ood, "--ood") : DataFile{};
  const LabelledClips train_clips = Select(train, s), test_clips = Select(test, s);
  const LabelledClips ood_clips = has_ood ? Select(ood, s) : LabelledClips{};
  const torch::Device device = worldmodel::ResolveDevice(s.device);
  std::vector<ModelSource> models;
  for (const std::string& spec : s.models) {
    models.push_back(ResolveModel(spec, train, s.input, s.seed, device));
    CheckModelReadsData(models.back(), test);
    if (has_ood) CheckModelReadsData(models.back(), ood);
  }
  MakeNamesUnique(&models);

  nlohmann::json out = {{"protocol", "ocp"},
                        {"label", s.label},
                        {"frames", s.frames},
                        {"features", "mean and last of the first K frame embeddings"},
                        {"train", train.Describe()},
                        {"data", test.Describe()},
                        {"content_hash", test.content_hash},
                        {"split", test.split}};
  if (has_ood) out["ood"] = ood.Describe();
  RegressionSettings regression;
  regression.seed = s.seed;
  regression.lambdas = {1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0};
  nlohmann::json results = nlohmann::json::array(), section = nlohmann::json::object();
  // Fits and scores the readout of one subject (a model or external features).
  auto score = [&](const std::string& name, nlohmann::json result, const EncodeFn& encode) {
    const Matrix x_train = Features(encode, train_clips, s.frames);
    const LogisticModel readout = FitLogistic(x_train, train_clips.labels, regression);
    result["lambda"] = readout.lambda;
    result["train"] = Scored(readout.Classify(x_train), train_clips.labels, s, s.seed);
    result["test"] =
        Scored(readout.Classify(Features(encode, test_clips, s.frames)), test_clips.labels, s,
               s.seed + 1);
    nlohmann::json entry = {{"train", result["train"]["accuracy"]},
                            {"test", result["test"]["accuracy"]}};
    if (has_ood) {
      result["ood"] = Scored(readout.Classify(Features(encode, ood_clips, s.frames)),
                             ood_clips.labels, s, s.seed + 2);
      entry["ood"] = result["ood"]["accuracy"];
    }
    results.push_back(result);
    section[name] = entry;
  };
  for (ModelSource& model : models) {
    score(model.name, model.Describe(),
          [&model](const sim::Episode& e) { return EncodeEpisode(model, e); });
  }
  for (const ExternalFeatures& external : s.external) {
    nlohmann::json result = {{"spec", external.name}, {"name", external.name},
                             {"model", "external"}, {"untrained", false}, {"step", 0},
                             {"content_hash", ""}};
    result.update(external.describe);
    score(external.name, result, ExternalEncoder(external, s.frames));
  }
  out["model"] = results[0]["spec"];
  out["accuracy"] = results[0]["test"]["accuracy"];
  out["accuracy_ci"] = results[0]["test"]["ci"];
  if (has_ood) out["ood_accuracy"] = results[0]["ood"]["accuracy"];
  out["models"] = results;
  out["ocp"] = section;
  return out;
}

}  // namespace darkmatter::eval
