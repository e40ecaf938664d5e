#include "eval/voe_scoring.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "eval/statistics.h"
#include "eval/voe.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "sim/rng.h"

namespace darkmatter::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kTieTolerance = 1e-9;  // relative: sums that differ less are equal

// JSON number, or null for NaN (JSON has none).
nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

// {"accuracy", "ci": [low, high], "n"}.
nlohmann::json Entry(const Interval& i, size_t n) {
  return {{"accuracy", Number(i.estimate)},
          {"ci", {Number(i.low), Number(i.high)}},
          {"n", static_cast<int64_t>(n)}};
}

// The scores of one scorable set: clip scores of its members over the set's window.
struct ScoredSet {
  const TwinSet* set;
  std::array<double, 4> mean, max;
};

// Set accuracy over `sets` with a bootstrap interval over sets.
Interval BootstrapSetAccuracy(const std::vector<ScoredSet>& sets, const VoeScoring& s,
                              uint64_t seed) {
  return PercentileBootstrap(
      static_cast<int64_t>(sets.size()),
      [&](const std::vector<int64_t>& idx) {
        double sum = 0;
        for (int64_t i : idx) {
          const auto& m = sets[i].mean;
          sum += SetOutcome(m[2] + m[3], m[0] + m[1]);
        }
        return idx.empty() ? kNaN : sum / static_cast<double>(idx.size());
      },
      s.bootstrap, s.confidence, seed);
}

}  // namespace

double SetOutcome(double impossible, double possible) {
  const double scale = std::max(std::abs(impossible), std::abs(possible));
  if (std::abs(impossible - possible) <= kTieTolerance * scale) return 0.5;
  return impossible > possible ? 1.0 : 0.0;
}

std::vector<TwinSet> FindTwinSets(const std::vector<sim::Episode>& episodes,
                                  const std::string& path) {
  std::map<int64_t, TwinSet> by_id;
  std::map<int64_t, std::array<bool, 4>> seen;
  for (size_t k = 0; k < episodes.size(); ++k) {
    const sim::Episode& e = episodes[k];
    const auto id = e.scalars.find("set_id"), member = e.scalars.find("member");
    if (id == e.scalars.end() || member == e.scalars.end()) continue;
    const int m = static_cast<int>(member->second);
    if (m < 0 || m > 3) {
      throw sim::BadInput("--data '" + path + "': episode " + std::to_string(k) +
                          " has member " + std::to_string(m) + " (expected 0-3)");
    }
    TwinSet& set = by_id[static_cast<int64_t>(id->second)];
    set.set_id = static_cast<int64_t>(id->second);
    set.members[m] = static_cast<int64_t>(k);
    seen[set.set_id][m] = true;
    const auto principle = e.strings.find("principle");
    if (principle != e.strings.end()) set.principle = principle->second;
    const auto direction = e.strings.find("direction");
    if (m >= 2 && direction != e.strings.end()) set.directions[m - 2] = direction->second;
    const auto v = e.scalars.find("violation_frame");
    if (v != e.scalars.end()) set.violation_frame = static_cast<int64_t>(v->second);
  }
  if (by_id.empty()) {
    throw sim::BadInput("--data '" + path +
                        "' has no matched twin sets (no set_id labels): record it with rollout "
                        "--twins (files of the older pair layout are not read; re-record them)");
  }
  std::vector<TwinSet> sets;
  for (auto& [id, set] : by_id) {
    for (int m = 0; m < 4; ++m) {
      if (!seen[id][m]) {
        throw sim::BadInput("--data '" + path + "': twin set " + std::to_string(id) +
                            " lacks member " + std::to_string(m) + " (a set has members 0-3)");
      }
    }
    sets.push_back(set);
  }
  return sets;
}

std::vector<double> MotionEnergy(const sim::Episode& e, bool pixels) {
  const int64_t frames = e.Length() + 1;
  std::vector<double> energy(frames, 0.0);
  const int64_t width = pixels ? e.frame_height * e.frame_width * 3 : e.obs_dim;
  if (width <= 0) return energy;
  for (int64_t t = 1; t < frames; ++t) {
    double sum = 0;
    if (pixels) {
      const uint8_t* a = e.frames.data() + (t - 1) * width;
      const uint8_t* b = a + width;
      for (int64_t i = 0; i < width; ++i) sum += std::abs(int{b[i]} - int{a[i]});
      sum /= 255.0;
    } else {
      const double* a = e.observations.data() + (t - 1) * width;
      const double* b = a + width;
      for (int64_t i = 0; i < width; ++i) sum += std::abs(b[i] - a[i]);
    }
    energy[t] = sum / static_cast<double>(width);
  }
  return energy;
}

