#include "eval/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "sim/error.h"
#include "sim/rng.h"

namespace darkmatter::eval {

double Mean(std::span<const double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double InterquartileMean(std::span<const double> values) {
  const size_t n = values.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  // Value i covers [i, i+1) of [0, n); keep the overlap with [n/4, 3n/4).
  const double lo = 0.25 * static_cast<double>(n), hi = 0.75 * static_cast<double>(n);
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double weight =
        std::max(0.0, std::min(hi, i + 1.0) - std::max(lo, static_cast<double>(i)));
    sum += weight * sorted[i];
  }
  return sum / (hi - lo);
}

double Percentile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double frac = position - static_cast<double>(below);
  return sorted[below] * (1.0 - frac) + sorted[above] * frac;
}

Interval BootstrapIqm(const std::vector<std::vector<double>>& scores, int replicates,
                      double confidence, uint64_t seed) {
  if (replicates < 1) throw sim::BadInput("bootstrap replicates must be >= 1");
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw sim::BadInput("confidence must be in (0, 1)");
  }
  std::vector<double> all;
  for (const auto& task : scores) all.insert(all.end(), task.begin(), task.end());
  if (all.empty()) throw sim::BadInput("bootstrap needs at least one score");
  Interval interval;
  interval.estimate = InterquartileMean(all);
  sim::Rng rng(seed);
  std::vector<double> statistics(replicates), resample(all.size());
  for (int r = 0; r < replicates; ++r) {
    size_t k = 0;
    for (const auto& task : scores) {
      for (size_t i = 0; i < task.size(); ++i) resample[k++] = task[rng.Below(task.size())];
    }
    statistics[r] = InterquartileMean(resample);
  }
  std::sort(statistics.begin(), statistics.end());
  interval.low = Percentile(statistics, (1.0 - confidence) / 2.0);
  // Interpolating between equal values can differ in the last bit; keep the bounds ordered.
  interval.high = std::max(interval.low, Percentile(statistics, 1.0 - (1.0 - confidence) / 2.0));
  return interval;
}

}  // namespace darkmatter::eval
