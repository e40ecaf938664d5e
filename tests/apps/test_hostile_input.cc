// Hostile input, full disks and killed runs (issue 21): every case checks the exit code, the
// message, and that nothing was written, replaced or left behind.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"

namespace darkmatter::testing {
namespace {

namespace fs = std::filesystem;

// Every file under `dir` (relative name -> contents), to prove a refusal changed nothing.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[fs::relative(entry.path(), dir).string()] = ReadFile(entry.path().string());
    }
  }
  return files;
}

// Names in `dir` that hold ".tmp-" (temporaries left behind).
int Temporaries(const std::string& dir) {
  int count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) ++count;
  }
  return count;
}

// `darkmatter ARGS` with writes limited to `kib` KiB per file (a disk that fills up).
Run DarkmatterOnFullDisk(const std::string& args, int kib) {
  return Shell("bash -c \"trap '' XFSZ; ulimit -f " + std::to_string(kib) + "; " +
               std::string(DARKMATTER_BIN) + " " + args + "\"");
}

std::string ContentHash(const std::string& file) {
  const Run info = Darkmatter("info " + file + " --json");
  REQUIRE(info.code == 0);
  return nlohmann::json::parse(info.output)["content_hash"];
}

// Each cell of a suite's results.json (task/method/seed) -> its scores, wall-clock times left out.
std::map<std::string, nlohmann::json> CellScores(const std::string& suite_dir) {
  const auto results = nlohmann::json::parse(ReadFile(suite_dir + "/results.json"));
  std::map<std::string, nlohmann::json> scores;
  for (const auto& cell : results["cells"]) {
    nlohmann::json kept = cell["metrics"];
    kept.erase("seconds_per_action");
    kept.erase("train_seconds");
    scores[cell["task"].get<std::string>() + "/" + cell["method"].get<std::string>() + "/" +
           std::to_string(cell["seed"].get<int>())] = kept;
  }
  return scores;
}

}  // namespace

TEST_CASE("hostile: damaged checkpoints exit 2 naming the file and change nothing",
          "[cli][hostile]") {
  Scratch s;
  const std::string run = s / "bc";
  REQUIRE(Darkmatter("train --model bc --task manipulation/reach bc.epochs=2 bc.demos=2 --out " +
                     run).code == 0);
  const std::string good = ReadFile(run + "/checkpoint.pt");
  std::string flipped = good;  // bytes in the middle of the tensor data
  for (size_t i = good.size() / 2; i < good.size() / 2 + 64; ++i) flipped[i] ^= 0x21;
  // Found by fuzz_checkpoint: a tensor whose shape reaches past the bytes stored for it.
  const std::string past_storage =
      ReadFile(DARKMATTER_SOURCE_DIR "/tests/fuzz/regressions/checkpoint_view_past_storage.pt");
  // Found by fuzz_checkpoint: a pickle claiming a 4 GB string (LibTorch allocated it).
  const std::string long_pickle =
      ReadFile(DARKMATTER_SOURCE_DIR "/tests/fuzz/regressions/checkpoint_pickle_length.pt");
  // Found by fuzz_checkpoint: a pickle memo index of 1.9e9 (LibTorch asked for 31 GB).
  const std::string memo_index =
      ReadFile(DARKMATTER_SOURCE_DIR "/tests/fuzz/regressions/checkpoint_memo_index.pt");
  for (const std::string& damaged : {good.substr(0, good.size() / 2), std::string(), flipped,
                                     past_storage, long_pickle, memo_index}) {
    WriteFile(run + "/checkpoint.pt", damaged);
    const auto before = Snapshot(run);
    for (const std::string& args :
         {"rollout --task manipulation/reach --policy " + run + " --out " + s / "x.h5",
          "train --model bc --task manipulation/reach bc.epochs=4 bc.demos=2 --resume --out " +
              run}) {
      INFO(args << " on " << damaged.size() << " bytes");
      const Run r = Darkmatter(args);
      CHECK(r.code == 2);
      CHECK_THAT(r.output, Catch::Contains("checkpoint.pt") && !Catch::Contains("frame #") &&
                               !Catch::Contains("Segmentation"));
      CHECK(Snapshot(run) == before);
      CHECK(!fs::exists(s / "x.h5"));
    }
  }
  WriteFile(run + "/checkpoint.pt", past_storage);
  CHECK_THAT(Darkmatter("rollout --task manipulation/reach --policy " + run + " --out " +
                        s / "x.h5").output,
             Catch::Contains("does not fit its stored data"));
  WriteFile(run + "/checkpoint.pt", long_pickle);
  CHECK_THAT(Darkmatter("rollout --task manipulation/reach --policy " + run + " --out " +
                        s / "x.h5").output,
             Catch::Contains("a pickle length runs past its data"));
  WriteFile(run + "/checkpoint.pt", memo_index);
  CHECK_THAT(Darkmatter("rollout --task manipulation/reach --policy " + run + " --out " +
                        s / "x.h5").output,
             Catch::Contains("a pickle memo index (1946241821) beyond its"));
  WriteFile(run + "/checkpoint.pt", flipped);
  CHECK_THAT(Darkmatter("rollout --task manipulation/reach --policy " + run + " --out " +
                        s / "x.h5").output,
             Catch::Contains("damaged") || Catch::Contains("not a darkmatter checkpoint"));
}

