// darkmatter bench train: a short run against Debian's python3-torch gives positive
// throughputs for both sides with matching models; bad options exit 2 naming them.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"

namespace darkmatter::testing {
namespace {

TEST_CASE("bench train --json measures C++ and Python on the same state model",
          "[apps][bench]") {
  const Run run = Darkmatter("bench train --steps 3 --warmup 1 --rounds 1 --json --input state");
  INFO(run.output);
  REQUIRE(run.code == 0);
  const auto j = nlohmann::json::parse(run.output);
  REQUIRE(j.contains("state"));
  CHECK_FALSE(j.contains("pixels"));
  const auto& s = j["state"];
  for (const char* key : {"cpp_steps_per_s", "python_steps_per_s", "ratio_vs_python"}) {
    INFO(key);
    REQUIRE(s.contains(key));
    CHECK(s[key].get<double>() > 0.0);
  }
  CHECK(s["parameters"].get<int64_t>() > 0);
  // The Python model started from the same weights and batch: the same initial loss.
  CHECK(s["python_initial_loss"].get<double>() ==
        Approx(s["initial_loss"].get<double>()).epsilon(1e-4));
  CHECK(j["steps"] == 3);
  CHECK(j["threads"].get<int>() >= 1);
  CHECK(j["batch_size"].get<int>() >= 2);
}

TEST_CASE("bench train rejects bad options with exit 2, naming them", "[apps][bench]") {
  struct Case {
    const char* args;
    const char* names;
  };
  for (const Case& c : {Case{"--steps 0", "--steps"}, Case{"--batch-size 1", "--batch-size"},
                        Case{"--threads -1", "--threads"}, Case{"--input video", "--input"},
                        Case{"--rounds 0", "--rounds"}, Case{"--warmup -2", "--warmup"},
                        Case{"--steps abc", "--steps"},
                        Case{"--python /nonexistent/python3", "/nonexistent/python3"},
                        Case{"--python /bin/false", "--python"}}) {
    const Run run = Darkmatter(std::string("bench train --input state ") + c.args);
    INFO(c.args << "\n" << run.output);
    CHECK(run.code == 2);
    CHECK(run.output.find(c.names) != std::string::npos);
  }
}

TEST_CASE("bench train names --python and the package when torch cannot be imported",
          "[apps][bench]") {
  Scratch scratch;
  const std::string python = scratch / "python_without_site";  // no dist-packages: no torch
  std::ofstream(python) << "#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n";
  REQUIRE(::chmod(python.c_str(), 0755) == 0);
  const Run run = Darkmatter("bench train --input state --steps 1 --python " + python);
  INFO(run.output);
  CHECK(run.code == 2);
  CHECK(run.output.find("--python " + python) != std::string::npos);
  CHECK(run.output.find("python3-torch") != std::string::npos);
}

}  // namespace
TEST_CASE("bench train --nproc 2 reports data-parallel throughput and efficiency",
          "[apps][bench][distributed]") {
  const Run run = Darkmatter("bench train --nproc 2 --input state --json");
  INFO(run.output);
  REQUIRE(run.code == 0);
  const auto j = nlohmann::json::parse(run.output.substr(run.output.find('{')));
  CHECK(j["nproc"] == 2);
  REQUIRE(j.contains("state"));
  CHECK_FALSE(j.contains("pixels"));
  for (const char* key : {"seconds_1", "seconds_n", "samples_per_s_1", "samples_per_s_n",
                          "speedup", "parallel_efficiency"}) {
    INFO(key);
    CHECK(j["state"][key].get<double>() > 0.0);
  }
  CHECK(j["state"]["parallel_efficiency"].get<double>() ==
        Approx(j["state"]["speedup"].get<double>() / 2));
  const Run odd = Darkmatter("bench train --nproc 2 --batch-size 33 --input state");
  CHECK(odd.code == 2);
  CHECK_THAT(odd.output, Catch::Contains("divisible by --nproc 2"));
}

}  // namespace darkmatter::testing
