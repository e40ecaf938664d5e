#include <catch2/catch.hpp>

#include <cmath>

#include "sim/rng.h"

using darkmatter::sim::Rng;

TEST_CASE("Rng: same seed gives the same stream, different seeds differ", "[sim][rng]") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.NextU64();
    REQUIRE(x == b.NextU64());
    CHECK(x != c.NextU64());
  }
}

TEST_CASE("Rng: state round-trip continues the stream exactly", "[sim][rng]") {
  Rng a(7);
  for (int i = 0; i < 10; ++i) a.NextU64();
  Rng b(0);
  b.SetState(a.State());
  for (int i = 0; i < 100; ++i) REQUIRE(a.Uniform() == b.Uniform());
}

TEST_CASE("Rng: uniform and normal moments", "[sim][rng]") {
  Rng rng(1);
  const int n = 200000;
  double sum = 0, sum_sq = 0, normal_sum = 0, normal_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.Uniform(-2.0, 3.0);
    REQUIRE(u >= -2.0);
    REQUIRE(u < 3.0);
    sum += u;
    sum_sq += u * u;
    const double z = rng.Normal();
    normal_sum += z;
    normal_sq += z * z;
  }
  CHECK(sum / n == Approx(0.5).margin(0.02));
  CHECK(sum_sq / n - std::pow(sum / n, 2) == Approx(25.0 / 12.0).margin(0.03));
  CHECK(normal_sum / n == Approx(0.0).margin(0.01));
  CHECK(normal_sq / n == Approx(1.0).margin(0.02));
}
