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
#include "sim/error.h"
#include "sim/rng.h"
#include "worldmodel/device.h"
#include "worldmodel/run_files.h"

namespace darkmatter::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// JSON number, or null for NaN (JSON has none).
nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

// One scored clip.
struct Clip {
  int64_t episode = 0;        // index in the file
  int64_t twin_id = 0;
  bool possible = true;
  std::string principle;
  int64_t violation_frame = -1;
  std::vector<double> surprise;  // (L)
};

}  // namespace

double PairwiseAccuracy(std::span<const TwinPair> pairs) {
  if (pairs.empty()) return kNaN;
  double wins = 0;
  for (const TwinPair& p : pairs) {
    wins += p.impossible > p.possible ? 1.0 : (p.impossible == p.possible ? 0.5 : 0.0);
  }
  return wins / static_cast<double>(pairs.size());
}

double Auroc(std::span<const double> positives, std::span<const double> negatives) {
  if (positives.empty() || negatives.empty()) return kNaN;
  // Rank-based Mann-Whitney U with midranks for ties: O((n + m) log(n + m)).
  std::vector<std::pair<double, int>> all;
  for (double v : positives) all.emplace_back(v, 1);
  for (double v : negatives) all.emplace_back(v, 0);
  std::sort(all.begin(), all.end());
  double rank_sum = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double midrank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 .. j
    for (size_t k = i; k < j; ++k) {
      if (all[k].second == 1) rank_sum += midrank;
    }
    i = j;
  }
  const double n = static_cast<double>(positives.size()), m = static_cast<double>(negatives.size());
  return (rank_sum - n * (n + 1) / 2.0) / (n * m);
}

Interval PercentileBootstrap(int64_t n,
                             const std::function<double(const std::vector<int64_t>&)>& statistic,
                             int replicates, double confidence, uint64_t seed) {
  if (replicates < 1) throw sim::BadInput("--bootstrap " + std::to_string(replicates) + ": must be >= 1");
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw sim::BadInput("confidence " + std::to_string(confidence) + ": must be in (0, 1)");
  }
  std::vector<int64_t> identity(n);
  std::iota(identity.begin(), identity.end(), 0);
  Interval interval;
  interval.estimate = n > 0 ? statistic(identity) : kNaN;
  interval.low = interval.high = kNaN;
  if (n == 0) return interval;
  sim::Rng rng(seed);
  std::vector<double> values;
  std::vector<int64_t> sample(n);
  for (int r = 0; r < replicates; ++r) {
    for (int64_t i = 0; i < n; ++i) sample[i] = static_cast<int64_t>(rng.Below(n));
    const double v = statistic(sample);
    if (!std::isnan(v)) values.push_back(v);
  }
  if (values.empty()) return interval;
  std::sort(values.begin(), values.end());
  interval.low = Percentile(values, (1.0 - confidence) / 2.0);
  interval.high = Percentile(values, 1.0 - (1.0 - confidence) / 2.0);
  return interval;
}

Interval BootstrapPairwiseAccuracy(std::span<const TwinPair> pairs, int replicates,
                                   double confidence, uint64_t seed) {
  std::vector<TwinPair> resampled;
  return PercentileBootstrap(
      static_cast<int64_t>(pairs.size()),
      [&](const std::vector<int64_t>& idx) {
        resampled.clear();
        for (int64_t i : idx) resampled.push_back(pairs[i]);
        return PairwiseAccuracy(resampled);
      },
      replicates, confidence, seed);
}

ClipScore ScoreWindow(std::span<const double> surprise, int64_t from, int64_t first) {
  const int64_t l = static_cast<int64_t>(surprise.size());
  const int64_t start = std::clamp<int64_t>(std::max(from, first), 0, l);
  if (start >= l) return {kNaN, kNaN};
  ClipScore score;
  double sum = 0;
  score.max = -std::numeric_limits<double>::infinity();
  for (int64_t t = start; t < l; ++t) {
    sum += surprise[t];
    score.max = std::max(score.max, surprise[t]);
  }
  score.mean = sum / static_cast<double>(l - start);
  return score;
}

