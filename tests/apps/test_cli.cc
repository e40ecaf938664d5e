// End-to-end tests of the darkmatter CLI: exit codes, messages, and files left behind.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/apps/cli_runner.h"

namespace darkmatter::testing {

TEST_CASE("cli: tasks lists the registered tasks", "[cli]") {
  Run text = Darkmatter("tasks");
  CHECK(text.code == 0);
  CHECK_THAT(text.output, Catch::Contains("control/inverted_pendulum") && Catch::Contains("(4,)"));
  Run json = Darkmatter("tasks --json");
  CHECK(json.code == 0);
  CHECK_THAT(json.output, Catch::Contains("\"shape\"") && Catch::Contains("\"backend\": \"mujoco\""));
}

TEST_CASE("cli: usage errors exit 2", "[cli][errors]") {
  CHECK(Darkmatter("").code == 2);
  CHECK(Darkmatter("frobnicate").code == 2);
  Run bad_flag = Darkmatter("tasks --bogus");
  CHECK(bad_flag.code == 2);
  CHECK_THAT(bad_flag.output, Catch::Contains("--bogus"));
  CHECK(Darkmatter("--help").code == 0);
  Run both = Darkmatter("rollout --task a --mjcf b --out x.h5");
  CHECK(both.code == 2);
}

TEST_CASE("cli: rollout then info round-trip", "[cli][rollout]") {
  Scratch s;
  Run rollout = Darkmatter("rollout " + kPendulum + " --episodes 3 --seed 4 --threads 2 --out " +
                           s / "eps.h5");
  REQUIRE(rollout.code == 0);
  CHECK_THAT(rollout.output, Catch::Contains("3 episodes") && Catch::Contains("eps.h5"));
  CHECK(s.Files() == std::set<std::string>{"eps.h5"});  // no temporary files
  Run info = Darkmatter("info " + s / "eps.h5" + " --json");
  REQUIRE(info.code == 0);
  CHECK_THAT(info.output, Catch::Contains("\"episodes\"") && Catch::Contains("\"length\"") &&
                              Catch::Contains("\"return\"") && Catch::Contains("\"diverged\"") &&
                              Catch::Contains("\"format_version\": 1"));
  Run text = Darkmatter("info " + s / "eps.h5");
  CHECK(text.code == 0);
  CHECK_THAT(text.output, Catch::Contains("control/inverted_pendulum") &&
                              Catch::Contains("observations"));
}

TEST_CASE("cli: rollout of a generic MJCF scene", "[cli][rollout]") {
  Scratch s;
  WriteFile(s / "scene.xml", R"(<mujoco><worldbody><body><joint name="hinge" type="hinge"/>
    <geom type="capsule" fromto="0 0 0 0 0 1" size="0.05"/></body></worldbody>
    <actuator><motor joint="hinge" ctrllimited="true" ctrlrange="-1 1"/></actuator></mujoco>)");
  Run r = Darkmatter("rollout --mjcf " + s / "scene.xml" +
                     " --episodes 2 --max-steps 20 --out " + s / "m.h5");
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("40 steps"));
}

TEST_CASE("cli: bad rollout inputs exit 2, name the problem, and write nothing",
          "[cli][errors]") {
  Scratch s;
  const std::string out = s / "out.h5", to = " --out " + out;
  WriteFile(out, "precious");  // an existing file must survive every failure below
  WriteFile(s / "bad.xml", "<mujoco><worldbody><body><geom type=\"sphere\"");
  WriteFile(s / "wide.csv", "0.1, 0.2\n");
  WriteFile(s / "nan.csv", "0.1\nnan\n");
  WriteFile(s / "preset.yaml", "env: {frame_skip: two}\n");
  struct Case {
    std::string args;          // after "rollout"
    std::string needle, also;  // both must be in the output ("" is in any output)
  };
  const std::vector<Case> cases = {
      {"--task no/such" + to, "no/such"},
      {"--mjcf " + s / "missing.xml" + to, "missing.xml"},
      {"--mjcf " + s / "bad.xml" + to, "bad.xml"},
      {kPendulum + " --policy telepathy" + to, "telepathy"},
      {kPendulum + " --policy actions:" + s / "wide.csv" + to, "wide.csv line 1", "expected 1"},
      {kPendulum + " --policy actions:" + s / "nan.csv" + to, "nan.csv line 2", "not finite"},
      {kPendulum + " env.frame_skp=2" + to, "'env.frame_skp'"},
      {kPendulum + " env.observation=smell" + to, "'smell'"},
      {kPendulum + " --config " + s / "preset.yaml" + to, "preset.yaml", "'two'"},
      {kPendulum + " --render 64by64" + to, "'64by64'"},
      {kPendulum + " --render 8x8 --camera nope" + to, "'nope'"},
      {kPendulum + " --episodes 0" + to, "--episodes"},
      {kPendulum + " --threads 0" + to, "--threads"},
      {kPendulum + " --split sideways" + to, "'sideways'"},
      {kPendulum + " --twins" + to, "--twins", "makes no twin sets"},
      {"--task physics/collide --twins env.max_episode_steps=32" + to, "cuts", "matched over whole clips"},
      {kPendulum + " --policy expert" + to, "no scripted expert"},
      {kPendulum + " env.violation=gravity" + to, "'gravity'"},
      {kPendulum + " env.sensors=lidar" + to, "'lidar'"},
      {kPendulum + " --split ood" + to, "env.split"},
      {"--task physics/collide env.violation=permanence" + to, "'permanence'", "solidity"},
      {kPendulum + " --out " + s / "no/such/dir/x.h5", "no/such/dir/x.h5"},
  };
  for (const Case& c : cases) {
    INFO("rollout " << c.args);
    const Run run = Darkmatter("rollout " + c.args);
    CHECK(run.code == 2);
    CHECK_THAT(run.output, Catch::Contains(c.needle) && Catch::Contains(c.also));
  }

  CHECK(ReadFile(out) == "precious");
  CHECK(s.Files() == std::set<std::string>{"out.h5", "bad.xml", "wide.csv", "nan.csv",
                                           "preset.yaml"});
}

