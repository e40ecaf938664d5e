#include "eval/report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include "eval/report_format.h"
#include "eval/report_sections.h"
#include "eval/statistics.h"
#include "sim/error.h"
#include "sim/hash.h"
#include "worldmodel/run_files.h"

#ifndef DARKMATTER_REPORT_JS_DIR
#define DARKMATTER_REPORT_JS_DIR "report/node_modules"
#endif

namespace darkmatter::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Files.

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}


constexpr const char* kStyle = R"css(
:root { --ink:#1d2330; --muted:#5b6472; --line:#e3e6ea; --accent:#4e79a7; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--ink); background:#f6f7f9; }
main { max-width:1000px; margin:0 auto; padding:20px 28px 60px; background:#fff;
       min-height:100vh; box-shadow:0 0 0 1px var(--line); }
h1 { font-size:22px; margin:0 0 4px; } h1 .name { color:var(--accent); }
h2 { font-size:17px; margin:28px 0 6px; padding-top:14px; border-top:1px solid var(--line); }
h3 { font-size:14px; margin:14px 0 4px; color:var(--muted); }
.question { margin:0 0 8px; font-size:15px; color:var(--muted); }
dl.meta { display:flex; flex-wrap:wrap; gap:4px 18px; margin:6px 0; font-size:12px; }
dl.meta div { display:flex; gap:6px; } dl.meta dt { color:var(--muted); } dl.meta dd { margin:0; }
details { font-size:12px; color:var(--muted); } pre { background:#f6f7f9; padding:8px;
       overflow:auto; max-height:240px; }
.ok { color:#2e7d32; } .warn { color:#c62828; font-weight:600; }
nav { display:flex; flex-wrap:wrap; gap:14px; font-size:13px; margin:10px 0 0; }
nav a { color:var(--accent); text-decoration:none; }
.note { color:var(--muted); margin:2px 0 10px; font-size:13px; }
.empty { color:var(--muted); font-style:italic; background:#f6f7f9; padding:10px 12px;
         border-radius:6px; }
table { border-collapse:collapse; margin:6px 0 10px; }
table.results { width:100%; font-variant-numeric:tabular-nums; }
.headline { overflow-x:auto; }
table.results th, table.results td { padding:8px 8px; border-bottom:1px solid var(--line);
         text-align:left; }
table.results thead th { font-size:13px; color:var(--muted); font-weight:600;
         overflow-wrap:anywhere; }
table.results td .iqm { font-size:16px; font-weight:500; }
table.results td.best .iqm { font-weight:700; }
table.results td .ci { color:var(--muted); font-size:12px; }
table.results td .budget { display:block; color:var(--muted); font-size:11px; }
table.results td.na { color:#aaa; }
table.small th, table.small td { padding:4px 12px; border-bottom:1px solid var(--line);
         text-align:left; font-variant-numeric:tabular-nums; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:7px; }
.family { font-size:11px; font-weight:500; color:var(--muted); border:1px solid var(--line);
          border-radius:8px; padding:0 6px; margin-left:4px; }
ul.verdicts { margin:4px 0 12px; padding-left:20px; }
.chart { margin:6px 0 8px; min-height:40px; }
.chart.failed { color:#c62828; }
.videos { display:flex; flex-wrap:wrap; gap:12px; }
figure.video { margin:0; width:300px; }
figure.video video { width:100%; background:#111; border-radius:4px; display:block; }
figure.video figcaption { font-size:12px; color:var(--muted); margin-top:2px; }
figure.video .missing { height:120px; display:flex; align-items:center; justify-content:center;
          background:#f6f7f9; color:var(--muted); font-size:12px; border-radius:4px; padding:8px; }
)css";

constexpr const char* kRenderScript = R"js(
(function () {
  var charts = document.querySelectorAll('.chart');
  var pending = charts.length;
  function done() { if (--pending <= 0) document.body.setAttribute('data-charts', 'done'); }
  if (pending === 0) document.body.setAttribute('data-charts', 'done');
  charts.forEach(function (el) {
    var spec = JSON.parse(document.getElementById(el.dataset.spec).textContent);
    vegaEmbed(el, spec, {actions: false, renderer: 'svg'}).then(function () {
      el.setAttribute('data-drawn', '1');
      done();
    }).catch(function (err) {
      el.classList.add('failed');
      el.textContent = 'chart failed: ' + err;
      console.error('chart ' + el.id + ' failed: ' + err);
      done();
    });
  });
})();
)js";

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string ConfigHash(const nlohmann::json& config) {
  const std::string text = config.dump();
  sim::Hasher hasher;
  hasher.Add(text.data(), text.size());
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx",
                static_cast<unsigned long long>(hasher.Value()));
  return buffer;
}

nlohmann::json ComputeAggregates(const nlohmann::json& cells,
                                 const AggregationSettings& settings) {
  using Key = std::tuple<std::string, std::string, double, std::string>;  // method kind value metric
  std::map<std::string, std::map<Key, std::vector<double>>> by_task;
  std::set<std::string> tasks;
  for (const json& cell : cells) {
    const std::string task = cell.at("task");
    tasks.insert(task);
    for (const auto& [metric, value] : cell.at("metrics").items()) {
      const Key key{cell.at("method"), cell.at("budget").at("kind"),
                    cell.at("budget").at("value").get<double>(), metric};
      by_task[task][key].push_back(value.get<double>());
    }
  }
  auto entry = [&](const std::string& task, const Key& key,
                   const std::vector<std::vector<double>>& strata) {
    const Interval interval =
        BootstrapIqm(strata, settings.replicates, settings.confidence, settings.seed);
    int64_t n = 0;
    for (const auto& s : strata) n += static_cast<int64_t>(s.size());
    return json{{"task", task},
                {"method", std::get<0>(key)},
                {"budget", {{"kind", std::get<1>(key)}, {"value", std::get<2>(key)}}},
                {"metric", std::get<3>(key)},
                {"iqm", interval.estimate},
                {"ci_low", interval.low},
                {"ci_high", interval.high},
                {"n", n}};
  };
  json aggregates = json::array();
  std::map<Key, std::vector<std::vector<double>>> across;
  for (const auto& [task, groups] : by_task) {
    for (const auto& [key, values] : groups) {
      aggregates.push_back(entry(task, key, {values}));
      across[key].push_back(values);
    }
  }
  if (tasks.size() > 1 && !tasks.count("all")) {
    for (const auto& [key, strata] : across) {
      if (strata.size() == tasks.size()) aggregates.push_back(entry("all", key, strata));
    }
  }
  return aggregates;
}

std::string DefaultJsDir() {
  if (const char* dir = std::getenv("DARKMATTER_REPORT_JS_DIR"); dir && *dir) return dir;
  return DARKMATTER_REPORT_JS_DIR;
}

void WriteReport(const nlohmann::json& results, const std::string& html_path,
                 const ReportOptions& options) {
  ValidateResults(results, options.source);
  const fs::path js_dir = options.js_dir.empty() ? fs::path(DefaultJsDir()) : fs::path(options.js_dir);
  const std::vector<fs::path> libraries = {js_dir / "vega/build/vega.min.js",
                                           js_dir / "vega-lite/build/vega-lite.min.js",
                                           js_dir / "vega-embed/build/vega-embed.min.js"};
  std::string scripts;
  for (const fs::path& library : libraries) {
    std::error_code error;
    if (!fs::is_regular_file(library, error)) {
      throw sim::BadInput("plotting library not found: " + library.string() +
                          " (run scripts/test, or `npm ci --prefix report` in the source tree; "
                          "DARKMATTER_REPORT_JS_DIR overrides the node_modules folder)");
    }
    std::string code = ReadFile(library);
    // A literal "</script" inside the code would end the element early.
    for (size_t at = code.find("</script"); at != std::string::npos;
         at = code.find("</script", at)) {
      code.replace(at, 2, "<\\/");
    }
    scripts += "<script>/* " + library.parent_path().parent_path().filename().string() +
               " */\n" + code + "\n</script>\n";
  }

  const fs::path html = fs::path(html_path);
  const fs::path html_dir = html.has_parent_path() ? html.parent_path() : fs::path(".");
  const fs::path suite_dir = options.suite_dir.empty() ? html_dir : fs::path(options.suite_dir);
  const ReportBody body = BuildReportBody(results, html_dir, suite_dir);

  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"darkmatter report\">\n<title>darkmatter suite: " +
      HtmlEscape(results["suite"].value("name", std::string("results"))) +
      "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<main>\n" + body.html +
      "</main>\n";
  for (const ReportChart& chart : body.charts) {
    page += "<script type=\"application/json\" id=\"spec-" + chart.id + "\">" +
            ScriptJson(chart.spec) + "</script>\n";
  }
  page += scripts + "<script>" + kRenderScript + "</script>\n</body>\n</html>\n";
  worldmodel::WriteTextAtomically(html, page);
}

namespace {

// One CSV field (RFC 4180: quoted when it holds a comma, quote or line break).
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string CsvNumber(double x) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", x);
  return text;
}

}  // namespace

void WriteCsv(const nlohmann::json& results, const std::string& dir,
              const ReportOptions& options) {
  ValidateResults(results, options.source);
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw sim::BadInput("cannot create CSV folder '" + dir + "': " + error.message());

  const std::vector<std::string> standard = {"success", "return", "collisions",
                                             "seconds_per_action", "model_calls_per_action"};
  std::set<std::string> present;
  for (const json& cell : results["cells"]) {
    for (const auto& [name, value] : cell["metrics"].items()) present.insert(name);
  }
  std::vector<std::string> columns;
  for (const std::string& name : standard) {
    if (present.count(name)) columns.push_back(name);
  }
  for (const std::string& name : present) {
    if (std::find(standard.begin(), standard.end(), name) == standard.end()) {
      columns.push_back(name);
    }
  }
  std::string cells = "task,method,seed,budget_kind,budget_value";
  for (const std::string& name : columns) cells += "," + CsvField(name);
  cells += "\n";
  for (const json& cell : results["cells"]) {
    cells += CsvField(cell["task"]) + "," + CsvField(cell["method"]) + "," +
             std::to_string(cell["seed"].get<int64_t>()) + "," +
             CsvField(cell["budget"]["kind"]) + "," +
             CsvNumber(cell["budget"]["value"].get<double>());
    for (const std::string& name : columns) {
      cells += ",";
      if (cell["metrics"].contains(name)) cells += CsvNumber(cell["metrics"][name].get<double>());
    }
    cells += "\n";
  }
  std::string aggregates = "task,method,budget_kind,budget_value,metric,iqm,ci_low,ci_high,n\n";
  for (const json& a : results["aggregates"]) {
    aggregates += CsvField(a["task"]) + "," + CsvField(a["method"]) + "," +
                  CsvField(a["budget"]["kind"]) + "," +
                  CsvNumber(a["budget"]["value"].get<double>()) + "," + CsvField(a["metric"]) +
                  "," + CsvNumber(a["iqm"].get<double>()) + "," +
                  CsvNumber(a["ci_low"].get<double>()) + "," +
                  CsvNumber(a["ci_high"].get<double>()) + "," +
                  std::to_string(a["n"].get<int64_t>()) + "\n";
  }
  worldmodel::WriteTextAtomically(fs::path(dir) / "cells.csv", cells);
  worldmodel::WriteTextAtomically(fs::path(dir) / "aggregates.csv", aggregates);
}

}  // namespace darkmatter::eval
