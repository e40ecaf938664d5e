// darkmatter suite / suite merge from the command line: exit codes, summary, resume.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"

using darkmatter::testing::Darkmatter;
using darkmatter::testing::Scratch;

TEST_CASE("suite CLI: bad preset, key or shard exits 2 naming it", "[suite]") {
  Scratch scratch;
  const auto preset = Darkmatter("suite --preset huge --out " + (scratch / "s"));
  CHECK(preset.code == 2);
  CHECK(preset.output.find("huge") != std::string::npos);
  const auto key = Darkmatter("suite --preset test --out " + (scratch / "s") + " nokey=1");
  CHECK(key.code == 2);
  CHECK(key.output.find("nokey") != std::string::npos);
  const auto shard = Darkmatter("suite --preset test --shard 3/2 --out " + (scratch / "s"));
  CHECK(shard.code == 2);
  CHECK(shard.output.find("3/2") != std::string::npos);
  const auto device = Darkmatter("suite --preset test --out " + (scratch / "d") + " device=tpu");
  CHECK(device.code == 2);
  CHECK(device.output.find("device=tpu") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(scratch / "d/results.json"));
  // No CUDA on this machine: asking for it is a clear error, not a crash (skipped with CUDA).
  const auto cuda = Darkmatter("suite --preset test --out " + (scratch / "c") + " device=cuda");
  if (cuda.code != 0) {
    CHECK(cuda.code == 2);
    CHECK(cuda.output.find("device=cuda") != std::string::npos);
  }
}

TEST_CASE("suite CLI: run, rerun skips, --json summary, merge refuses other configs", "[suite]") {
  Scratch scratch;
  const auto first = Darkmatter("suite --preset test --out " + (scratch / "a"));
  REQUIRE(first.code == 0);
  CHECK(first.output.find("headline") != std::string::npos);
  CHECK(first.output.find("report.html") != std::string::npos);
  const auto again = Darkmatter("suite --preset test --json --out " + (scratch / "a"));
  REQUIRE(again.code == 0);
  const auto summary = nlohmann::json::parse(again.output.substr(again.output.find('{')));
  CHECK(summary["ran"] == 0);
  CHECK(summary["skipped"] == summary["cells"]);
  REQUIRE(Darkmatter("suite --preset test --out " + (scratch / "b") + " eval.episodes=1").code == 0);
  const auto merge =
      Darkmatter("suite merge " + (scratch / "a") + " " + (scratch / "b") + " --out " + (scratch / "m"));
  CHECK(merge.code == 2);
  CHECK(merge.output.find(scratch / "b") != std::string::npos);
  const auto ok = Darkmatter("suite merge " + (scratch / "a") + " --out " + (scratch / "m"));
  CHECK(ok.code == 0);
  CHECK(std::filesystem::exists(scratch / "m/results.json"));
}

TEST_CASE("suite CLI: the summary shows the physics cells' VoE beside both nulls",
          "[suite][cli]") {
  Scratch scratch;
  const auto run = Darkmatter("suite --preset test --out " + (scratch / "p") +
                              " tasks=physics/collide methods=random physics.protocols=voe "
                              "physics.test_episodes=2 jepa.steps=5 seeds=1 videos.enabled=false");
  REQUIRE(run.code == 0);
  CHECK_THAT(run.output, Catch::Contains("physics: violation of expectation"));
  CHECK_THAT(run.output, Catch::Contains("physics/collide: jepa ") &&
                             Catch::Contains("| untrained ") &&
                             Catch::Contains("| motion energy ") &&
                             Catch::Contains("| prediction/copy "));
}
