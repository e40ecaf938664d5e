// The comparison suite: cell keys, resume, sharding + merge, config checks (test preset:
// seconds).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "eval/suite.h"
#include "eval/suite_methods.h"
#include "eval/suite_settings.h"
#include "sim/error.h"

namespace eval = darkmatter::eval;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct TempDir {
  fs::path dir;
  explicit TempDir(const std::string& name) {
    dir = fs::temp_directory_path() / ("darkmatter_suite_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// Cells with their wall-clock metrics removed (everything else is deterministic).
json Comparable(json cells) {
  for (json& cell : cells) {
    cell["metrics"].erase("seconds_per_action");
    cell["metrics"].erase("train_seconds");
  }
  std::sort(cells.begin(), cells.end(), [](const json& a, const json& b) { return a.dump() < b.dump(); });
  return cells;
}

json ComparableAggregates(const json& aggregates) {
  json out = json::array();
  for (const json& a : aggregates) {
    if (a["metric"] == "seconds_per_action" || a["metric"] == "train_seconds") continue;
    out.push_back(a);
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a.dump() < b.dump(); });
  return out;
}

// Test preset: one manipulation task, random + expert (+ bc), 2 seeds.
eval::ResolvedSuite TestSuite(std::vector<std::string> overrides = {}) {
  return eval::ResolveSuite("test", "", overrides);
}

std::set<std::string> CellFiles(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir / "cells")) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

}  // namespace

TEST_CASE("suite presets resolve, YAML presets equal the embedded ones", "[suite]") {
  for (const char* preset : {"quick", "full"}) {
    const auto embedded = eval::ResolveSuite(preset, "", {});
    const auto yaml = eval::ResolveSuite(
        "test", std::string(DARKMATTER_SOURCE_DIR) + "/configs/suite_" + preset + ".yaml", {});
    CHECK(embedded.config == yaml.config);
    CHECK(embedded.config_hash == yaml.config_hash);
    // The brief's task families: two manipulation tasks, two driving tasks, physics.
    const auto cells = eval::EnumerateCells(embedded);
    std::set<std::string> tasks;
    for (const auto& cell : cells) tasks.insert(cell.task);
    CHECK(tasks.count("manipulation/push"));
    CHECK(tasks.count("driving/lane_keep"));
    CHECK(tasks.count("physics/collide"));
  }
  CHECK(eval::ResolveSuite("full", "", {}).settings.seeds >= 5);
}

TEST_CASE("suite cells of learning methods carry the resolved device, references do not",
          "[suite]") {
  const auto cells = eval::EnumerateCells(TestSuite({"methods=random,bc", "device=auto"}));
  REQUIRE_FALSE(cells.empty());
  for (const auto& cell : cells) {
    const json& settings = cell.config["settings"];
    if (cell.method == "bc") {
      REQUIRE(settings.contains("device"));
      CHECK(settings["device"] != "auto");  // "cpu" here, "cuda" on a GPU machine
    } else {
      CHECK_FALSE(settings.contains("device"));
    }
  }
}

TEST_CASE("suite cell keys are unique and depend on the settings they use", "[suite]") {
  const auto suite = TestSuite({"methods=random,expert,bc"});
  const auto cells = eval::EnumerateCells(suite);
  std::set<std::string> keys;
  for (const auto& cell : cells) keys.insert(cell.key);
  CHECK(keys.size() == cells.size());
  // A bc setting changes bc's keys only.
  const auto changed = eval::EnumerateCells(TestSuite({"methods=random,expert,bc", "bc.epochs=6"}));
  REQUIRE(changed.size() == cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    CHECK((cells[i].key == changed[i].key) == (cells[i].method != "bc"));
  }
  // Shards partition the cells.
  int in_shards = 0;
  for (const auto& cell : cells) {
    in_shards += eval::InShard(cell.key, 0, 2) + eval::InShard(cell.key, 1, 2);
  }
  CHECK(in_shards == static_cast<int>(cells.size()));
}

