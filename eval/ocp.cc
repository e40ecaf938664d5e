#include "eval/ocp.h"

#include <cmath>

#include <torch/torch.h>

#include "eval/model_source.h"
#include "eval/ridge.h"
#include "eval/voe.h"
#include "sim/error.h"
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

// (n x 2D): the mean and the last of the first K embeddings of each clip.
Matrix Features(ModelSource& model, const LabelledClips& clips, int frames) {
  std::vector<torch::Tensor> rows;
  for (const sim::Episode* e : clips.episodes) {
    const auto z = EncodeEpisode(model, *e).narrow(0, 0, frames);
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
  if (s.models.empty()) throw sim::BadInput("--model is required");
  if (s.frames < 1) throw sim::BadInput("--frames " + std::to_string(s.frames) + ": must be >= 1");
  if (s.bootstrap < 1) throw sim::BadInput("--bootstrap " + std::to_string(s.bootstrap) + ": must be >= 1");
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
  for (ModelSource& model : models) {
    const Matrix x_train = Features(model, train_clips, s.frames);
    const LogisticModel readout = FitLogistic(x_train, train_clips.labels, regression);
    nlohmann::json result = model.Describe();
    result["lambda"] = readout.lambda;
    result["train"] = Scored(readout.Classify(x_train), train_clips.labels, s, s.seed);
    result["test"] =
        Scored(readout.Classify(Features(model, test_clips, s.frames)), test_clips.labels, s,
               s.seed + 1);
    nlohmann::json entry = {{"train", result["train"]["accuracy"]},
                            {"test", result["test"]["accuracy"]}};
    if (has_ood) {
      result["ood"] = Scored(readout.Classify(Features(model, ood_clips, s.frames)),
                             ood_clips.labels, s, s.seed + 2);
      entry["ood"] = result["ood"]["accuracy"];
    }
    results.push_back(result);
    section[model.name] = entry;
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