TEST_CASE("hostile: a full disk exits 1 and leaves the existing output as it was",
          "[cli][hostile]") {
  Scratch s;
  const std::string out = s / "episodes.h5";
  REQUIRE(Darkmatter("rollout --task physics/collide --twins --episodes 1 --out " + out).code ==
          0);
  const std::string old_episodes = ReadFile(out);
  Run rollout = DarkmatterOnFullDisk(
      "rollout --task physics/collide --episodes 40 --render 64x64 --out " + out, 8);
  CHECK(rollout.code == 1);
  CHECK_THAT(rollout.output, Catch::Contains("episodes.h5"));
  CHECK(ReadFile(out) == old_episodes);

  const std::string video = s / "clip.mp4";
  REQUIRE(Darkmatter("play " + out + " --video " + video).code == 0);
  const std::string old_video = ReadFile(video);
  Run play = DarkmatterOnFullDisk("play " + out + " --video " + video + " --size 256x256", 4);
  CHECK(play.code == 1);
  CHECK_THAT(play.output, Catch::Contains("no video written"));
  CHECK(ReadFile(video) == old_video);

  const std::string run = s / "jepa";
  REQUIRE(Darkmatter("train --model jepa --data " + out + " train.steps=10 --out " + run).code ==
          0);
  const std::string old_checkpoint = ReadFile(run + "/checkpoint.pt");
  Run train = DarkmatterOnFullDisk(
      "train --model jepa --data " + out + " train.steps=20 --resume --out " + run, 8);
  CHECK(train.code == 1);
  CHECK(ReadFile(run + "/checkpoint.pt") == old_checkpoint);
  // A fresh run that fails leaves no run directory behind.
  Run fresh = DarkmatterOnFullDisk(
      "train --model bc --task manipulation/reach bc.epochs=2 bc.demos=2 --out " + s / "bc", 20);
  CHECK(fresh.code == 1);
  CHECK_THAT(fresh.output, Catch::Contains("checkpoint.pt"));
  CHECK(!fs::exists(s / "bc"));
  CHECK(Temporaries(s.dir.string()) == 0);
}

TEST_CASE("hostile: temporaries of killed writers are cleaned, live ones kept",
          "[cli][hostile]") {
  Scratch s;
  const std::string out = s / "episodes.h5";
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string name(host);
  for (char& c : name) c = (c == '-' || c == '/') ? '_' : c;
  const std::string dead = "4194300";  // above the usual pid range: no such process
  WriteFile(out + ".tmp-" + name + "-" + dead, "left by a killed rollout");
  WriteFile(out + ".tmp-" + dead, "older name");
  WriteFile(out + ".tmp-" + name + "-" + std::to_string(::getpid()), "a live writer");
  WriteFile(out + ".tmp-otherhost-" + dead, "another machine's writer");
  REQUIRE(Darkmatter("rollout --task physics/collide --out " + out).code == 0);
  CHECK(!fs::exists(out + ".tmp-" + name + "-" + dead));
  CHECK(!fs::exists(out + ".tmp-" + dead));
  CHECK(fs::exists(out + ".tmp-" + name + "-" + std::to_string(::getpid())));
  CHECK(fs::exists(out + ".tmp-otherhost-" + dead));
}

