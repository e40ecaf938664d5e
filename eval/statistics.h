// Aggregate statistics over seeds (rliable-style): mean, interquartile mean, and
// percentile confidence intervals from a stratified bootstrap.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace darkmatter::eval {

// Arithmetic mean (NaN for no values).
double Mean(std::span<const double> values);
// Interquartile mean: the mean of the middle 50% of the sorted values, with fractional
// weights for values straddling the 25th/75th percentiles (NaN for no values).
double InterquartileMean(std::span<const double> values);
// The q-quantile (q in [0, 1]) of sorted, non-empty data, interpolating linearly.
double Percentile(const std::vector<double>& sorted, double q);

// A point estimate with a confidence interval.
struct Interval {
  double estimate = 0;  // statistic on the original sample
  double low = 0;       // lower bound
  double high = 0;      // upper bound
};

// Stratified bootstrap of the IQM over tasks: `scores[t]` holds the per-seed scores of
// task t; each replicate resamples seeds within every task and takes the IQM of all
// resampled scores. Returns the percentile interval at `confidence` (e.g. 0.95).
Interval BootstrapIqm(const std::vector<std::vector<double>>& scores, int replicates,
                      double confidence, uint64_t seed);

}  // namespace darkmatter::eval
