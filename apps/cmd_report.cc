// darkmatter report RESULTS.json [--out report.html] [--csv DIR]: render the comparison
// suite's results (docs/results-format.md) as one self-contained HTML page and CSV files.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "eval/report.h"
#include "sim/error.h"

namespace darkmatter::apps {
namespace {

struct ReportCliOptions {
  std::string results;  // RESULTS.json
  std::string out;      // report.html ("" = next to the results file)
  std::string csv;      // folder for cells.csv and aggregates.csv ("" = none)
};

void RunReport(const ReportCliOptions& o) {
  namespace fs = std::filesystem;
  const nlohmann::json results = eval::LoadResults(o.results);
  const fs::path suite_dir = fs::path(o.results).has_parent_path()
                                 ? fs::path(o.results).parent_path()
                                 : fs::path(".");
  eval::ReportOptions options;
  options.source = o.results;
  options.suite_dir = suite_dir.string();
  const std::string out = o.out.empty() ? (suite_dir / "report.html").string() : o.out;
  eval::WriteReport(results, out, options);
  std::printf("wrote %s\n", out.c_str());
  if (!o.csv.empty()) {
    eval::WriteCsv(results, o.csv, options);
    std::printf("wrote %s/cells.csv and %s/aggregates.csv\n", o.csv.c_str(), o.csv.c_str());
  }
}

}  // namespace

void AddReportCommand(CLI::App& app) {
  auto options = std::make_shared<ReportCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Render a suite's results.json as a self-contained report.html (+ CSV)");
  cmd->add_option("results", options->results, "results.json written by `darkmatter suite`")
      ->required();
  cmd->add_option("--out", options->out, "HTML file to write (default: report.html next to "
                                         "the results file)");
  cmd->add_option("--csv", options->csv, "also write cells.csv and aggregates.csv into DIR");
  cmd->callback([options] { RunReport(*options); });
}

}  // namespace darkmatter::apps