TEST_CASE("hostile: kill -9 leaves no partial file and a rerun or resume equals the clean run",
          "[cli][hostile]") {
  Scratch s;
  const std::string args = "rollout --task physics/collide --episodes 300 --render 32x32 --out ";
  REQUIRE(Darkmatter(args + s / "clean.h5").code == 0);
  Shell(std::string(DARKMATTER_BIN) + " " + args + s / "killed.h5" +
        " > /dev/null 2>&1 & pid=$!; sleep 0.7; kill -9 $pid; wait $pid");
  if (fs::exists(s / "killed.h5")) {  // finished before the kill: then it is whole
    CHECK(ContentHash(s / "killed.h5") == ContentHash(s / "clean.h5"));
  }
  REQUIRE(Darkmatter(args + s / "killed.h5").code == 0);
  CHECK(ContentHash(s / "killed.h5") == ContentHash(s / "clean.h5"));
  CHECK(Temporaries(s.dir.string()) == 0);

  const std::string data = s / "pendulum.h5";
  REQUIRE(Darkmatter("rollout " + kPendulum + " --episodes 8 --out " + data).code == 0);
  const std::string train = "train --model jepa --data " + data +
                            " train.steps=300 train.checkpoint_every=20 --out ";
  REQUIRE(Darkmatter(train + s / "clean").code == 0);
  Shell(std::string(DARKMATTER_BIN) + " " + train + s / "killed" +
        " > /dev/null 2>&1 & pid=$!; sleep 2; kill -9 $pid; wait $pid");
  // Killed before its first checkpoint there is nothing to resume: the run starts afresh.
  const bool resumable = fs::exists(s / "killed" + "/checkpoint.pt");
  const Run rerun = Darkmatter(train + s / "killed" + (resumable ? " --resume" : ""));
  INFO(rerun.output);
  REQUIRE(rerun.code == 0);
  auto hash = [](const std::string& run) {
    return nlohmann::json::parse(ReadFile(run + "/run.json"))["parameter_hash"];
  };
  CHECK(hash(s / "killed") == hash(s / "clean"));
  CHECK(Temporaries(s.dir.string()) == 0);
}