nlohmann::json ScoreTwinSets(const std::vector<TwinSet>& sets,
                             const std::vector<std::vector<double>>& surprise, int64_t context,
                             const VoeScoring& s) {
  std::vector<ScoredSet> scored;
  int64_t skipped = 0;
  for (const TwinSet& set : sets) {
    ScoredSet one{&set, {}, {}};
    bool ok = set.violation_frame >= 0;
    for (int m = 0; m < 4 && ok; ++m) {
      const ClipScore c = ScoreWindow(surprise[set.members[m]], set.violation_frame, context);
      one.mean[m] = c.mean;
      one.max[m] = c.max;
      ok = std::isfinite(c.mean);
    }
    if (ok) {
      scored.push_back(one);
    } else {
      ++skipped;  // not made, or the violation lies beyond the frames the model scores
    }
  }
  // Pairs: member 2 against its partner 0, member 3 against 1.
  std::vector<TwinPair> pairs, pairs_max;
  std::map<std::string, std::vector<TwinPair>> by_direction;
  for (const ScoredSet& one : scored) {
    for (int k = 0; k < 2; ++k) {
      const TwinPair p{one.set->set_id, one.set->principle, one.mean[k], one.mean[k + 2]};
      pairs.push_back(p);
      pairs_max.push_back({one.set->set_id, one.set->principle, one.max[k], one.max[k + 2]});
      by_direction[one.set->principle + "/" + one.set->directions[k]].push_back(p);
    }
  }
  std::map<std::string, std::vector<ScoredSet>> sets_by_principle;
  std::map<std::string, std::vector<TwinPair>> pairs_by_principle;
  for (const ScoredSet& one : scored) sets_by_principle[one.set->principle].push_back(one);
  for (const TwinPair& p : pairs) pairs_by_principle[p.principle].push_back(p);

  uint64_t seed = s.seed;
  nlohmann::json out;
  const Interval overall = BootstrapSetAccuracy(scored, s, seed++);
  out["set_accuracy"] = Number(overall.estimate);
  out["set_accuracy_ci"] = {Number(overall.low), Number(overall.high)};
  nlohmann::json per_set = nlohmann::json::object();
  for (const auto& [principle, subset] : sets_by_principle) {
    per_set[principle] = Entry(BootstrapSetAccuracy(subset, s, seed++), subset.size());
  }
  out["per_principle_set"] = per_set;
  const Interval pairwise = BootstrapPairwiseAccuracy(pairs, s.bootstrap, s.confidence, seed++);
  const Interval pairwise_max =
      BootstrapPairwiseAccuracy(pairs_max, s.bootstrap, s.confidence, seed++);
  out["pairwise_accuracy"] = Number(pairwise.estimate);
  out["pairwise_accuracy_ci"] = {Number(pairwise.low), Number(pairwise.high)};
  out["pairwise_accuracy_max"] = Number(pairwise_max.estimate);
  out["pairwise_accuracy_max_ci"] = {Number(pairwise_max.low), Number(pairwise_max.high)};
  nlohmann::json per_principle = nlohmann::json::object(), per_ci = nlohmann::json::object(),
                 per_n = nlohmann::json::object(), per_direction = nlohmann::json::object();
  for (const auto& [principle, subset] : pairs_by_principle) {
    const Interval i = BootstrapPairwiseAccuracy(subset, s.bootstrap, s.confidence, seed++);
    per_principle[principle] = Number(i.estimate);
    per_ci[principle] = {Number(i.low), Number(i.high)};
    per_n[principle] = static_cast<int64_t>(subset.size());
  }
  for (const auto& [direction, subset] : by_direction) {
    per_direction[direction] = Entry(
        BootstrapPairwiseAccuracy(subset, s.bootstrap, s.confidence, seed++), subset.size());
  }
  out["per_principle"] = per_principle;
  out["per_principle_ci"] = per_ci;
  out["per_principle_n"] = per_n;
  out["per_direction"] = per_direction;
  // AUROC of single clips (max surprise over t >= context; no set information), over sets.
  auto auroc_of = [&](const std::vector<int64_t>& idx) {
    std::vector<double> positives, negatives;
    for (int64_t i : idx) {
      for (int m = 0; m < 4; ++m) {
        const double score = ScoreWindow(surprise[scored[i].set->members[m]], 0, context).max;
        if (!std::isnan(score)) (m >= 2 ? positives : negatives).push_back(score);
      }
    }
    return Auroc(positives, negatives);
  };
  const Interval auroc = PercentileBootstrap(static_cast<int64_t>(scored.size()), auroc_of,
                                             s.bootstrap, s.confidence, seed++);
  out["auroc"] = Number(auroc.estimate);
  out["auroc_ci"] = {Number(auroc.low), Number(auroc.high)};
  out["n_sets"] = static_cast<int64_t>(scored.size());
  out["n_skipped_sets"] = skipped;
  out["n_pairs"] = static_cast<int64_t>(pairs.size());
  out["n_clips"] = static_cast<int64_t>(4 * sets.size());
  return out;
}

// --- the statistics of voe.h ---

double PairwiseAccuracy(std::span<const TwinPair> pairs) {
  if (pairs.empty()) return kNaN;
  double wins = 0;
  for (const TwinPair& p : pairs) wins += SetOutcome(p.impossible, p.possible);
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
  if (replicates < 1 || replicates > sim::kMaxSamples) {
    throw sim::BadInput("--bootstrap " + std::to_string(replicates) + ": must be in [1, " +
                        std::to_string(sim::kMaxSamples) + "]");
  }
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

}  // namespace darkmatter::eval
