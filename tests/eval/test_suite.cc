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