nlohmann::json RunVoe(const VoeSettings& s) {
  if (s.models.empty()) throw sim::BadInput("--model is required (a run directory, checkpoint.pt or untrained:NAME)");
  if (s.bootstrap < 1) throw sim::BadInput("--bootstrap " + std::to_string(s.bootstrap) + ": must be >= 1");
  const DataFile data = LoadDataFile(s.data, "--data");
  // Twins labels first: a file without them is refused before any model runs.
  std::vector<Clip> clips;
  for (size_t k = 0; k < data.episodes.size(); ++k) {
    const sim::Episode& e = data.episodes[k];
    Clip clip;
    clip.episode = static_cast<int64_t>(k);
    clip.twin_id = static_cast<int64_t>(EpisodeScalar(e, "twin_id", data));
    clip.possible = EpisodeScalar(e, "possible", data) != 0.0;
    clip.violation_frame = static_cast<int64_t>(EpisodeScalar(e, "violation_frame", data));
    const auto principle = e.strings.find("principle");
    clip.principle = principle != e.strings.end() ? principle->second : "unknown";
    clips.push_back(clip);
  }
  std::map<int64_t, std::vector<int64_t>> twins;  // twin_id -> clip indices
  for (size_t i = 0; i < clips.size(); ++i) twins[clips[i].twin_id].push_back(static_cast<int64_t>(i));
  int64_t matchable = 0;
  for (const auto& [id, members] : twins) {
    bool has_possible = false, has_impossible = false;
    for (int64_t i : members) (clips[i].possible ? has_possible : has_impossible) = true;
    matchable += has_possible && has_impossible;
  }
  if (matchable == 0) {
    throw sim::BadInput("--data '" + data.path +
                        "' has no matched possible/impossible twins (record it with rollout --twins)");
  }

  const torch::Device device = worldmodel::ResolveDevice(s.device);
  std::vector<ModelSource> models;
  for (const std::string& spec : s.models) {
    models.push_back(ResolveModel(spec, data, s.input, s.seed, device));
  }
  MakeNamesUnique(&models);

  nlohmann::json out = {{"protocol", "voe"},
                        {"data", data.Describe()},
                        {"content_hash", data.content_hash},
                        {"split", data.split},
                        {"bootstrap", s.bootstrap},
                        {"confidence", s.confidence},
                        {"seed", s.seed},
                        {"window",
                         "clip score = mean (and max) of per-frame surprise over frames t >= "
                         "max(v, C), v = the impossible twin's violation_frame, C = the model's "
                         "context; the same frames for both twins of a pair. AUROC: max "
                         "surprise over frames t >= C of every single clip"}};
  nlohmann::json results = nlohmann::json::array(), section = nlohmann::json::object(),
                 curves = nlohmann::json::object();
  for (ModelSource& model : models) {
    const int64_t context = model.Options().context;
    torch::manual_seed(s.seed);
    for (Clip& clip : clips) {
      const auto input = ModelInput(model, data.episodes[clip.episode]);
      const auto surprise =
          model.net->Surprise(input.observations, input.actions).squeeze(0).to(torch::kCPU,
                                                                                torch::kFloat64);
      clip.surprise.assign(surprise.data_ptr<double>(),
                           surprise.data_ptr<double>() + surprise.numel());
    }
    // Pairs: each impossible clip with the possible clip of its twin group.
    std::vector<TwinPair> pairs, pairs_max;
    std::vector<std::vector<int64_t>> groups;  // twin groups for the AUROC bootstrap
    int64_t skipped = 0;
    for (const auto& [id, members] : twins) {
      int64_t possible = -1;
      for (int64_t i : members) {
        if (clips[i].possible && possible < 0) possible = i;
      }
      groups.push_back(members);
      if (possible < 0) {
        for (int64_t i : members) skipped += !clips[i].possible;
        continue;
      }
      for (int64_t i : members) {
        if (clips[i].possible) continue;
        const int64_t v = clips[i].violation_frame;
        const ClipScore a = ScoreWindow(clips[possible].surprise, v, context);
        const ClipScore b = ScoreWindow(clips[i].surprise, v, context);
        if (v < 0 || std::isnan(a.mean) || std::isnan(b.mean)) {
          ++skipped;  // the violation never happened inside the clip
          continue;
        }
        pairs.push_back({id, clips[i].principle, a.mean, b.mean});
        pairs_max.push_back({id, clips[i].principle, a.max, b.max});
      }
    }
    std::map<std::string, std::vector<TwinPair>> by_principle;
    for (const TwinPair& p : pairs) by_principle[p.principle].push_back(p);
    const Interval overall = BootstrapPairwiseAccuracy(pairs, s.bootstrap, s.confidence, s.seed);
    const Interval overall_max =
        BootstrapPairwiseAccuracy(pairs_max, s.bootstrap, s.confidence, s.seed + 1);
    nlohmann::json per_principle = nlohmann::json::object(),
                   per_principle_ci = nlohmann::json::object(),
                   per_principle_n = nlohmann::json::object(),
                   principles_section = nlohmann::json::object();
    uint64_t offset = 2;
    for (const auto& [principle, subset] : by_principle) {
      const Interval i = BootstrapPairwiseAccuracy(subset, s.bootstrap, s.confidence, s.seed + offset++);
      per_principle[principle] = Number(i.estimate);
      per_principle_ci[principle] = {Number(i.low), Number(i.high)};
      per_principle_n[principle] = static_cast<int64_t>(subset.size());
      nlohmann::json entry = {{"accuracy", i.estimate}, {"n", static_cast<int64_t>(subset.size())}};
      if (std::isfinite(i.low)) entry["ci_low"] = i.low;
      if (std::isfinite(i.high)) entry["ci_high"] = i.high;
      principles_section[principle] = entry;
    }
    // AUROC of single clips: max surprise over the whole clip (no twin information).
    auto auroc_of = [&](const std::vector<int64_t>& group_indices) {
      std::vector<double> positives, negatives;
      for (int64_t g : group_indices) {
        for (int64_t i : groups[g]) {
          const double score = ScoreWindow(clips[i].surprise, 0, context).max;
          if (std::isnan(score)) continue;
          (clips[i].possible ? negatives : positives).push_back(score);
        }
      }
      return Auroc(positives, negatives);
    };
    const Interval auroc = PercentileBootstrap(static_cast<int64_t>(groups.size()), auroc_of,
                                               s.bootstrap, s.confidence, s.seed + offset++);
    nlohmann::json result = model.Describe();
    result["pairwise_accuracy"] = Number(overall.estimate);
    result["pairwise_accuracy_ci"] = {Number(overall.low), Number(overall.high)};
    result["pairwise_accuracy_max"] = Number(overall_max.estimate);
    result["pairwise_accuracy_max_ci"] = {Number(overall_max.low), Number(overall_max.high)};
    result["per_principle"] = per_principle;
    result["per_principle_ci"] = per_principle_ci;
    result["per_principle_n"] = per_principle_n;
    result["auroc"] = Number(auroc.estimate);
    result["auroc_ci"] = {Number(auroc.low), Number(auroc.high)};
    result["n_pairs"] = static_cast<int64_t>(pairs.size());
    result["n_skipped"] = skipped;
    result["n_clips"] = static_cast<int64_t>(clips.size());
    results.push_back(result);
    nlohmann::json entry = {{"principles", principles_section}};
    if (std::isfinite(auroc.estimate)) entry["auroc"] = auroc.estimate;
    section[model.name] = entry;
    if (!s.curves.empty()) {
      nlohmann::json list = nlohmann::json::array();
      for (const Clip& clip : clips) {
        list.push_back({{"episode", clip.episode},
                        {"twin_id", clip.twin_id},
                        {"possible", clip.possible},
                        {"principle", clip.principle},
                        {"violation_frame", clip.violation_frame},
                        {"surprise", clip.surprise}});
      }
      curves[model.name] = list;
    }
  }
  // The first model's numbers at the top level; all of them under "models".
  for (const char* key : {"pairwise_accuracy", "pairwise_accuracy_ci", "per_principle",
                          "per_principle_ci", "auroc", "auroc_ci", "n_pairs", "step"}) {
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