TEST_CASE("suite rejects bad presets, keys and values", "[suite]") {
  CHECK_THROWS_AS(eval::ResolveSuite("huge", "", {}), darkmatter::sim::BadInput);
  CHECK_THROWS_AS(TestSuite({"no_such_key=1"}), darkmatter::sim::BadInput);
  CHECK_THROWS_AS(TestSuite({"methods=random,telepathy"}), darkmatter::sim::BadInput);
  CHECK_THROWS_AS(TestSuite({"tasks=driving/nowhere"}), darkmatter::sim::BadInput);
  CHECK_THROWS_AS(TestSuite({"budgets.bc=0"}), darkmatter::sim::BadInput);
  CHECK_THROWS_AS(TestSuite({"seeds=0"}), darkmatter::sim::BadInput);
  CHECK_THROWS_WITH(TestSuite({"bc.demo_noise=2"}),
                    Catch::Contains("bc.demo_noise=2") && Catch::Contains("[0, 1]"));
  CHECK_THROWS_WITH(TestSuite({"device=tpu"}), Catch::Contains("device=tpu"));
  CHECK_THROWS_WITH(TestSuite({"device=cuda:x"}), Catch::Contains("device=cuda:x"));
  CHECK_NOTHROW(TestSuite({"device=cuda:1"}));  // well-formed; resolved when cells are made
  CHECK_THROWS_AS(eval::ParseShard("2/2"), darkmatter::sim::BadInput);
  CHECK_THROWS_AS(eval::ParseShard("x"), darkmatter::sim::BadInput);
  CHECK(eval::ParseShard("1/3") == std::pair<int, int>{1, 3});
}

TEST_CASE("suite resumes: a stopped run reruns only the missing cells, same results", "[suite]") {
  TempDir full("full"), resumed("resumed");
  const auto suite = TestSuite({"methods=random,expert,bc"});
  const eval::SuiteSummary reference = eval::RunSuite(suite, {.out = full.dir.string()});
  REQUIRE(reference.missing == 0);
  REQUIRE(reference.ran == reference.total);
  CHECK(fs::exists(full / "results.json"));
  CHECK(fs::exists(full / "cells.csv"));

  // A run killed after 2 cells: 2 cell files, results.json lists the rest as missing.
  eval::SuiteRunOptions stop{.out = resumed.dir.string()};
  stop.stop_after = 2;
  const eval::SuiteSummary first = eval::RunSuite(suite, stop);
  CHECK(first.stopped);
  CHECK(first.ran == 2);
  CHECK(first.missing == first.total - 2);
  const json first_cells = ReadJson(resumed.dir / "results.json")["cells"];
  CHECK(first_cells.size() == 2);

  // Deleting a finished cell's file makes it missing too; the other one is kept as is.
  const auto files = CellFiles(resumed.dir);
  REQUIRE(files.size() == 2);
  fs::remove(resumed.dir / "cells" / *files.begin());
  const fs::path survivor = resumed.dir / "cells" / *files.rbegin();
  const std::string survivor_text = ReadText(survivor);
  int ran_events = 0;
  eval::SuiteRunOptions rerun{.out = resumed.dir.string()};
  rerun.on_cell = [&](const eval::SuiteCellEvent& e) { ran_events += !e.skipped; };
  const eval::SuiteSummary second = eval::RunSuite(suite, rerun);
  CHECK(second.skipped == 1);
  CHECK(second.ran == second.total - 1);
  CHECK(ran_events == second.ran);
  CHECK(second.missing == 0);
  CHECK(ReadText(survivor) == survivor_text);
  const json kept = ReadJson(resumed.dir / "results.json");
  CHECK(Comparable(kept["cells"]) == Comparable(reference.results["cells"]));
  CHECK(ComparableAggregates(kept["aggregates"]) ==
        ComparableAggregates(reference.results["aggregates"]));

  // A third run has nothing to do.
  const eval::SuiteSummary third = eval::RunSuite(suite, {.out = resumed.dir.string()});
  CHECK(third.ran == 0);
  CHECK(third.skipped == third.total);
}

