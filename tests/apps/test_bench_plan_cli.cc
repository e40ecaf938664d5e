// End-to-end tests of `darkmatter bench plan`, `eval plan` (P4) and `rollout --policy
// cem:CKPT` (planning in a trained world model): keys, exit codes, bad input.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"

using darkmatter::testing::Darkmatter;
using darkmatter::testing::Run;
using darkmatter::testing::Scratch;

namespace {

nlohmann::json Json(const Run& r) {
  INFO(r.output);
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(r.output.substr(r.output.find('{')));
}

const std::string kSmallPlan =
    " plan.samples=8 plan.elites=2 plan.horizon=3 plan.iterations=1";

}  // namespace

TEST_CASE("cli: bench plan --json reports ms per action of CEM, MPPI and the oracle",
          "[cli][bench][planners]") {
  const nlohmann::json j =
      Json(Darkmatter("bench plan --json --samples 16 --horizon 4 --iterations 2 --actions 2 "
                      "--warmup 1 --oracle-actions 1"));
  REQUIRE(j.contains("cem_ms_per_action"));
  CHECK(j["cem_ms_per_action"].get<double>() > 0);
  CHECK(j["mppi_ms_per_action"].get<double>() > 0);
  CHECK(j["oracle_cem_ms_per_action"].get<double>() > 0);
  CHECK(j["cem_model_calls_per_action"].get<double>() == 2.0);  // one batched call per iteration
  CHECK(j["threads"] == 1);
  CHECK(Darkmatter("bench plan --samples 0").code == 2);
  CHECK(Darkmatter("bench plan --task no/such_task").code == 2);
}

TEST_CASE("cli: eval plan reports P4 figures on test seeds, bad policies exit 2",
          "[cli][eval][planners]") {
  const nlohmann::json j = Json(Darkmatter(
      "eval plan --task manipulation/reach --policy cem --episodes 2 --max-steps 3 --json" +
      kSmallPlan));
  CHECK(j["episodes"] == 2);
  CHECK(j["seed_base"].get<uint64_t>() == 2000000000ULL);
  CHECK(j["steps"] == 6);
  CHECK(j["model_calls_per_action"].get<double>() == 1.0);
  CHECK(j.contains("success_rate"));
  CHECK(j.contains("mean_return"));
  CHECK(j.contains("mean_final_goal_distance"));
  CHECK(j["per_episode"].size() == 2);
  const nlohmann::json driving = Json(Darkmatter(
      "eval plan --task driving/lane_keep --policy random --episodes 1 --max-steps 3 --json"));
  CHECK(driving.contains("collisions"));

  const Run missing = Darkmatter("eval plan --task manipulation/reach --policy cem:/no/such/run "
                                 "--episodes 1");
  CHECK(missing.code == 2);
  CHECK_THAT(missing.output, Catch::Contains("/no/such/run"));
  const Run unknown = Darkmatter("eval plan --task manipulation/reach --policy dance");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("dance"));
  const Run key = Darkmatter("eval plan --task manipulation/reach --policy cem plan.samples=0");
  CHECK(key.code == 2);
  CHECK_THAT(key.output, Catch::Contains("plan.samples"));
}

TEST_CASE("cli: a trained state jepa plans with --policy cem:RUN in rollout and eval plan",
          "[cli][planners][worldmodel]") {
  Scratch s;
  const std::string data = s / "reach.h5";
  REQUIRE(Darkmatter("rollout --task manipulation/reach --policy random --episodes 3 "
                     "--max-steps 20 --out " + data).code == 0);
  const std::string run = s / "jepa";
  REQUIRE(Darkmatter("train --model jepa --data " + data + " --out " + run +
                     " --device cpu train.steps=5 train.batch_size=8 model.hidden=16 "
                     "model.latent_dim=8").code == 0);
  const nlohmann::json rollout = Json(Darkmatter(
      "rollout --task manipulation/reach --policy cem:" + run + " --max-steps 4 --json" +
      kSmallPlan + " --out " + (s / "planned.h5")));
  CHECK(rollout["steps"] == 4);
  const nlohmann::json eval = Json(Darkmatter(
      "eval plan --task manipulation/reach --policy mppi:" + run +
      " --episodes 1 --max-steps 4 --json plan.samples=8 plan.horizon=3 plan.iterations=2"));
  CHECK(eval["model_calls_per_action"].get<double>() == 2.0);
  // The oracle's thread count is not a world-model setting; a state model on a pixel-only env
  // is bad input.
  CHECK(Darkmatter("eval plan --task manipulation/reach --policy cem:" + run +
                   " --episodes 1 plan.threads=2").code == 2);
  CHECK(Darkmatter("eval plan --task manipulation/reach --policy cem:" + run +
                   " --episodes 1 env.observation=pixels").code == 2);
}
