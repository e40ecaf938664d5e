// End-to-end tests of `darkmatter rollout --policy cem|mppi`: plan.* settings, exit codes.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "tests/apps/cli_runner.h"

namespace darkmatter::testing {

TEST_CASE("cli: rollout --policy cem|mppi with bad plan.* values exits 2 naming the key",
          "[cli][errors][planners]") {
  Scratch s;
  const std::string to = " --out " + s / "out.h5";
  const std::string reach = "rollout --task manipulation/reach";
  Run zero = Darkmatter(reach + " --policy cem plan.samples=0" + to);
  CHECK(zero.code == 2);
  CHECK_THAT(zero.output, Catch::Contains("plan.samples") && Catch::Contains("0"));
  Run text = Darkmatter(reach + " --policy mppi plan.horizon=abc" + to);
  CHECK(text.code == 2);
  CHECK_THAT(text.output, Catch::Contains("plan.horizon") && Catch::Contains("abc"));
  Run temperature = Darkmatter(reach + " --policy mppi plan.temperature=-1" + to);
  CHECK(temperature.code == 2);
  CHECK_THAT(temperature.output, Catch::Contains("plan.temperature=-1"));
  Run threads = Darkmatter(reach + " --policy cem plan.threads=0" + to);
  CHECK(threads.code == 2);
  CHECK_THAT(threads.output, Catch::Contains("plan.threads=0"));
  // MPPI has no elites; a random policy takes no plan.* keys.
  Run unknown = Darkmatter(reach + " --policy mppi plan.elites=3" + to);
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("plan.elites"));
  CHECK(Darkmatter(reach + " --policy random plan.samples=8" + to).code == 2);
  CHECK(s.Files().empty());  // nothing written
}

TEST_CASE("cli: rollout --policy cem records a short planned episode", "[cli][planners]") {
  Scratch s;
  Run run = Darkmatter("rollout --task driving/lane_keep --policy cem --max-steps 5 "
                       "plan.samples=8 plan.elites=2 plan.horizon=4 plan.iterations=1 "
                       "plan.threads=2 --json --out " + s / "cem.h5");
  REQUIRE(run.code == 0);
  CHECK_THAT(run.output, Catch::Contains("\"steps\": 5"));
  CHECK(s.Files() == std::set<std::string>{"cem.h5"});
  Run show = Darkmatter("rollout --task manipulation/reach --policy mppi --show-config");
  CHECK(show.code == 0);
  CHECK_THAT(show.output, Catch::Contains("plan.temperature") && Catch::Contains("plan.threads"));
}

}  // namespace darkmatter::testing