TEST_CASE("hostile: a suite killed -9 resumes to the uninterrupted results",
          "[cli][hostile][suite]") {
  Scratch s;
  const std::string args = "suite --preset test methods=random,bc seeds=40 --out ";
  REQUIRE(Darkmatter(args + s / "clean").code == 0);
  for (const char* delay : {"0.4", "1.2"}) {
    const std::string dir = s / (std::string("killed-") + delay);
    Shell(std::string(DARKMATTER_BIN) + " " + args + dir + " > /dev/null 2>&1 & pid=$!; sleep " +
          delay + "; kill -9 $pid; wait $pid");
    // Whatever the kill left is whole: every cell file written so far parses.
    if (fs::exists(dir + "/cells")) {
      for (const auto& cell : fs::directory_iterator(dir + "/cells")) {
        if (cell.path().extension() != ".json") continue;
        INFO(cell.path());
        CHECK_NOTHROW(nlohmann::json::parse(ReadFile(cell.path().string())));
      }
    }
    const Run rerun = Darkmatter(args + dir + " --json");
    INFO(rerun.output);
    REQUIRE(rerun.code == 0);
    const auto clean = CellScores(s / "clean");
    const auto resumed = CellScores(dir);
    CHECK(resumed.size() == clean.size());
    for (const auto& [cell, scores] : clean) {
      INFO(cell);
      CHECK(resumed.count(cell) == 1);
      if (resumed.count(cell) == 1) CHECK(resumed.at(cell).dump() == scores.dump());
    }
    CHECK(Temporaries(dir) == 0);
  }
  // A cell file of the right key whose fields have the wrong shape is refused by name.
  const fs::path cell = fs::directory_iterator(s / "clean" + "/cells")->path();
  auto body = nlohmann::json::parse(ReadFile(cell.string()));
  body["cell"]["metrics"] = "lots";
  WriteFile(cell.string(), body.dump());
  auto files = [&] {  // the lock file holds the last holder's pid
    auto snapshot = Snapshot(s / "clean");
    snapshot.erase(".lock");
    return snapshot;
  };
  const auto before = files();
  const Run tampered = Darkmatter(args + s / "clean");
  CHECK(tampered.code == 2);
  CHECK_THAT(tampered.output, Catch::Contains(cell.filename().string()) &&
                                  Catch::Contains("damaged cell file"));
  CHECK(files() == before);
  // Found by fuzz_suite: a budget without its value (was an uncaught JSON error, exit 1).
  body = nlohmann::json::parse(ReadFile(cell.string()));
  body["cell"]["metrics"] = nlohmann::json::object();
  body["cell"]["budget"].erase("value");
  WriteFile(cell.string(), body.dump());
  const Run no_value = Darkmatter(args + s / "clean");
  CHECK(no_value.code == 2);
  CHECK_THAT(no_value.output, Catch::Contains("'cell.budget' needs kind"));
  const Run merge = Darkmatter("suite merge " + s / "clean" + " --out " + s / "merged");
  CHECK(merge.code == 2);
  CHECK(!fs::exists(s / "merged"));  // refused before the output folder is made
}

TEST_CASE("hostile: two suites on one folder: the second exits 2 naming the holder",
          "[cli][hostile][suite]") {
  Scratch s;
  const std::string dir = s / "suite";
  fs::create_directories(dir);
  // flock(1) takes the same lock a running suite holds.
  const Run second = Shell("flock " + dir + "/.lock -c '" + std::string(DARKMATTER_BIN) +
                           " suite --out " + dir + "'");
  CHECK(second.code == 2);
  CHECK_THAT(second.output, Catch::Contains("in use by another darkmatter suite"));
  CHECK(s.Files().size() == 1);
  CHECK(!fs::exists(dir + "/suite.json"));

  const Run cuda = Darkmatter("suite device=cuda --out " + s / "cuda");
  if (cuda.output.find("no CUDA") != std::string::npos) {  // a CPU-only build or machine
    CHECK(cuda.code == 2);
    CHECK(!fs::exists(s / "cuda"));
  }
}

