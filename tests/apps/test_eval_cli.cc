// End-to-end tests of `darkmatter eval voe|ocp|probe|futures`: JSON results and exit codes.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"

namespace darkmatter::testing {

TEST_CASE("cli: eval voe on a tiny twin sets file prints JSON with the nulls",
          "[cli][eval]") {
  Scratch s;
  REQUIRE(Darkmatter("rollout --task physics/collide --twins --episodes 3 --split test --out " +
                     s / "twins.h5")
              .code == 0);
  Run run = Darkmatter("eval voe --model untrained:jepa --model untrained:generative --data " +
                       s / "twins.h5" + " --bootstrap 100 --untrained-inits 2 --json");
  REQUIRE(run.code == 0);
  const auto json = nlohmann::json::parse(run.output.substr(run.output.find('{')));
  CHECK(json["models"][0]["inits"] == 2);
  CHECK(json["n_sets"] == 3);
  CHECK(json["n_pairs"] == 6);  // two impossible members per set
  CHECK(json["split"] == "test");
  CHECK(json["models"].size() == 3);  // and the motion-energy null on state
  CHECK(json["models"][2]["null"] == "motion-energy");
  CHECK(json["set_accuracy"].get<double>() >= 0.0);
  CHECK(json["per_principle"].contains("solidity"));
  CHECK(json["pairwise_accuracy"].get<double>() >= 0.0);
  CHECK(json["pairwise_accuracy"].get<double>() <= 1.0);
  Run text = Darkmatter("eval voe --model untrained:jepa --data " + s / "twins.h5" +
                        " --bootstrap 50 --untrained-inits 1");
  CHECK(text.code == 0);
  CHECK_THAT(text.output, Catch::Contains("solidity"));
  Run zero = Darkmatter("eval voe --model untrained:jepa --data " + s / "twins.h5" +
                        " --untrained-inits 0");
  CHECK(zero.code == 2);
  CHECK_THAT(zero.output, Catch::Contains("--untrained-inits 0"));
}

TEST_CASE("cli: eval with bad input exits 2 naming the file, field or value",
          "[cli][eval][errors]") {
  Scratch s;
  REQUIRE(Darkmatter("rollout --task physics/collide --episodes 2 --out " + s / "plain.h5").code ==
          0);
  const std::string plain = s / "plain.h5";
  Run missing = Darkmatter("eval voe --model untrained:jepa --data " + s / "nope.h5");
  CHECK(missing.code == 2);
  CHECK_THAT(missing.output, Catch::Contains("nope.h5"));
  Run no_twins = Darkmatter("eval voe --model untrained:jepa --data " + plain);
  CHECK(no_twins.code == 2);
  CHECK_THAT(no_twins.output, Catch::Contains("no matched twin sets") && Catch::Contains("plain.h5"));
  Run field = Darkmatter("eval probe --model untrained:jepa --train " + plain + " --data " +
                         plain + " --fields wingspan --labels ''");
  CHECK(field.code == 2);
  CHECK_THAT(field.output, Catch::Contains("wingspan"));
  Run pixels = Darkmatter("eval probe --model untrained:jepa --input pixels --train " + plain +
                          " --data " + plain + " --fields positions --labels ''");
  CHECK(pixels.code == 2);
  CHECK_THAT(pixels.output, Catch::Contains("no frames"));
  Run horizon = Darkmatter("eval probe --model untrained:jepa --train " + plain + " --data " +
                           plain + " --horizons 0,x");
  CHECK(horizon.code == 2);
  CHECK_THAT(horizon.output, Catch::Contains("--horizons"));
  Run model = Darkmatter("eval ocp --model " + s / "no_run" + " --train " + plain + " --data " +
                         plain);
  CHECK(model.code == 2);
  CHECK_THAT(model.output, Catch::Contains("no_run"));
  CHECK(Darkmatter("eval").code == 2);
}

}  // namespace darkmatter::testing
