#include "eval/voe.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>

#include <torch/torch.h>

#include "eval/model_source.h"
#include "eval/statistics.h"
#include "eval/voe_scoring.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "sim/rng.h"
#include "worldmodel/device.h"
#include "worldmodel/run_files.h"

namespace darkmatter::eval {
namespace {

// Whatever gives every clip a per-frame surprise: a model or a motion-energy null.
struct Scorer {
  nlohmann::json describe;  // spec/name/... of the model, or of the null
  std::string name;
  int64_t context = 1;      // first frame it scores
  std::vector<std::vector<double>> surprise;  // (clips) per-frame surprise
};

// The motion-energy null on pixels or state.
Scorer MotionScorer(const DataFile& data, bool pixels) {
  Scorer scorer;
  scorer.name = pixels ? "motion-energy:pixels" : "motion-energy:state";
  scorer.describe = {{"spec", scorer.name}, {"name", scorer.name}, {"model", "motion-energy"},
                     {"input", pixels ? "pixels" : "state"}, {"untrained", true},
                     {"null", "motion-energy"}, {"step", 0}, {"content_hash", ""}};
  for (const sim::Episode& e : data.episodes) scorer.surprise.push_back(MotionEnergy(e, pixels));
  return scorer;
}

// A model's surprise of every clip.
Scorer ModelScorer(ModelSource& model, const DataFile& data, uint64_t seed) {
  Scorer scorer;
  scorer.name = model.name;
  scorer.describe = model.Describe();
  if (model.untrained) scorer.describe["null"] = "untrained";
  // The first frame with a prediction (model steps of `skip` frames: C * skip).
  scorer.context = model.Options().context * model.Options().skip;
  torch::manual_seed(seed);
  for (const sim::Episode& e : data.episodes) {
    const auto input = ModelInput(model, e);
    const auto surprise = model.net->Surprise(input.observations, input.actions)
                              .squeeze(0)
                              .to(torch::kCPU, torch::kFloat64);
    scorer.surprise.emplace_back(surprise.data_ptr<double>(),
                                 surprise.data_ptr<double>() + surprise.numel());
  }
  return scorer;
}

// Scales a scorer's surprise to mean 1 over the frames it scores (unchanged when all are 0).
void ScaleToMeanOne(Scorer* scorer) {
  double sum = 0.0;
  int64_t n = 0;
  for (const auto& clip : scorer->surprise) {
    for (size_t t = static_cast<size_t>(scorer->context); t < clip.size(); ++t, ++n) sum += clip[t];
  }
  if (n == 0 || !(sum > 0.0)) return;
  const double scale = static_cast<double>(n) / sum;
  for (auto& clip : scorer->surprise) {
    for (double& x : clip) x *= scale;
  }
}

// An untrained network as a null: one fixed random function of the joint configuration can
// prefer either kind of member (on state, single inits of the same shape score anywhere in
// 0.1-0.8 on one family), so the null is s.untrained_inits initialisations, their surprise
// (each scaled to mean 1) averaged per frame; each init's own set accuracy is listed beside.
Scorer UntrainedScorer(ModelSource& first, const DataFile& data, const VoeSettings& s,
                       const std::vector<TwinSet>& sets, const torch::Device& device) {
  Scorer mean = ModelScorer(first, data, s.seed);
  ScaleToMeanOne(&mean);
  const VoeScoring scoring{1, s.confidence, s.seed};
  nlohmann::json per_init = nlohmann::json::array();
  per_init.push_back(ScoreTwinSets(sets, mean.surprise, mean.context, scoring)["set_accuracy"]);
  for (int k = 1; k < s.untrained_inits; ++k) {
    ModelSource other = ResolveModel(first.spec, data, s.input, s.seed + k, device);
    Scorer one = ModelScorer(other, data, s.seed + k);
    ScaleToMeanOne(&one);
    per_init.push_back(ScoreTwinSets(sets, one.surprise, one.context, scoring)["set_accuracy"]);
    for (size_t c = 0; c < mean.surprise.size(); ++c) {
      for (size_t t = 0; t < mean.surprise[c].size(); ++t) mean.surprise[c][t] += one.surprise[c][t];
    }
  }
  for (auto& clip : mean.surprise) {
    for (double& x : clip) x /= s.untrained_inits;
  }
  mean.describe["inits"] = s.untrained_inits;
  mean.describe["init_set_accuracy"] = per_init;
  return mean;
}

// An external scorer's surprise of every clip, checked: T+1 finite values per clip.
Scorer ExternalScorerOf(const ExternalScorer& external, const DataFile& data) {
  if (external.context < 1) {
    throw sim::BadInput("scorer " + external.name + ": context " +
                        std::to_string(external.context) + " must be >= 1");
  }
  Scorer scorer;
  scorer.name = external.name;
  scorer.context = external.context;
  scorer.describe = {{"spec", external.name}, {"name", external.name}, {"model", "external"},
                     {"input", data.HasFrames() ? "pixels" : "state"}, {"untrained", false},
                     {"step", 0}, {"content_hash", ""}};
  scorer.describe.update(external.describe);
  for (size_t k = 0; k < data.episodes.size(); ++k) {
    const sim::Episode& e = data.episodes[k];
    std::vector<double> surprise = external.surprise(e);
    const std::string where = "scorer " + external.name + ", episode " + std::to_string(k);
    if (static_cast<int64_t>(surprise.size()) != e.Length() + 1) {
      throw sim::BadInput(where + ": surprise has " + std::to_string(surprise.size()) +
                          " values, expected one per frame (" + std::to_string(e.Length() + 1) +
                          ")");
    }
    for (size_t t = 0; t < surprise.size(); ++t) {
      if (!std::isfinite(surprise[t])) {
        throw sim::BadInput(where + ": surprise of frame " + std::to_string(t) + " is not finite");
      }
    }
    scorer.surprise.push_back(std::move(surprise));
  }
  return scorer;
}

// The model specs to score: the given ones, then (with nulls) untrained:<first> unless an
// untrained model is among them.
std::vector<std::string> ModelSpecs(const VoeSettings& s) {
  std::vector<std::string> specs = s.models;
  const bool has_untrained = std::any_of(specs.begin(), specs.end(), [](const std::string& m) {
    return m.rfind("untrained:", 0) == 0;
  });
  if (s.nulls && !has_untrained && !specs.empty()) specs.push_back("untrained:" + s.models.front());
  return specs;
}

}  // namespace

nlohmann::json RunVoe(const VoeSettings& s) {
  if (s.models.empty() && s.external.empty()) {
    throw sim::BadInput("--model is required (a run directory, checkpoint.pt or untrained:NAME)");
  }
  if (s.untrained_inits < 1 || s.untrained_inits > kMaxUntrainedInits) {
    throw sim::BadInput("--untrained-inits " + std::to_string(s.untrained_inits) +
                        ": must be in [1, " + std::to_string(kMaxUntrainedInits) + "]");
  }
  if (s.bootstrap < 1 || s.bootstrap > sim::kMaxSamples) {
    throw sim::BadInput("--bootstrap " + std::to_string(s.bootstrap) + ": must be in [1, " +
                        std::to_string(sim::kMaxSamples) + "]");
  }
  const DataFile data = LoadDataFile(s.data, "--data");
  // Sets first: a file without them is refused before any model runs.
  const std::vector<TwinSet> sets = FindTwinSets(data.episodes, data.path);

  const torch::Device device = worldmodel::ResolveDevice(s.device);
  std::vector<ModelSource> models;
  for (const std::string& spec : ModelSpecs(s)) {
    models.push_back(ResolveModel(spec, data, s.input, s.seed, device));
  }
  MakeNamesUnique(&models);
  std::vector<Scorer> scorers;
  for (ModelSource& model : models) {
    scorers.push_back(model.untrained ? UntrainedScorer(model, data, s, sets, device)
                                      : ModelScorer(model, data, s.seed));
  }
  for (const ExternalScorer& external : s.external) {
    for (const Scorer& other : scorers) {
      if (other.name == external.name) {
        throw sim::BadInput("scorer name " + external.name + " is already taken by a model");
      }
    }
    scorers.push_back(ExternalScorerOf(external, data));
  }
  if (s.nulls) {
    if (data.HasFrames()) scorers.push_back(MotionScorer(data, true));
    if (!data.episodes.empty() && data.episodes[0].obs_dim > 0) {
      scorers.push_back(MotionScorer(data, false));
    }
  }

  nlohmann::json out = {{"protocol", "voe"},
                        {"data", data.Describe()},
                        {"content_hash", data.content_hash},
                        {"split", data.split},
                        {"bootstrap", s.bootstrap},
                        {"confidence", s.confidence},
                        {"seed", s.seed},
                        {"window",
                         "clip score = mean (and max) of per-frame surprise over frames t >= "
                         "max(v, C), v = the set's violation frame, C = the scorer's first "
                         "scored frame; the same frames for all four members. Set score: "
                         "1[S(A then B) + S(B then A) > S(A) + S(B)], ties 1/2. Pairs: each "
                         "impossible member against the possible member it shares frames "
                         "before v with. AUROC: max surprise over t >= C of single clips"}};
  nlohmann::json results = nlohmann::json::array(), section = nlohmann::json::object(),
                 curves = nlohmann::json::object();
  const VoeScoring scoring{s.bootstrap, s.confidence, s.seed};
  for (const Scorer& scorer : scorers) {
    nlohmann::json result = scorer.describe;
    result.update(ScoreTwinSets(sets, scorer.surprise, scorer.context, scoring));
    nlohmann::json principles = nlohmann::json::object();
    for (const auto& [principle, entry] : result["per_principle_set"].items()) {
      nlohmann::json e = {{"accuracy", entry["accuracy"]}, {"n", entry["n"]}};
      if (entry["ci"][0].is_number()) e["ci_low"] = entry["ci"][0];
      if (entry["ci"][1].is_number()) e["ci_high"] = entry["ci"][1];
      if (result["per_principle"].contains(principle)) {
        e["pairwise"] = result["per_principle"][principle];
      }
      principles[principle] = e;
    }
    nlohmann::json entry = {{"principles", principles}};
    if (result["auroc"].is_number()) entry["auroc"] = result["auroc"];
    if (scorer.describe.contains("null")) entry["null"] = scorer.describe["null"];
    section[scorer.name] = entry;
    results.push_back(result);
    if (!s.curves.empty()) {
      nlohmann::json list = nlohmann::json::array();
      for (size_t k = 0; k < data.episodes.size(); ++k) {
        const sim::Episode& e = data.episodes[k];
        list.push_back({{"episode", static_cast<int64_t>(k)},
                        {"set_id", e.scalars.count("set_id") ? e.scalars.at("set_id") : -1.0},
                        {"member", e.scalars.count("member") ? e.scalars.at("member") : -1.0},
                        {"possible", e.scalars.count("possible") && e.scalars.at("possible") != 0},
                        {"principle", e.strings.count("principle") ? e.strings.at("principle") : ""},
                        {"violation_frame",
                         e.scalars.count("violation_frame") ? e.scalars.at("violation_frame") : -1.0},
                        {"surprise", scorer.surprise[k]}});
      }
      curves[scorer.name] = list;
    }
  }
  // The first model's numbers at the top level; all of them (nulls included) under "models".
  for (const char* key :
       {"set_accuracy", "set_accuracy_ci", "per_principle_set", "pairwise_accuracy",
        "pairwise_accuracy_ci", "per_principle", "per_principle_ci", "per_direction", "auroc",
        "auroc_ci", "n_sets", "n_skipped_sets", "n_pairs", "step"}) {
    out[key] = results[0][key];
  }
  out["model"] = results[0]["spec"];
  out["model_content_hash"] = results[0]["content_hash"];
  out["models"] = results;
  out["voe"] = section;
  if (!s.curves.empty()) {
    worldmodel::WriteTextAtomically(
        s.curves, nlohmann::json{{"data", data.Describe()}, {"models", curves}}.dump() + "\n");
    out["curves"] = s.curves;
  }
  return out;
}

}  // namespace darkmatter::eval