TEST_CASE("hostile: nested JSON, bad seeds, empty presets, non-UTF-8 and NaN models exit 2",
          "[cli][hostile]") {
  Scratch s;
  WriteFile(s / "deep.json", "{\"format\":" + std::string(100000, '[') + std::string(100000, ']') +
                                 "}");
  WriteFile(s / "empty.yaml", "");
  WriteFile(s / "comments.yaml", "# nothing here\n");
  WriteFile(s / "nan.xml",
            "<mujoco><option gravity=\"0 0 inf\"/><worldbody><body><freejoint/>"
            "<geom size=\"0.1\"/></body></worldbody></mujoco>");
  WriteFile(s / "inf.xml",
            "<mujoco><worldbody><body><freejoint/><geom size=\"0.1\" mass=\"inf\"/></body>"
            "</worldbody></mujoco>");
  std::string many = "<mujoco><worldbody>";
  for (int i = 0; i < 10001; ++i) many += "<body><geom size=\"0.1\"/></body>";
  WriteFile(s / "many.xml", many + "</worldbody></mujoco>");
  fs::create_directories(s / "deep_suite");
  WriteFile(s / "deep_suite/suite.json", ReadFile(s / "deep.json"));
  const std::string collide = "rollout --task physics/collide --out " + s / "x.h5";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"report " + s / "deep.json" + " --out " + s / "r.html", "deep.json"},
      {"suite merge " + s / "deep_suite" + " --out " + s / "merged", "deep_suite"},
      {collide + " --seed -1", "--seed"},
      {collide + " --seed 99999999999999999999", "--seed"},
      {collide + " --seed 999999999 --episodes 2", "another split"},
      {collide + " --config " + s / "empty.yaml", "sets no settings"},
      {collide + " --config " + s / "comments.yaml", "sets no settings"},
      {collide + " $'env.observation=\\xff'", "env.observation"},
      {"rollout --mjcf " + s / "nan.xml" + " --out " + s / "x.h5", "gravity"},
      {"rollout --mjcf " + s / "inf.xml" + " --out " + s / "x.h5", "not a finite number"},
      {"rollout --mjcf " + s / "many.xml" + " --out " + s / "x.h5", "10000"},
  };
  for (const auto& [args, needle] : cases) {
    INFO(args.substr(0, 200));
    const Run r = Shell("bash -c \"" + std::string(DARKMATTER_BIN) + " " + args + "\"");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Catch::Contains(needle));
  }
  CHECK(!fs::exists(s / "x.h5"));
  CHECK(!fs::exists(s / "r.html"));
  // Found by fuzz_mjcf: MuJoCo 2.2's muscle length-range simulation never ends on this model.
  const Run hang = Shell("DARKMATTER_MJCF_COMPILE_SECONDS=2 " + std::string(DARKMATTER_BIN) +
                         " rollout --mjcf " DARKMATTER_SOURCE_DIR
                         "/tests/fuzz/regressions/mjcf_muscle_lengthrange_hang.xml --out " +
                         s / "x.h5");
  CHECK(hang.code == 2);
  CHECK_THAT(hang.output, Catch::Contains("did not finish compiling the model within 2 s"));
  CHECK(!fs::exists(s / "x.h5"));
}

TEST_CASE("hostile: absurd counts exit 2 naming the key and its limit and write nothing",
          "[cli][hostile]") {
  Scratch s;
  const std::string reach = "train --task manipulation/reach --out " + s / "run" + " --model ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {reach + "ppo ppo.num_envs=1000000", "ppo.num_envs=1000000: must be in [1, 4096]"},
      {reach + "ppo ppo.threads=100000", "ppo.threads=100000: must be in [0, 1024]"},
      {reach + "ppo ppo.hidden=1000000000", "ppo.hidden=1000000000: must be in [1, 65536]"},
      {reach + "ppo ppo.rollout_steps=2000000000", "ppo.rollout_steps"},
      {reach + "sac sac.buffer_size=2000000000", "sac.buffer_size=2000000000: must be in"},
      {reach + "sac sac.batch_size=2000000000", "sac.batch_size"},
      {reach + "tdmpc tdmpc.buffer_size=2000000000", "tdmpc.buffer_size=2000000000: must be in"},
      {reach + "tdmpc tdmpc.samples=2000000000", "tdmpc.samples"},
      {reach + "tdmpc tdmpc.latent=12", "tdmpc.latent=12"},
      {reach + "tdmpc tdmpc.no_such_key=1", "tdmpc.no_such_key"},
      {"suite --preset test budgets.tdmpc=-5 --out " + s / "suite", "budgets.tdmpc"},
      {"bench tdmpc --samples 1", "--samples"},
      {reach + "bc bc.demos=2000000000", "bc.demos"},
      {reach + "bc bc.hidden=1000000000", "bc.hidden"},
      {"train --model jepa --task physics/collide model.latent_dim=1000000000 --out " + s / "run",
       "model.latent_dim"},
      {"suite --preset test bootstrap=2000000000 --out " + s / "suite", "bootstrap"},
      {"suite --preset test plan.threads=100000 --out " + s / "suite", "plan.threads"},
      {"rollout --task physics/collide --threads 100000 --out " + s / "x.h5", "--threads"},
      {"bench pool --envs 100000", "--envs"},
      {"bench plan --samples 1000000000", "--samples"},
  };
  CheckBadInputs(cases);
  CHECK(s.Files().empty());
}

}  // namespace darkmatter::testing
