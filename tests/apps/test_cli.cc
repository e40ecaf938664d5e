// End-to-end tests of the darkmatter CLI: exit codes, messages, and files left behind.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct Run {
  int code;
  std::string output;  // stdout and stderr together
};

// Runs `darkmatter <args>` through the shell; returns exit code and output.
Run Darkmatter(const std::string& args) {
  const std::string command = std::string(DARKMATTER_BIN) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A fresh scratch directory per test.
struct Scratch {
  fs::path dir;
  Scratch() {
    dir = fs::temp_directory_path() /
          ("darkmatter_cli_" + std::to_string(::getpid()) + "_" +
           std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Nothing but `keep` is left in the scratch directory (no temporary files).
void CheckOnlyFiles(const Scratch& scratch, std::set<std::string> keep) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(scratch.dir)) {
    names.insert(entry.path().filename().string());
  }
  CHECK(names == keep);
}

const std::string kTask = "--task control/inverted_pendulum";

}  // namespace

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
  Run rollout = Darkmatter("rollout " + kTask + " --episodes 3 --seed 4 --threads 2 --out " +
                           s / "eps.h5");
  REQUIRE(rollout.code == 0);
  CHECK_THAT(rollout.output, Catch::Contains("3 episodes") && Catch::Contains("eps.h5"));
  CheckOnlyFiles(s, {"eps.h5"});
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
  const std::string out = s / "out.h5";
  WriteFile(out, "precious");  // an existing file must survive every failure below

  Run unknown = Darkmatter("rollout --task no/such --out " + out);
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("no/such"));

  Run missing = Darkmatter("rollout --mjcf " + s / "missing.xml" + " --out " + out);
  CHECK(missing.code == 2);
  CHECK_THAT(missing.output, Catch::Contains("missing.xml"));

  WriteFile(s / "bad.xml", "<mujoco><worldbody><body><geom type=\"sphere\"");
  Run malformed = Darkmatter("rollout --mjcf " + s / "bad.xml" + " --out " + out);
  CHECK(malformed.code == 2);
  CHECK_THAT(malformed.output, Catch::Contains("bad.xml"));

  Run policy = Darkmatter("rollout " + kTask + " --policy telepathy --out " + out);
  CHECK(policy.code == 2);
  CHECK_THAT(policy.output, Catch::Contains("telepathy"));

  WriteFile(s / "wide.csv", "0.1, 0.2\n");
  Run wide = Darkmatter("rollout " + kTask + " --policy actions:" + s / "wide.csv" +
                        " --out " + out);
  CHECK(wide.code == 2);
  CHECK_THAT(wide.output, Catch::Contains("wide.csv line 1") && Catch::Contains("expected 1"));

  WriteFile(s / "nan.csv", "0.1\nnan\n");
  Run nan = Darkmatter("rollout " + kTask + " --policy actions:" + s / "nan.csv" + " --out " + out);
  CHECK(nan.code == 2);
  CHECK_THAT(nan.output, Catch::Contains("nan.csv line 2") && Catch::Contains("not finite"));

  Run key = Darkmatter("rollout " + kTask + " env.frame_skp=2 --out " + out);
  CHECK(key.code == 2);
  CHECK_THAT(key.output, Catch::Contains("'env.frame_skp'"));

  Run value = Darkmatter("rollout " + kTask + " env.observation=smell --out " + out);
  CHECK(value.code == 2);
  CHECK_THAT(value.output, Catch::Contains("'smell'"));

  WriteFile(s / "preset.yaml", "env: {frame_skip: two}\n");
  Run preset = Darkmatter("rollout " + kTask + " --config " + s / "preset.yaml" + " --out " + out);
  CHECK(preset.code == 2);
  CHECK_THAT(preset.output, Catch::Contains("preset.yaml") && Catch::Contains("'two'"));

  Run render = Darkmatter("rollout " + kTask + " --render 64by64 --out " + out);
  CHECK(render.code == 2);
  CHECK_THAT(render.output, Catch::Contains("'64by64'"));

  Run camera = Darkmatter("rollout " + kTask + " --render 8x8 --camera nope --out " + out);
  CHECK(camera.code == 2);
  CHECK_THAT(camera.output, Catch::Contains("'nope'"));

  Run episodes = Darkmatter("rollout " + kTask + " --episodes 0 --out " + out);
  CHECK(episodes.code == 2);
  CHECK_THAT(episodes.output, Catch::Contains("--episodes"));

  Run no_dir = Darkmatter("rollout " + kTask + " --out " + s / "no/such/dir/x.h5");
  CHECK(no_dir.code == 2);
  CHECK_THAT(no_dir.output, Catch::Contains("no/such/dir/x.h5"));

  CHECK(ReadFile(out) == "precious");
  CheckOnlyFiles(s, {"out.h5", "bad.xml", "wide.csv", "nan.csv", "preset.yaml"});
}

TEST_CASE("cli: open-loop actions replay and are clipped", "[cli][rollout]") {
  Scratch s;
  WriteFile(s / "push.csv", "# cart force\n5.0\n-5.0\n");
  Run r = Darkmatter("rollout " + kTask + " --policy actions:" + s / "push.csv" +
                     " --max-steps 4 --out " + s / "p.h5");
  CHECK(r.code == 0);
}

TEST_CASE("cli: info rejects missing, corrupt and truncated files with exit 2", "[cli][errors]") {
  Scratch s;
  Run missing = Darkmatter("info " + s / "nope.h5");
  CHECK(missing.code == 2);
  CHECK_THAT(missing.output, Catch::Contains("nope.h5"));

  WriteFile(s / "junk.h5", std::string(4096, 'x'));
  Run junk = Darkmatter("info " + s / "junk.h5");
  CHECK(junk.code == 2);
  CHECK_THAT(junk.output, Catch::Contains("junk.h5"));

  REQUIRE(Darkmatter("rollout " + kTask + " --episodes 4 --out " + s / "good.h5").code == 0);
  const std::string good = ReadFile(s / "good.h5");
  WriteFile(s / "half.h5", good.substr(0, good.size() / 2));
  Run half = Darkmatter("info " + s / "half.h5");
  CHECK(half.code == 2);
  CHECK_THAT(half.output, Catch::Contains("half.h5"));

  std::string flipped = good;  // corrupt the middle of the file
  for (size_t i = flipped.size() / 3; i < flipped.size() / 3 + 2048; ++i) flipped[i] ^= 0x5a;
  WriteFile(s / "flipped.h5", flipped);
  Run corrupt = Darkmatter("info " + s / "flipped.h5");
  CHECK((corrupt.code == 2 || corrupt.code == 0));  // flipped payload bytes may still parse
  CHECK(corrupt.output.find("Segmentation") == std::string::npos);
  CHECK(ReadFile(s / "good.h5") == good);  // reading never modifies a file
}

TEST_CASE("cli: bench env and pool report their JSON keys", "[cli][bench]") {
  Run env = Darkmatter("bench env " + kTask + " --physics-steps 2000 --repeats 1 --json");
  REQUIRE(env.code == 0);
  CHECK_THAT(env.output, Catch::Contains("\"raw_steps_per_s\"") &&
                             Catch::Contains("\"physics_steps_per_s\"") &&
                             Catch::Contains("\"env_steps_per_s\"") && Catch::Contains("\"ratio\""));
  Run pool = Darkmatter("bench pool " + kTask +
                        " --envs 4 --seconds 0.1 --repeats 1 --max-threads 2 --json");
  REQUIRE(pool.code == 0);
  CHECK_THAT(pool.output, Catch::Contains("\"scaling\"") && Catch::Contains("\"threads\": 2"));
}
