// darkmatter train: bad inputs exit 2 and write nothing; a resumed run equals an
// uninterrupted one.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"

using darkmatter::testing::Darkmatter;
using darkmatter::testing::kPendulum;
using darkmatter::testing::Run;
using darkmatter::testing::Scratch;

namespace {

// Tiny settings: seconds on a CPU.
const std::string kTiny =
    " --device cpu train.batch_size=16 model.hidden=16 model.latent_dim=8 train.seed=3"
    " train.checkpoint_every=5";

std::string Record(const Scratch& s) {
  const std::string file = s / "pendulum.h5";
  const Run r = Darkmatter("rollout " + kPendulum + " --episodes 4 --seed 1 --out " + file);
  REQUIRE(r.code == 0);
  return file;
}

nlohmann::json Json(const Run& r) {
  INFO(r.output);
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(r.output.substr(r.output.find('{')));
}

}  // namespace

TEST_CASE("cli: bad train inputs exit 2, name the problem, and write nothing",
          "[cli][train][errors]") {
  Scratch s;
  const std::string data = Record(s);
  const std::string out = s / "run";
  struct Case {
    std::string args, expected;
  };
  const Case cases[] = {
      {"--model jepa --data " + (s / "missing.h5") + " --out " + out, "missing.h5"},
      {"--model jepa --data " + data + " --out " + out + " train.bogus=1", "train.bogus"},
      {"--model jepa --data " + data + " --out " + out + " train.steps=abc", "abc"},
      {"--model jepa --data " + data + " --out " + out + " train.steps=0", "train.steps"},
      {"--model jepa --data " + data + " --out " + out + " model.ema=1.5", "model.ema"},
      {"--model dreamer --data " + data + " --out " + out, "models that exist: jepa"},
      {"--model jepa --data " + data + " --out " + out + " model.input=pixels", "rollout --render"},
      {"--model supervised --data " + data + " --out " + out, "label field 'positions'"},
      {"--model jepa --data " + data + " --out " + out + " model.input=depth", "model.input"},
      {"--model jepa --data " + data + "," + (s / "nope.h5") + " --out " + out, "nope.h5"},
      {"--model jepa --data " + data + " --out " + out + " --nproc 2 train.bogus=1", "train.bogus"},
      {"--model ppo --data " + data + " --out " + out, "'ppo'"},
      {"--model jepa --data " + data + " --out " + out + " --device tpu", "'tpu'"},
      {"--model jepa --data " + data + " --out " + out + " --resume", "checkpoint"},
  };
  for (const Case& c : cases) {
    const Run r = Darkmatter("train " + c.args);
    INFO(c.args << "\n" << r.output);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.expected));
    CHECK(!std::filesystem::exists(out));
  }
}

TEST_CASE("cli: train writes metrics and a checkpoint, --resume equals an uninterrupted run",
          "[cli][train]") {
  Scratch s;
  const std::string data = Record(s);
  const nlohmann::json full = Json(Darkmatter("train --model jepa --data " + data + " --out " +
                                              (s / "full") + kTiny + " train.steps=20 --json"));
  CHECK(full["steps"] == 20);
  CHECK(full["content_hash"].get<std::string>().size() == 16);
  CHECK(std::filesystem::exists(s / "full/checkpoint.pt"));
  CHECK(!std::filesystem::exists(s / "full/checkpoint.pt.tmp"));
  std::ifstream metrics(s / "full/metrics.jsonl");
  std::string line, last;
  int lines = 0;
  while (std::getline(metrics, line)) {
    last = line;
    ++lines;
  }
  CHECK(lines >= 2);
  const auto final_line = nlohmann::json::parse(last);
  CHECK(final_line["step"] == 20);
  CHECK(final_line.contains("prediction"));
  CHECK(final_line.contains("variance"));
  std::ifstream run_file(s / "full/run.json");
  const auto run = nlohmann::json::parse(run_file);
  CHECK(run["content_hash"] == full["content_hash"]);
  CHECK(run["settings"]["train.steps"] == "20");

  // "Killed" after 10 steps (its last checkpoint), then resumed to 20.
  const nlohmann::json half = Json(Darkmatter("train --model jepa --data " + data + " --out " +
                                              (s / "split") + kTiny + " train.steps=10 --json"));
  const nlohmann::json resumed =
      Json(Darkmatter("train --model jepa --data " + data + " --out " + (s / "split") + kTiny +
                      " train.steps=20 --resume --json"));
  CHECK(resumed["start_step"] == 10);
  CHECK(half["parameter_hash"] != full["parameter_hash"]);
  CHECK(resumed["parameter_hash"] == full["parameter_hash"]);

  // Resuming on other data (a different content hash) is refused.
  const std::string other = s / "other.h5";
  REQUIRE(Darkmatter("rollout " + kPendulum + " --episodes 4 --seed 50 --out " + other).code == 0);
  const Run moved = Darkmatter("train --model jepa --data " + other + " --out " + (s / "split") +
                               kTiny + " train.steps=30 --resume");
  CHECK(moved.code == 2);
  CHECK_THAT(moved.output, Catch::Contains("content hash"));

  // A mismatched architecture is refused by the strict loader, naming the tensors.
  const Run wrong = Darkmatter("train --model jepa --data " + data + " --out " + (s / "split") +
                               kTiny + " model.hidden=32 train.steps=30 --resume");
  CHECK(wrong.code == 2);
  CHECK_THAT(wrong.output, Catch::Contains("mis-shaped") && Catch::Contains("encoder.0.weight"));
}

TEST_CASE("cli: train --nproc 2 trains one model over two processes, short keys work",
          "[cli][train][distributed]") {
  Scratch s;
  const std::string data = Record(s);
  const auto json = Json(Darkmatter("train --model jepa --data " + data + " --out " + (s / "dp") +
                                    kTiny + " --nproc 2 steps=6 batch_size=4 --json"));
  CHECK(json["steps"] == 6);
  std::ifstream in(std::filesystem::path(s / "dp") / "run.json");
  const auto run = nlohmann::json::parse(in);
  CHECK(run["processes"] == 2);
  CHECK(run["parameter_hash"] == json["parameter_hash"]);
  CHECK(std::filesystem::exists(std::filesystem::path(s / "dp") / "checkpoint.pt"));
  // One metrics line per logged step, written by rank 0 only.
  std::ifstream metrics(std::filesystem::path(s / "dp") / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) ++lines;
  CHECK(lines == 2);  // step 1 and step 6 (log_every 10)
}
