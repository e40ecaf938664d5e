#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "eval/report.h"
#include "sim/error.h"

namespace eval = darkmatter::eval;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kFixture =
    std::string(DARKMATTER_SOURCE_DIR) + "/tests/eval/fixtures/results.json";

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// A fresh, empty folder under the system temp folder, removed at scope exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("darkmatter-report-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  // Files whose name holds ".tmp-" (left-over temporaries of an atomic write).
  int Temporaries() const {
    int n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.path().filename().string().find(".tmp-") != std::string::npos) ++n;
    }
    return n;
  }
};

// The message of the sim::BadInput that `fn` throws ("" if it throws nothing).
template <typename Fn>
std::string BadInputMessage(Fn fn) {
  try {
    fn();
  } catch (const darkmatter::sim::BadInput& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("results fixture: valid, hashed, aggregates computed from its cells",
          "[eval][report]") {
  const json results = eval::LoadResults(kFixture);
  CHECK(results["cells"].size() == 2 * 3 * 3 * 2);
  CHECK(results["suite"]["config_hash"] == eval::ConfigHash(results["suite"]["config"]));
  const json computed = eval::ComputeAggregates(results["cells"]);
  REQUIRE(computed.size() == results["aggregates"].size());
  for (size_t i = 0; i < computed.size(); ++i) {
    INFO("aggregate " << i << ": " << computed[i].dump());
    CHECK(computed[i]["task"] == results["aggregates"][i]["task"]);
    CHECK(computed[i]["method"] == results["aggregates"][i]["method"]);
    CHECK(computed[i]["metric"] == results["aggregates"][i]["metric"]);
    CHECK(computed[i]["iqm"].get<double>() ==
          Approx(results["aggregates"][i]["iqm"].get<double>()));
    CHECK(computed[i]["ci_low"].get<double>() ==
          Approx(results["aggregates"][i]["ci_low"].get<double>()));
  }
}

TEST_CASE("ComputeAggregates: IQM per cell group and a stratified 'all' over tasks",
          "[eval][report]") {
  json cells = json::array();
  for (const char* task : {"a", "b"}) {
    for (int seed = 0; seed < 4; ++seed) {
      cells.push_back({{"task", task}, {"method", "m"}, {"seed", seed},
                       {"budget", {{"kind", "env_steps"}, {"value", 100}}},
                       {"metrics", {{"success", task == std::string("a") ? 0.5 : 1.0}}}});
    }
  }
  cells.push_back({{"task", "a"}, {"method", "only_a"}, {"seed", 0},
                   {"budget", {{"kind", "env_steps"}, {"value", 100}}},
                   {"metrics", {{"success", 0.25}}}});
  const json aggregates = eval::ComputeAggregates(cells);
  int all = 0;
  for (const json& a : aggregates) {
    if (a["task"] == "all") {
      ++all;
      CHECK(a["method"] == "m");  // only_a lacks task b
      CHECK(a["n"] == 8);
      CHECK(a["iqm"].get<double>() == Approx(0.75));
      CHECK(a["ci_low"].get<double>() == Approx(0.75));
    } else if (a["task"] == "b") {
      CHECK(a["iqm"].get<double>() == Approx(1.0));
      CHECK(a["n"] == 4);
    }
  }
  CHECK(all == 1);
  CHECK(aggregates.size() == 4);
}

// Rewrites the fixture's aggregates and config hash from its cells and config:
// tests_eval "[.regenerate]" after editing the fixture.
TEST_CASE("regenerate the results fixture's derived fields", "[.regenerate]") {
  json results = json::parse(Read(kFixture));
  results["suite"]["config_hash"] = eval::ConfigHash(results["suite"]["config"]);
  results["aggregates"] = eval::ComputeAggregates(results["cells"]);
  std::ofstream(kFixture) << results.dump(1) << "\n";
}

TEST_CASE("WriteReport: every section and chart, libraries inlined, nothing fetched",
          "[eval][report]") {
  TempDir dir("sections");
  const json results = eval::LoadResults(kFixture);
  const fs::path html_path = dir.path / "report.html";
  eval::WriteReport(results, html_path.string(), {.source = kFixture});
  const std::string html = Read(html_path);
  for (const char* section : {"id=\"headline\"", "id=\"sample-efficiency\"", "id=\"voe\"",
                              "id=\"ocp\"", "id=\"probes\"", "id=\"planning\"",
                              "id=\"videos\""}) {
    CHECK(Count(html, section) == 1);
  }
  for (const char* chart : {"headline", "sample-efficiency-0", "voe", "label-efficiency",
                            "probe-horizon", "planning"}) {
    INFO(chart);
    CHECK(Count(html, std::string("id=\"chart-") + chart + "\"") == 1);
    CHECK(Count(html, std::string("<script type=\"application/json\" id=\"spec-") + chart +
                          "\">") == 1);
  }
  CHECK(Count(html, "class=\"chart\"") == 6);
  CHECK(Count(html, "class=\"empty\"") == 0);  // no "No ... in this results file."
  // The three libraries inlined (no external script or stylesheet).
  CHECK(html.find("/* vega */") != std::string::npos);
  CHECK(html.find("/* vega-lite */") != std::string::npos);
  CHECK(html.find("/* vega-embed */") != std::string::npos);
  CHECK(html.find("<script src") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.size() > 500000);
  // Headline table: methods, tasks, an "all tasks" column, IQM [CI] cells, a verdict.
  CHECK(html.find("<th>driving/lane_keep</th>") != std::string::npos);
  CHECK(html.find("<th>manipulation/pick_place</th>") != std::string::npos);
  CHECK(html.find("<th>all tasks</th>") != std::string::npos);
  CHECK(html.find("jepa+mppi") != std::string::npos);
  CHECK(html.find("class=\"ci\">[") != std::string::npos);
  CHECK(html.find("leads with") != std::string::npos);
  CHECK(html.find("matches config") != std::string::npos);
  // VoE principles and the models' AUROC table.
  for (const char* p : {"permanence", "continuity", "solidity", "immutability", "gravity"}) {
    CHECK(html.find(p) != std::string::npos);
  }
  // The fixture's folder has no videos: each is listed as missing, none embedded.
  CHECK(Count(html, "video file missing: videos/") == 7);
  CHECK(html.find("<video") == std::string::npos);
  CHECK(dir.Temporaries() == 0);
}

TEST_CASE("WriteReport: videos linked relative to the report's folder", "[eval][report]") {
  TempDir dir("videos");
  json results = eval::LoadResults(kFixture);
  const fs::path suite = dir.path / "suite dir";
  fs::create_directories(suite / "videos");
  std::ofstream(suite / "videos/lane_keep_jepa_best.mp4") << "not really a video";
  eval::WriteReport(results, (suite / "report.html").string(),
                    {.source = "results.json", .suite_dir = suite.string()});
  std::string html = Read(suite / "report.html");
  CHECK(html.find("src=\"videos/lane_keep_jepa_best.mp4\"") != std::string::npos);
  CHECK(Count(html, "<video") == 1);
  CHECK(Count(html, "video file missing") == 6);
  fs::create_directories(dir.path / "elsewhere");
  eval::WriteReport(results, (dir.path / "elsewhere/r.html").string(),
                    {.source = "results.json", .suite_dir = suite.string()});
  html = Read(dir.path / "elsewhere/r.html");
  CHECK(html.find("src=\"../suite%20dir/videos/lane_keep_jepa_best.mp4\"") != std::string::npos);
}

TEST_CASE("WriteReport: names from the results cannot inject HTML or script",
          "[eval][report]") {
  TempDir dir("escape");
  json results = eval::LoadResults(kFixture);
  const std::string clean = [&] {
    eval::WriteReport(results, (dir.path / "clean.html").string());
    return Read(dir.path / "clean.html");
  }();
  const std::string evil_task = "<img src=x onerror=alert(1)>";
  const std::string evil_method = "</script><script>alert('m')</script>";
  for (json& cell : results["cells"]) {
    if (cell["task"] == "driving/lane_keep") cell["task"] = evil_task;
    if (cell["method"] == "bc") cell["method"] = evil_method;
  }
  results["aggregates"] = eval::ComputeAggregates(results["cells"]);
  results["suite"]["name"] = "<b>quick</b>";
  results["voe"]["<svg onload=alert(2)>"] = results["voe"]["jepa"];
  results["videos"][0]["caption"] = "\"><script>alert(3)</script>";
  results["videos"][0]["path"] = "videos/\"onerror=\"alert(4).mp4";
  results["methods"][evil_method] = {{"family", "<i>rl</i>"}};
  eval::WriteReport(results, (dir.path / "evil.html").string());
  const std::string html = Read(dir.path / "evil.html");
  CHECK(html.find(evil_task) == std::string::npos);
  CHECK(html.find(evil_method) == std::string::npos);
  CHECK(html.find("<b>quick</b>") == std::string::npos);
  CHECK(html.find("<svg onload") == std::string::npos);
  CHECK(html.find("<i>rl</i>") == std::string::npos);
  CHECK(html.find("alert(3)</script>") == std::string::npos);
  CHECK(html.find("\"onerror=\"") == std::string::npos);
  // The escaped forms are there instead, and no element was added.
  CHECK(html.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
  CHECK(html.find("\\u003cimg src=x onerror=alert(1)\\u003e") != std::string::npos);
  CHECK(Count(html, "<script") == Count(clean, "<script"));
  CHECK(Count(html, "</script") == Count(clean, "</script"));
  CHECK(Count(html, "<img") == Count(clean, "<img"));
  CHECK(eval::HtmlEscape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;");
}

TEST_CASE("WriteReport: sections without data say so instead of drawing", "[eval][report]") {
  TempDir dir("empty");
  const json results = {{"format", "darkmatter-results"},
                        {"format_version", 1},
                        {"suite", {{"name", "empty"}}},
                        {"cells", json::array()},
                        {"aggregates", json::array()},
                        {"voe", json::object()}};
  eval::WriteReport(results, (dir.path / "report.html").string());
  const std::string html = Read(dir.path / "report.html");
  CHECK(Count(html, "class=\"chart\"") == 0);
  CHECK(Count(html, "class=\"empty\"") == 8);  // headline, curves, voe, ocp, 2 probes, plan, videos
  CHECK(html.find("No violation-of-expectation results in this results file.") !=
        std::string::npos);
  CHECK(html.find("No planning results") != std::string::npos);
  CHECK(html.find("No videos") != std::string::npos);
}

TEST_CASE("WriteReport: atomic, bad input leaves the old report intact", "[eval][report]") {
  TempDir dir("atomic");
  const fs::path html_path = dir.path / "report.html";
  std::ofstream(html_path) << "previous report";
  json bad = eval::LoadResults(kFixture);
  bad["cells"][2]["budget"]["value"] = -5;
  const std::string message =
      BadInputMessage([&] { eval::WriteReport(bad, html_path.string(), {.source = "r.json"}); });
  CHECK(message.find("r.json") != std::string::npos);
  CHECK(message.find("cells[2].budget.value") != std::string::npos);
  CHECK(message.find("-5") != std::string::npos);
  CHECK(Read(html_path) == "previous report");
  CHECK(dir.Temporaries() == 0);
  // Missing plotting libraries: a clear error, the old file untouched.
  const std::string no_js = BadInputMessage([&] {
    eval::WriteReport(eval::LoadResults(kFixture), html_path.string(),
                      {.js_dir = (dir.path / "nowhere").string()});
  });
  CHECK(no_js.find("npm ci --prefix report") != std::string::npos);
  CHECK(Read(html_path) == "previous report");
  // A good write replaces it in one step.
  eval::WriteReport(eval::LoadResults(kFixture), html_path.string());
  CHECK(Read(html_path).rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(dir.Temporaries() == 0);
  // A folder that does not exist: BadInput naming the path.
  const std::string missing_dir = BadInputMessage([&] {
    eval::WriteReport(eval::LoadResults(kFixture), (dir.path / "no/such/r.html").string());
  });
  CHECK(missing_dir.find("no/such/r.html") != std::string::npos);
}

TEST_CASE("LoadResults: bad files name the file and the key", "[eval][report]") {
  TempDir dir("bad");
  auto write = [&](const std::string& name, const std::string& text) {
    const fs::path path = dir.path / name;
    std::ofstream(path) << text;
    return path.string();
  };
  const std::string missing = (dir.path / "absent.json").string();
  CHECK(BadInputMessage([&] { eval::LoadResults(missing); }).find(missing) != std::string::npos);
  const std::string broken = write("broken.json", "{\"format\": ");
  std::string m = BadInputMessage([&] { eval::LoadResults(broken); });
  CHECK(m.find(broken) != std::string::npos);
  CHECK(m.find("not valid JSON") != std::string::npos);
  // Found by fuzz_results: a number too large for a double was the JSON library's own error.
  const std::string huge = write("huge.json", "{\"format_version\": 1e99999}");
  m = BadInputMessage([&] { eval::LoadResults(huge); });
  CHECK(m.find(huge) != std::string::npos);
  CHECK(m.find("not valid JSON") != std::string::npos);

  json results = json::parse(Read(kFixture));
  auto message_for = [&](const json& changed) {
    return BadInputMessage([&] { eval::LoadResults(write("r.json", changed.dump())); });
  };
  json no_cells = results;
  no_cells.erase("cells");
  m = message_for(no_cells);
  CHECK(m.find("r.json") != std::string::npos);
  CHECK(m.find("'cells': missing") != std::string::npos);
  json wrong_version = results;
  wrong_version["format_version"] = 7;
  CHECK(message_for(wrong_version).find("format_version") != std::string::npos);
  json no_task = results;
  no_task["aggregates"][3].erase("task");
  CHECK(message_for(no_task).find("'aggregates[3].task': missing") != std::string::npos);
  json bad_accuracy = results;
  bad_accuracy["voe"]["jepa"]["principles"]["gravity"]["accuracy"] = 1.5;
  CHECK(message_for(bad_accuracy).find("voe.jepa.principles.gravity.accuracy") !=
        std::string::npos);
  json bad_horizon = results;
  bad_horizon["probes"]["r2"]["jepa"]["position"]["soon"] = 0.5;
  CHECK(message_for(bad_horizon).find("probes.r2.jepa.position.soon") != std::string::npos);
  json bad_kind = results;
  bad_kind["videos"][1]["kind"] = "funny";
  CHECK(message_for(bad_kind).find("videos[1].kind") != std::string::npos);
  json absolute = results;
  absolute["videos"][0]["path"] = "/etc/passwd";
  CHECK(message_for(absolute).find("videos[0].path") != std::string::npos);
  json string_metric = results;
  string_metric["cells"][0]["metrics"]["success"] = "high";
  CHECK(message_for(string_metric).find("cells[0].metrics.success") != std::string::npos);
  CHECK(message_for(json::array()).find("top level") != std::string::npos);
}

TEST_CASE("WriteCsv: cells and aggregates, standard metrics first, quoted names",
          "[eval][report]") {
  TempDir dir("csv");
  json results = eval::LoadResults(kFixture);
  results["cells"][0]["method"] = "a, \"quoted\" method";
  eval::WriteCsv(results, (dir.path / "csv").string());
  const std::string cells = Read(dir.path / "csv/cells.csv");
  const std::string aggregates = Read(dir.path / "csv/aggregates.csv");
  CHECK(cells.rfind("task,method,seed,budget_kind,budget_value,success,return,collisions,"
                    "seconds_per_action,model_calls_per_action,episodes,unlabelled_frames\n",
                    0) == 0);
  CHECK(Count(cells, "\n") == 1 + results["cells"].size());
  CHECK(cells.find("\"a, \"\"quoted\"\" method\"") != std::string::npos);
  CHECK(aggregates.rfind("task,method,budget_kind,budget_value,metric,iqm,ci_low,ci_high,n\n",
                         0) == 0);
  CHECK(Count(aggregates, "\n") == 1 + results["aggregates"].size());
  CHECK(dir.Temporaries() == 0);
}