TEST_CASE("suite shards 0/2 + 1/2 merged equal the unsharded run, merge is idempotent",
          "[suite]") {
  TempDir whole("whole"), shard0("shard0"), shard1("shard1"), merged("merged");
  const auto suite = TestSuite({"methods=random,expert,bc"});
  const eval::SuiteSummary reference = eval::RunSuite(suite, {.out = whole.dir.string()});
  const auto s0 = eval::RunSuite(suite, {.out = shard0.dir.string(), .shard_index = 0, .shard_count = 2});
  const auto s1 = eval::RunSuite(suite, {.out = shard1.dir.string(), .shard_index = 1, .shard_count = 2});
  CHECK(s0.in_shard + s1.in_shard == reference.total);
  CHECK(s0.in_shard > 0);
  CHECK(s1.in_shard > 0);
  const auto m = eval::MergeSuites({shard0.dir.string(), shard1.dir.string()}, merged.dir.string());
  CHECK(m.missing == 0);
  CHECK(Comparable(m.results["cells"]) == Comparable(reference.results["cells"]));
  CHECK(ComparableAggregates(m.results["aggregates"]) ==
        ComparableAggregates(reference.results["aggregates"]));
  CHECK(m.results["suite"]["config_hash"] == reference.results["suite"]["config_hash"]);
  // Again, and with the merged folder itself among the inputs: same cells.
  const auto again = eval::MergeSuites(
      {shard0.dir.string(), shard1.dir.string(), merged.dir.string()}, merged.dir.string());
  CHECK(again.results["cells"] == m.results["cells"]);
  CHECK(again.results["aggregates"] == m.results["aggregates"]);
}

TEST_CASE("suite merge refuses folders of different configs, naming them", "[suite]") {
  TempDir a("cfg_a"), b("cfg_b"), out("cfg_out");
  eval::RunSuite(TestSuite(), {.out = a.dir.string()});
  eval::RunSuite(TestSuite({"eval.episodes=1"}), {.out = b.dir.string()});
  try {
    eval::MergeSuites({a.dir.string(), b.dir.string()}, out.dir.string());
    FAIL("merge accepted different configs");
  } catch (const darkmatter::sim::BadInput& e) {
    const std::string message = e.what();
    CHECK(message.find(a.dir.string()) != std::string::npos);
    CHECK(message.find(b.dir.string()) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out.dir / "results.json"));
  // Running another config into an existing suite folder is refused too.
  CHECK_THROWS_AS(eval::RunSuite(TestSuite({"eval.episodes=1"}), {.out = a.dir.string()}),
                  darkmatter::sim::BadInput);
}

TEST_CASE("suite methods: every registered method is named, unavailable ones say why", "[suite]") {
  for (const auto& method : eval::SuiteMethods()) {
    CHECK_FALSE(method.name.empty());
    CHECK_FALSE(method.family.empty());
    CHECK(static_cast<bool>(method.prepare));
  }
  CHECK_THROWS_AS(eval::FindSuiteMethod("nope"), darkmatter::sim::BadInput);
  // The expert reaches more goals than random actions (tiny episodes still show it).
  TempDir dir("expert");
  const auto s = eval::RunSuite(TestSuite({"eval.max_episode_steps=0", "eval.episodes=3", "seeds=1"}),
                                {.out = dir.dir.string()});
  double expert = -1, random = -1;
  for (const json& cell : s.results["cells"]) {
    (cell["method"] == "expert" ? expert : random) = cell["metrics"]["success"].get<double>();
  }
  CHECK(expert > random);
}

TEST_CASE("suite jepa-bc: the cells of a seed share one play jepa, and sharing changes no result",
          "[suite][jepa-bc]") {
  TempDir shared("jepa_bc_shared"), alone("jepa_bc_alone");
  const std::vector<std::string> common = {"methods=jepa-bc", "seeds=1", "budgets.jepa=200,400",
                                           "jepa.steps=10"};
  auto overrides = common;
  overrides.push_back("budgets.bc=1,2");
  const auto both = eval::RunSuite(TestSuite(overrides), {.out = shared.dir.string()});
  REQUIRE(both.ran == 2);
  std::vector<json> bodies;
  for (const std::string& name : CellFiles(shared.dir)) bodies.push_back(ReadJson(shared.dir / "cells" / name));
  REQUIRE(bodies.size() == 2);
  // The frozen encoder is the jepa of the largest frame budget (400), trained once.
  for (const json& body : bodies) {
    CHECK(body["cell"]["method"] == "jepa-bc");
    CHECK(body["cell"]["budget"]["kind"] == "labels");
    CHECK(body["training"]["jepa"]["steps"] == 10);
  }
  CHECK(bodies[0]["training"]["jepa"]["parameter_hash"] ==
        bodies[1]["training"]["jepa"]["parameter_hash"]);
  CHECK(bodies[0]["training"]["parameter_hash"] != bodies[1]["training"]["parameter_hash"]);
  // The 2-demonstration cell alone (its jepa trained afresh) is the same cell.
  overrides = common;
  overrides.push_back("budgets.bc=2");
  const auto one = eval::RunSuite(TestSuite(overrides), {.out = alone.dir.string()});
  REQUIRE(one.ran == 1);
  json from_shared;
  for (const json& cell : both.results["cells"]) {
    if (cell["budget"]["value"] == 2.0) from_shared = cell;
  }
  CHECK(Comparable(json::array({one.results["cells"][0]})) == Comparable(json::array({from_shared})));
  // The scratch folder (and its cache) is gone after the run.
  CHECK_FALSE(fs::exists(shared.dir / "work"));
}

