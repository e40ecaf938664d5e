// The comparison suite's output side: validate `results.json` (docs/results-format.md),
// aggregate cells over seeds, and write a self-contained report.html and CSV files.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace darkmatter::eval {

inline constexpr int kResultsFormatVersion = 1;

// How `aggregates` are computed from `cells` (stratified bootstrap of the IQM).
struct AggregationSettings {
  double confidence = 0.95;  // interval coverage, in (0, 1)
  int replicates = 2000;     // bootstrap replicates
  uint64_t seed = 0;         // bootstrap RNG seed
};

// Options shared by WriteReport and WriteCsv.
struct ReportOptions {
  std::string source = "results.json";  // name of the results file, used in error messages
  std::string suite_dir;  // folder that video paths are relative to ("" = the report's folder)
  std::string js_dir;     // folder with vega, vega-lite, vega-embed ("" = DefaultJsDir())
};

// Reads and validates a results file; throws sim::BadInput naming the file and the key.
nlohmann::json LoadResults(const std::string& path);

// Checks `results` against format version 1; throws sim::BadInput naming `source` and the
// offending key (e.g. "cells[3].budget.value") and value.
void ValidateResults(const nlohmann::json& results, const std::string& source);

// 16 hex digits: FNV-1a (sim::Hasher) over config.dump(), the format's `suite.config_hash`.
std::string ConfigHash(const nlohmann::json& config);

// One aggregate per (task, method, budget, metric) of `cells` (IQM and bootstrap interval
// over seeds), plus task "all" where a method has that budget on every task.
nlohmann::json ComputeAggregates(const nlohmann::json& cells,
                                 const AggregationSettings& settings = {});

// The node_modules folder holding the plotting libraries: $DARKMATTER_REPORT_JS_DIR if set,
// else the source tree's report/node_modules.
std::string DefaultJsDir();

// Writes one self-contained HTML report (plotting libraries inlined, data embedded, videos
// linked by relative path) to `html_path` atomically; throws sim::BadInput for bad results
// or missing plotting libraries (the message says to run `npm ci --prefix report`).
void WriteReport(const nlohmann::json& results, const std::string& html_path,
                 const ReportOptions& options = {});

// Writes `dir`/cells.csv and `dir`/aggregates.csv atomically (creates `dir`).
void WriteCsv(const nlohmann::json& results, const std::string& dir,
              const ReportOptions& options = {});

// Escapes text for HTML element content and attribute values (& < > " ').
std::string HtmlEscape(const std::string& text);

}  // namespace darkmatter::eval
