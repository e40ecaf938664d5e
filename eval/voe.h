// P1 violation of expectation on matched twin sets (rollout --twins): per-frame surprise of
// every clip, the set score (the two impossible members together more surprising than the two
// possible ones; chance 0.5), pairwise accuracy per direction and the AUROC of single clips,
// each with a bootstrap interval, beside the nulls that know no physics (motion energy on
// pixels and state, an untrained network of the model's shape). Torch-free: settings in, JSON
// out; the scoring itself is in eval/voe_scoring.h.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/external.h"
#include "eval/statistics.h"

namespace darkmatter::eval {

struct VoeSettings {
  std::vector<std::string> models;  // --model specs (CKPT, untrained:NAME), compared side by side
  std::string data;                 // twin sets file (rollout --twins)
  std::string input;                // untrained models: state | pixels ("" = pixels if frames)
  std::string device = "cpu";       // auto | cpu | cuda[:N]
  int bootstrap = 1000;             // bootstrap replicates of each interval
  double confidence = 0.95;         // interval coverage, in (0, 1)
  uint64_t seed = 0;                // torch seed (untrained nets, stochastic surprise), bootstrap
  std::string curves;               // optional JSON file: every clip's per-frame surprise
  bool nulls = true;                // add the motion-energy nulls (pixels when the file has
                                    // frames, state when it has observations) and, unless an
                                    // untrained model is given, untrained:<first model>
  int untrained_inits = 8;          // an untrained model is this many initialisations (seeds
                                    // seed, seed+1, ...): its surprise is their mean (each
                                    // scaled to mean 1), and each one's set accuracy is listed
  std::vector<ExternalScorer> external;  // scored after the models; with no models the first
                                         // of them leads the results (and no untrained null)
};

// The scores of one matched pair: an impossible member and the possible member it shares its
// frames before the violation with (same set).
struct TwinPair {
  int64_t twin_id = 0;      // the set
  std::string principle;    // the principle the impossible clip breaks
  double possible = 0;      // clip score S(possible)
  double impossible = 0;    // clip score S(impossible)
};

// Mean of 1[S(impossible) > S(possible)] over the pairs, a tie (within a relative 1e-9)
// counting 1/2 (chance 0.5); NaN for no pairs.
double PairwiseAccuracy(std::span<const TwinPair> pairs);

// Area under the ROC curve of scores separating positives from negatives:
// P(positive > negative) + P(tie) / 2 (Mann-Whitney); NaN when a class is empty.
double Auroc(std::span<const double> positives, std::span<const double> negatives);

// Percentile interval of a statistic over `n` units resampled with replacement: `statistic`
// gets the resampled unit indices (n of them, repeats allowed); NaN replicates are dropped.
Interval PercentileBootstrap(int64_t n, const std::function<double(const std::vector<int64_t>&)>&
                                            statistic,
                             int replicates, double confidence, uint64_t seed);

// Pairwise accuracy with a percentile interval from resampling the pairs (replicates >= 1,
// confidence in (0, 1)).
Interval BootstrapPairwiseAccuracy(std::span<const TwinPair> pairs, int replicates,
                                   double confidence, uint64_t seed);

// Clip scores from per-frame surprise: the mean and the max over frames t >= from
// (from clamped to [first, L)); frames before `first` (the model's context, surprise 0) are
// never scored.
struct ClipScore {
  double mean = 0;
  double max = 0;
};
ClipScore ScoreWindow(std::span<const double> surprise, int64_t from, int64_t first);

// Most inits an untrained null may average (--untrained-inits).
inline constexpr int kMaxUntrainedInits = 64;

// Runs P1 for every model, external scorer (and the nulls) on the twin sets file. Throws
// BadInput naming the file, set, model or label when the file has no sets, a set lacks a
// member, a model cannot read it, or an external scorer gives a clip the wrong number of
// values or a non-finite one. The JSON holds the data file (path, content_hash, split), the window rule,
// for the first model `set_accuracy`, `per_principle_set`, `pairwise_accuracy`,
// `per_principle`, `per_direction`, their intervals, `auroc`, `n_sets`, `n_pairs`; every model
// and null under `models` (nulls with "null": "motion-energy" or "untrained"), plus a `voe`
// section in the results.json format (docs/results-format.md).
nlohmann::json RunVoe(const VoeSettings& settings);

}  // namespace darkmatter::eval