TEST_CASE("suite physics cells keep their jepa and test twins, real-vs-imagined videos come from "
          "them, merge copies them",
          "[suite][videos]") {
  TempDir dir("imagined"), merged("imagined_merged");
  const auto suite = TestSuite({"methods=random", "seeds=1", "physics.protocols=voe",
                                "physics.test_episodes=2", "jepa.steps=5", "videos.enabled=true"});
  struct Call { std::string h5, checkpoint, mp4; int64_t episode; };
  std::vector<Call> calls;
  const eval::VideoFn record = [&](const std::string& h5, int64_t episode,
                                   const std::string& checkpoint, const std::string& mp4,
                                   const std::string&) {
    calls.push_back({h5, checkpoint, mp4, episode});
    std::ofstream(mp4) << "video";
  };
  const auto s = eval::RunSuite(suite, {.out = dir.dir.string(), .render_video = record});
  REQUIRE(s.missing == 0);
  std::string physics_key;
  for (const std::string& name : CellFiles(dir.dir)) {
    const json body = ReadJson(dir.dir / "cells" / name);
    if (body["cell"]["task"] == "physics/collide") physics_key = body["key"];
  }
  REQUIRE_FALSE(physics_key.empty());
  const fs::path model = dir.dir / "models" / (physics_key + ".pt");
  const fs::path twins = dir.dir / "episodes" / (physics_key + ".h5");
  CHECK(fs::exists(model));
  CHECK(fs::exists(twins));
  // Two videos: a possible test clip and its impossible partner, each against the cell's jepa.
  REQUIRE(calls.size() == 2);
  for (const Call& call : calls) {
    CHECK(fs::equivalent(call.checkpoint, model));
    CHECK(fs::equivalent(call.h5, twins));
  }
  CHECK(calls[0].episode != calls[1].episode);
  int imagined = 0;
  for (const json& video : s.results["videos"]) {
    if (video["kind"] != "imagined") continue;
    ++imagined;
    CHECK(video["method"] == "jepa");
    CHECK(fs::exists(dir.dir / video["path"].get<std::string>()));
  }
  CHECK(imagined == 2);
  CHECK(s.results["videos"][1]["caption"].get<std::string>().find("impossible partner") !=
        std::string::npos);
  // A merge takes the model and the twins along, and its report shows the same videos.
  calls.clear();
  const auto m = eval::MergeSuites({dir.dir.string()}, merged.dir.string(), record);
  CHECK(fs::exists(merged.dir / "models" / (physics_key + ".pt")));
  CHECK(fs::exists(merged.dir / "episodes" / (physics_key + ".h5")));
  CHECK(calls.size() == 2);
  CHECK(m.results["videos"].size() == 2);
}

TEST_CASE("suite keeps evaluation episodes only where videos come from: video tasks, largest "
          "budget",
          "[suite][videos]") {
  TempDir dir("keep");
  const auto suite = TestSuite({"methods=random,bc", "seeds=1", "budgets.bc=1,2",
                                "videos.enabled=true", "videos.tasks=manipulation/reach"});
  const auto s = eval::RunSuite(suite, {.out = dir.dir.string()});
  REQUIRE(s.missing == 0);
  int kept = 0, dropped = 0;
  for (const std::string& name : CellFiles(dir.dir)) {
    const json body = ReadJson(dir.dir / "cells" / name);
    const bool largest = body["cell"]["method"] == "random" || body["cell"]["budget"]["value"] == 2.0;
    const std::string file = body["episodes_file"];
    CHECK(file.empty() == !largest);
    CHECK(fs::exists(dir.dir / "episodes" / (body["key"].get<std::string>() + ".h5")) == largest);
    (largest ? kept : dropped) += 1;
  }
  CHECK(kept == 2);
  CHECK(dropped == 1);
}
