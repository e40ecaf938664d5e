#include <catch2/catch.hpp>

#include <vector>

#include "eval/statistics.h"
#include "sim/error.h"

namespace eval = darkmatter::eval;

TEST_CASE("InterquartileMean: trims the tails", "[eval][stats]") {
  // Eight values sorted: -50 1 2 3 4 5 6 100; the middle four are 2, 3, 4, 5.
  const std::vector<double> values = {100, 1, 3, 4, 5, 6, 2, -50};
  CHECK(eval::InterquartileMean(values) == Approx(3.5));
  // Fractional weights: n = 5, keep [1.25, 3.75) -> 0.75*x1 + x2 + 0.75*x3 over 2.5.
  const std::vector<double> five = {1, 2, 3, 4, 5};
  CHECK(eval::InterquartileMean(five) == Approx((0.75 * 2 + 3 + 0.75 * 4) / 2.5));
  CHECK(eval::Mean(five) == Approx(3.0));
}

TEST_CASE("BootstrapIqm: the interval covers the estimate and narrows with data",
          "[eval][stats]") {
  const std::vector<std::vector<double>> small = {{0.1, 0.5, 0.9}, {0.2, 0.4, 0.8}};
  std::vector<std::vector<double>> large(2);
  for (int i = 0; i < 200; ++i) {
    large[0].push_back(0.1 + 0.8 * (i % 3) / 2.0);
    large[1].push_back(0.2 + 0.6 * (i % 3) / 2.0);
  }
  const eval::Interval a = eval::BootstrapIqm(small, 2000, 0.95, 1);
  const eval::Interval b = eval::BootstrapIqm(large, 2000, 0.95, 1);
  CHECK(a.low <= a.estimate);
  CHECK(a.estimate <= a.high);
  CHECK((b.high - b.low) < (a.high - a.low));
  // Deterministic for a seed.
  const eval::Interval again = eval::BootstrapIqm(small, 2000, 0.95, 1);
  CHECK(again.low == a.low);
  CHECK(again.high == a.high);
  CHECK_THROWS_AS(eval::BootstrapIqm({}, 10, 0.95, 1), darkmatter::sim::BadInput);
  CHECK_THROWS_AS(eval::BootstrapIqm(small, 10, 1.5, 1), darkmatter::sim::BadInput);
}