TEST_CASE("cli: open-loop actions replay and are clipped", "[cli][rollout]") {
  Scratch s;
  WriteFile(s / "push.csv", "# cart force\n5.0\n-5.0\n");
  Run r = Darkmatter("rollout " + kPendulum + " --policy actions:" + s / "push.csv" +
                     " --max-steps 4 --out " + s / "p.h5");
  CHECK(r.code == 0);
}

TEST_CASE("cli: info rejects missing, corrupt and truncated files with exit 2", "[cli][errors]") {
  Scratch s;
  WriteFile(s / "junk.h5", std::string(4096, 'x'));
  REQUIRE(Darkmatter("rollout " + kPendulum + " --episodes 4 --out " + s / "good.h5").code == 0);
  const std::string good = ReadFile(s / "good.h5");
  WriteFile(s / "half.h5", good.substr(0, good.size() / 2));
  for (const std::string name : {"nope.h5", "junk.h5", "half.h5"}) {  // missing, junk, truncated
    INFO("info " << name);
    const Run run = Darkmatter("info " + s / name);
    CHECK(run.code == 2);
    CHECK_THAT(run.output, Catch::Contains(name));
  }

  std::string flipped = good;  // corrupt the middle of the file
  for (size_t i = flipped.size() / 3; i < flipped.size() / 3 + 2048; ++i) flipped[i] ^= 0x5a;
  WriteFile(s / "flipped.h5", flipped);
  Run corrupt = Darkmatter("info " + s / "flipped.h5");
  CHECK((corrupt.code == 2 || corrupt.code == 0));  // flipped payload bytes may still parse
  CHECK(corrupt.output.find("Segmentation") == std::string::npos);
  CHECK(ReadFile(s / "good.h5") == good);  // reading never modifies a file
}

TEST_CASE("cli: bad bench options exit 2 and name the option", "[cli][bench][errors]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bench env " + kPendulum + " --physics-steps 0", "--physics-steps"},
      {"bench env " + kPendulum + " --repeats 0", "--repeats"},
      {"bench env --task no/such", "no/such"},
      {"bench pool " + kPendulum + " --envs 0", "--envs"},
      {"bench pool " + kPendulum + " --seconds 0", "--seconds"},
      {"bench render --sizes 0x5", "'0x5'"},
      {"bench render --camera nope", "'nope'"},
      {"bench render --mjcf /nonexistent/scene.xml", "/nonexistent/scene.xml"},
  };
  CheckBadInputs(cases);
}

TEST_CASE("cli: bench env and pool report their JSON keys", "[cli][bench]") {
  Run env = Darkmatter("bench env " + kPendulum + " --physics-steps 2000 --repeats 1 --json");
  REQUIRE(env.code == 0);
  CHECK_THAT(env.output, Catch::Contains("\"raw_steps_per_s\"") &&
                             Catch::Contains("\"physics_steps_per_s\"") &&
                             Catch::Contains("\"env_steps_per_s\"") && Catch::Contains("\"ratio\""));
  Run pool = Darkmatter("bench pool " + kPendulum +
                        " --envs 4 --seconds 0.1 --repeats 1 --max-threads 2 --json");
  REQUIRE(pool.code == 0);
  CHECK_THAT(pool.output, Catch::Contains("\"scaling\"") && Catch::Contains("\"threads\": 2"));
}

TEST_CASE("cli: count-like settings have upper bounds: exit 2 naming key and bounds, at once",
          "[cli][errors]") {
  Scratch s;
  struct Case {
    std::string args, expected;
  };
  const Case cases[] = {
      {"rollout " + kPendulum + " --out " + s / "a.h5" + " env.frame_skip=2000000000",
       "env.frame_skip=2000000000 must be in [0, 10000]"},
      {"rollout --task driving/lane_keep --out " + s / "a.h5" + " env.frame_skip=2000000000",
       "env.frame_skip=2000000000"},
      {"rollout " + kPendulum + " --out " + s / "a.h5" + " env.max_episode_steps=-3",
       "env.max_episode_steps=-3"},
      {"rollout --task physics/collide --out " + s / "a.h5" +
           " env.observation=pixels env.frame_width=100000",
       "env.frame_width=100000"},
      {"bench pool --max-threads 100000", "--max-threads"},
      {"suite --preset quick --out " + s / "suite" + " seeds=1000000000", "seeds=1000000000"},
  };
  for (const Case& c : cases) {
    const Run r = Shell("timeout 60 " + std::string(DARKMATTER_BIN) + " " + c.args);
    INFO(c.args << "\n" << r.output);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.expected));
  }
  CHECK(s.Files().empty());
}

}  // namespace darkmatter::testing
