// The comparison suite (`darkmatter suite`): tasks x methods x seeds x budgets, each cell keyed
// by a hash of its full config and written to DIR/cells/<key>.json atomically (a rerun skips
// finished cells), sharding by key, merging shard folders, and the results.json / CSV /
// report.html of docs/results-format.md. Torch-free header.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/suite_settings.h"

namespace darkmatter::eval {

// One unit of work: a (task, method, seed, budget) run, keyed by a hash of its config.
struct SuiteCell {
  std::string task;         // registered task name
  std::string method;       // method name (suite_methods.h) or "jepa" for physics protocols
  int seed = 0;             // training / evaluation seed
  std::string budget_kind;  // env_steps | labels | frames | reference
  double budget = 1;        // amount of that currency (> 0)
  nlohmann::json config;    // everything the result depends on (hashed into `key`)
  std::string key;          // 16 hex digits: ConfigHash(config)
};

// Every cell of the suite in a fixed order (tasks, methods, budgets, seeds), physics last.
std::vector<SuiteCell> EnumerateCells(const ResolvedSuite& suite);
// True when the cell with `key` belongs to shard `index` of `count` (by key, deterministic).
bool InShard(const std::string& key, int index, int count);
// Parses "I/N" (0 <= I < N); throws sim::BadInput naming the value.
std::pair<int, int> ParseShard(const std::string& text);

// Renders episode `episode` of the episode file `h5` into the MP4 `mp4` with panes of `size`
// ("WxH") (same code as `darkmatter play --video`); with a world-model `checkpoint`, the
// recorded episode beside what the model predicted, with its surprise (`play --compare`).
// Supplied by apps/, may be empty.
using VideoFn = std::function<void(const std::string& h5, int64_t episode,
                                   const std::string& checkpoint, const std::string& mp4,
                                   const std::string& size)>;

// Progress of a run: called after each cell (ran or skipped) with cells done and total.
struct SuiteCellEvent {
  int done = 0, total = 0;     // cells finished (including skipped) / cells of this shard
  const SuiteCell* cell = nullptr;
  bool skipped = false;        // already finished in an earlier run (here or under `reuse`)
  double seconds = 0;          // wall time of this cell (0 when skipped)
  nlohmann::json metrics;      // the cell's metrics
};

struct SuiteRunOptions {
  std::string out;               // suite folder DIR
  int shard_index = 0;           // this shard
  int shard_count = 1;           // number of shards
  std::string reuse;             // tree whose finished cells (any suite folder of this config
                                 // under it) are not rerun; "" = only `out`'s own cells
  int stop_after = -1;           // hidden: stop after running this many cells (simulates a kill)
  std::string command;           // the command line, for the record
  VideoFn render_video;          // may be empty
  std::function<void(const SuiteCellEvent&)> on_cell;  // may be empty
  std::function<void(const std::string&)> on_note;     // messages (videos, notes); may be empty
};

// What a run or a merge produced.
struct SuiteSummary {
  nlohmann::json results;   // the results.json written
  int total = 0;            // cells of the suite (all shards)
  int in_shard = 0;         // cells of this shard
  int ran = 0;              // cells run now
  int skipped = 0;          // cells already finished
  int missing = 0;          // cells of the suite without a result (other shards, stopped runs)
  bool stopped = false;     // stop_after was reached
  std::string results_path, report_path, csv_dir;
  double seconds = 0;       // wall time
};

// Runs the cells of this shard that have no result yet, then writes DIR/results.json,
// DIR/cells.csv, DIR/aggregates.csv and DIR/report.html (and videos). Throws sim::BadInput
// when DIR holds a suite of another config (suite.json's config_hash differs).
SuiteSummary RunSuite(const ResolvedSuite& suite, const SuiteRunOptions& options);

// Combines the cell results of suite folders `dirs` (same config hash; else sim::BadInput
// naming the folders and hashes) into `out` and writes its results.json and report.
// Idempotent: merging again, or merging `out` itself, gives the same cells.
SuiteSummary MergeSuites(const std::vector<std::string>& dirs, const std::string& out,
                         const VideoFn& render_video = {},
                         const std::function<void(const std::string&)>& on_note = {});

// The headline table as text: per task and method, the IQM and interval of `metric` at the
// method's largest budget.
std::string HeadlineTable(const nlohmann::json& results, const std::string& metric = "success");

}  // namespace darkmatter::eval
