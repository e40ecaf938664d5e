#include "eval/report.h"

#include <unistd.h>

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

#include "eval/statistics.h"
#include "sim/error.h"
#include "sim/hash.h"

#ifndef DARKMATTER_REPORT_JS_DIR
#define DARKMATTER_REPORT_JS_DIR "report/node_modules"
#endif

namespace darkmatter::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Files.

// Writes `text` to `path` through a temporary file in the same folder and a rename.
void WriteAtomically(const fs::path& path, const std::string& text) {
  const fs::path temp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw sim::BadInput("cannot write '" + path.string() + "' (is its folder there?)");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw std::runtime_error("writing '" + temp.string() + "' failed");
    }
  }
  std::error_code error;
  fs::rename(temp, path, error);
  if (error) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw std::runtime_error("cannot rename '" + temp.string() + "' to '" + path.string() +
                             "': " + error.message());
  }
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---------------------------------------------------------------------------------------
// Formatting.

// JSON for a <script type="application/json"> block: '<', '>' and '&' become \u escapes so
// that no string can close the script element or open a comment.
std::string ScriptJson(const json& value) {
  const std::string text = value.dump();
  std::string out;
  out.reserve(text.size() + 16);
  for (char ch : text) {
    if (ch == '<') {
      out += "\\u003c";
    } else if (ch == '>') {
      out += "\\u003e";
    } else if (ch == '&') {
      out += "\\u0026";
    } else {
      out += ch;
    }
  }
  return out;
}

// Percent-encodes a relative path for a URL (keeps '/' and unreserved characters).
std::string UrlPath(const std::string& path) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : path) {
    if (std::isalnum(ch) || ch == '/' || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

// A metric value: 2 decimals for fractions, 3 significant digits otherwise.
std::string Value(double x, bool fraction) {
  return fraction ? Format("%.2f", x) : Format("%.3g", x);
}

// 100000 -> "100k", 2500000 -> "2.5M".
std::string Amount(double x) {
  if (x >= 1e6) return Format("%g", x / 1e6) + "M";
  if (x >= 1e3) return Format("%g", x / 1e3) + "k";
  return Format("%g", x);
}

std::string TaskLabel(const std::string& task) { return task == "all" ? "all tasks" : task; }

const std::vector<std::string> kPalette = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                           "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                           "#9c755f", "#bab0ac"};

// A Vega-Lite color encoding with a fixed name -> color mapping.
json ColorEncoding(const std::string& field, const std::vector<std::string>& domain,
                   const std::string& title) {
  json range = json::array();
  for (size_t i = 0; i < domain.size(); ++i) range.push_back(kPalette[i % kPalette.size()]);
  return {{"field", field},
          {"type", "nominal"},
          {"title", title},
          {"sort", domain},
          {"scale", {{"domain", domain}, {"range", range}}},
          {"legend", {{"orient", "top"}, {"labelFontSize", 12}, {"titleFontSize", 12}}}};
}

json BaseSpec() {
  return {{"$schema", "https://vega.github.io/schema/vega-lite/v6.json"},
          {"config",
           {{"font", "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"},
            {"view", {{"stroke", "#e3e6ea"}}},
            {"axis", {{"labelFontSize", 11}, {"titleFontSize", 12}, {"gridColor", "#eef0f3"}}},
            {"header", {{"labelFontSize", 13}, {"labelFontWeight", "bold"}}}}}};
}

// Columns of facet charts: width of each so that `columns` fit in about 900 px.
int FacetWidth(size_t columns) {
  return std::clamp(static_cast<int>(860 / std::max<size_t>(columns, 1)) - 40, 180, 380);
}

// Names sorted by score, highest first (the best gets the first palette colour everywhere).
std::vector<std::string> Ranked(const std::map<std::string, double>& scores) {
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [name, score] : scores) order.push_back({-score, name});
  std::sort(order.begin(), order.end());
  std::vector<std::string> names;
  for (const auto& [score, name] : order) names.push_back(name);
  return names;
}

bool AllFractions(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [](double x) { return x >= 0 && x <= 1; });
}

// ---------------------------------------------------------------------------------------
// The report's pieces.

struct Chart {
  std::string id;    // DOM id suffix
  json spec;         // Vega-Lite spec
};

class ReportBuilder {
 public:
  ReportBuilder(const json& results, const fs::path& html_dir, const fs::path& suite_dir)
      : r_(results), html_dir_(html_dir), suite_dir_(suite_dir) {
    metric_ = r_["suite"].value("headline_metric", std::string("success"));
  }

  std::string Body() {
    std::string body;
    body += Header();
    body += Nav();
    body += Headline();
    body += SampleEfficiency();
    body += Voe();
    body += Ocp();
    body += Probes();
    body += Planning();
    body += Videos();
    return body;
  }

  const std::vector<Chart>& Charts() const { return charts_; }

 private:
  std::string ChartDiv(const std::string& id, json spec, const std::string& label) {
    charts_.push_back({id, std::move(spec)});
    return "<div class=\"chart\" id=\"chart-" + id + "\" data-spec=\"spec-" + id +
           "\" role=\"img\" aria-label=\"" + HtmlEscape(label) + "\"></div>\n";
  }

  static std::string Empty(const std::string& what) {
    return "<p class=\"empty\">No " + HtmlEscape(what) + " in this results file.</p>\n";
  }

  std::string Header() {
    const json& suite = r_["suite"];
    std::string name = suite.value("name", std::string("suite"));
    std::string html = "<header><h1>darkmatter comparison suite: <span class=\"name\">" +
                       HtmlEscape(name) + "</span></h1>\n<p class=\"question\">Does a world "
                       "model learned by watching beat supervised and RL baselines at equal "
                       "budgets?</p>\n<dl class=\"meta\">";
    auto item = [&](const std::string& key, const std::string& value) {
      html += "<div><dt>" + HtmlEscape(key) + "</dt><dd>" + value + "</dd></div>";
    };
    if (suite.contains("darkmatter_version")) {
      const json& v = suite["darkmatter_version"];
      item("version", HtmlEscape(v.is_string() ? v.get<std::string>() : v.dump()));
    }
    if (suite.contains("config_hash") && suite["config_hash"].is_string()) {
      std::string hash = HtmlEscape(suite["config_hash"].get<std::string>());
      if (suite.contains("config")) {
        hash += ConfigHash(suite["config"]) == suite["config_hash"].get<std::string>()
                    ? " <span class=\"ok\">matches config</span>"
                    : " <span class=\"warn\">does not match config (" +
                          ConfigHash(suite["config"]) + ")</span>";
      }
      item("config hash", "<code>" + hash + "</code>");
    }
    auto plain = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
    if (r_.contains("machine") && r_["machine"].is_object()) {
      std::string text;
      for (const char* key : {"hostname", "device", "gpu", "cpu", "cores", "os", "torch"}) {
        if (!r_["machine"].contains(key)) continue;
        if (!text.empty()) text += " · ";
        text += std::string(key) + " " + plain(r_["machine"][key]);
      }
      item("machine", HtmlEscape(text));
    }
    if (r_.contains("time") && r_["time"].is_object()) {
      const json& t = r_["time"];
      std::string text;
      if (t.contains("started")) text += plain(t["started"]);
      if (t.contains("finished")) text += " → " + plain(t["finished"]);
      if (t.contains("wall_seconds") && t["wall_seconds"].is_number()) {
        text += " (" + Format("%.0f", t["wall_seconds"].get<double>()) + " s)";
      }
      item("time", HtmlEscape(text));
    }
    if (suite.contains("config")) {
      html += "</dl>\n<details><summary>suite config</summary><pre>" +
              HtmlEscape(suite["config"].dump(2)) + "</pre></details>\n";
    } else {
      html += "</dl>\n";
    }
    return html + "</header>\n";
  }

  static std::string Nav() {
    return "<nav><a href=\"#headline\">Headline</a><a href=\"#sample-efficiency\">Sample "
           "efficiency</a><a href=\"#voe\">Violation of expectation</a><a href=\"#ocp\">Outcome "
           "readout</a><a href=\"#probes\">Probes</a><a href=\"#planning\">Planning</a><a "
           "href=\"#videos\">Videos</a></nav>\n";
  }

  // Headline aggregates: per (task, method) the entry of the headline metric at the
  // largest budget.
  struct Cell {
    double iqm, low, high;
    int64_t n;
    std::string kind;
    double budget;
  };

  std::string Headline() {
    std::string html = "<section id=\"headline\"><h2>Headline: " + HtmlEscape(metric_) +
                       " by method and task</h2>\n";
    std::map<std::pair<std::string, std::string>, Cell> cells;
    std::set<std::string> tasks;
    for (const json& a : r_["aggregates"]) {
      if (a["metric"] != metric_) continue;
      const std::string task = a["task"], method = a["method"];
      const double budget = a["budget"]["value"];
      auto key = std::make_pair(task, method);
      auto it = cells.find(key);
      if (it != cells.end() && it->second.budget >= budget) continue;
      cells[key] = {a["iqm"].get<double>(), a["ci_low"].get<double>(),
                    a["ci_high"].get<double>(), a["n"].get<int64_t>(),
                    a["budget"]["kind"].get<std::string>(), budget};
      tasks.insert(task);
    }
    if (cells.empty()) return html + Empty("aggregates of '" + metric_ + "'") + "</section>\n";

    // Tasks sorted with "all" last; methods by mean IQM over tasks, best first.
    std::vector<std::string> task_order;
    for (const std::string& t : tasks) if (t != "all") task_order.push_back(t);
    if (tasks.count("all")) task_order.push_back("all");
    std::map<std::string, std::pair<double, int>> sums;
    std::vector<double> values;
    for (const auto& [key, cell] : cells) {
      if (key.first != "all") {
        sums[key.second].first += cell.iqm;
        sums[key.second].second += 1;
      }
      sums[key.second];
      values.insert(values.end(), {cell.iqm, cell.low, cell.high});
    }
    methods_.clear();
    for (const auto& [method, sum] : sums) methods_.push_back(method);
    std::stable_sort(methods_.begin(), methods_.end(), [&](const auto& a, const auto& b) {
      const auto& sa = sums[a];
      const auto& sb = sums[b];
      const double ma = sa.second ? sa.first / sa.second : -1e300;
      const double mb = sb.second ? sb.first / sb.second : -1e300;
      return ma > mb;
    });
    const bool fraction = AllFractions(values);

    std::set<std::pair<std::string, double>> budgets;
    for (const auto& [key, cell] : cells) budgets.insert({cell.kind, cell.budget});
    const bool one_budget = budgets.size() == 1;
    if (one_budget) {
      html += "<p class=\"note\">Interquartile mean over seeds with 95% stratified-bootstrap "
              "confidence interval, at the budget " +
              HtmlEscape(budgets.begin()->first) + " = " +
              HtmlEscape(Amount(budgets.begin()->second)) + ". Best per task in bold.</p>\n";
    } else {
      html += "<p class=\"note\">Interquartile mean over seeds with 95% stratified-bootstrap "
              "confidence interval, at each method's largest budget (shown under each value). "
              "Best per task in bold.</p>\n";
    }

    // Verdicts: per task, the best method and whether its interval clears the runner-up.
    std::string verdicts;
    std::map<std::string, std::string> best_of_task;
    for (const std::string& task : task_order) {
      std::vector<std::pair<double, std::string>> ranked;
      for (const std::string& m : methods_) {
        auto it = cells.find({task, m});
        if (it != cells.end()) ranked.push_back({it->second.iqm, m});
      }
      std::sort(ranked.rbegin(), ranked.rend());
      if (ranked.empty()) continue;
      best_of_task[task] = ranked[0].second;
      const Cell& best = cells[{task, ranked[0].second}];
      verdicts += "<li><b>" + HtmlEscape(TaskLabel(task)) + "</b>: " +
                  HtmlEscape(ranked[0].second) + " leads with " + Value(best.iqm, fraction);
      if (ranked.size() > 1) {
        const Cell& second = cells[{task, ranked[1].second}];
        const bool clear = best.low > second.high;
        verdicts += clear ? " — ahead of " + HtmlEscape(ranked[1].second) + " (" +
                                Value(second.iqm, fraction) + ") beyond the 95% intervals"
                          : " — intervals overlap with " + HtmlEscape(ranked[1].second) + " (" +
                                Value(second.iqm, fraction) + "): not separated";
      }
      verdicts += "</li>";
    }

    html += "<div class=\"headline\"><table class=\"results\"><thead><tr><th>method</th>";
    for (const std::string& t : task_order) html += "<th>" + HtmlEscape(TaskLabel(t)) + "</th>";
    html += "</tr></thead><tbody>\n";
    const json methods_info = r_.value("methods", json::object());
    for (size_t i = 0; i < methods_.size(); ++i) {
      const std::string& m = methods_[i];
      html += "<tr><th scope=\"row\"><span class=\"swatch\" style=\"background:" +
              kPalette[i % kPalette.size()] + "\"></span>" + HtmlEscape(m);
      if (methods_info.contains(m) && methods_info[m].is_object() &&
          methods_info[m].contains("family") && methods_info[m]["family"].is_string()) {
        html += " <span class=\"family\">" +
                HtmlEscape(methods_info[m]["family"].get<std::string>()) + "</span>";
      }
      html += "</th>";
      for (const std::string& t : task_order) {
        auto it = cells.find({t, m});
        if (it == cells.end()) {
          html += "<td class=\"na\">—</td>";
          continue;
        }
        const Cell& c = it->second;
        const bool best = best_of_task[t] == m;
        std::string style;
        if (fraction) {
          const std::string pct = Format("%.1f", 100.0 * c.iqm);
          style = " style=\"background:linear-gradient(90deg,rgba(78,121,167,.16) " + pct +
                  "%,transparent " + pct + "%)\"";
        }
        html += "<td" + style + (best ? " class=\"best\"" : "") + "><span class=\"iqm\">" +
                Value(c.iqm, fraction) + "</span> <span class=\"ci\">[" +
                Value(c.low, fraction) + ", " + Value(c.high, fraction) + "]</span>";
        if (!one_budget) {
          html += "<span class=\"budget\">" + HtmlEscape(c.kind) + " " +
                  HtmlEscape(Amount(c.budget)) + ", n=" + std::to_string(c.n) + "</span>";
        }
        html += "</td>";
      }
      html += "</tr>\n";
    }
    html += "</tbody></table>\n<ul class=\"verdicts\">" + verdicts + "</ul></div>\n";

    // Dot-and-whisker chart of the same numbers, one panel per task.
    json rows = json::array();
    for (const auto& [key, c] : cells) {
      rows.push_back({{"task", TaskLabel(key.first)}, {"method", key.second}, {"iqm", c.iqm},
                      {"ci_low", c.low}, {"ci_high", c.high}, {"n", c.n},
                      {"budget", c.kind + " " + Amount(c.budget)}});
    }
    std::vector<std::string> labels;
    for (const std::string& t : task_order) labels.push_back(TaskLabel(t));
    json x = {{"field", "ci_low"}, {"type", "quantitative"},
              {"title", metric_ + " (IQM, 95% CI)"}};
    if (fraction) x["scale"] = {{"domain", {0, 1}}};
    const json y = {{"field", "method"}, {"type", "nominal"}, {"sort", methods_},
                    {"title", nullptr}, {"axis", {{"labelFontSize", 12}}}};
    json color = ColorEncoding("method", methods_, "method");
    color["legend"] = nullptr;  // the y axis names the methods
    json x_iqm = x;
    x_iqm["field"] = "iqm";
    json spec = BaseSpec();
    spec["data"] = {{"values", rows}};
    spec["facet"] = {{"column", {{"field", "task"}, {"type", "nominal"}, {"sort", labels},
                                 {"title", nullptr}}}};
    spec["spec"] = {
        {"width", FacetWidth(task_order.size())},
        {"height", std::max<int>(60, 30 * static_cast<int>(methods_.size()))},
        {"layer",
         {{{"mark", {{"type", "rule"}, {"strokeWidth", 3}, {"opacity", 0.7}}},
           {"encoding", {{"y", y}, {"x", x}, {"x2", {{"field", "ci_high"}}}, {"color", color}}}},
          {{"mark", {{"type", "point"}, {"filled", true}, {"size", 110}, {"opacity", 1}}},
           {"encoding",
            {{"y", y},
             {"x", x_iqm},
             {"color", color},
             {"tooltip",
              {{{"field", "method"}}, {{"field", "task"}}, {{"field", "iqm"}, {"format", ".3f"}},
               {{"field", "ci_low"}, {"format", ".3f"}}, {{"field", "ci_high"}, {"format", ".3f"}},
               {{"field", "n"}}, {{"field", "budget"}}}}}}}}}};
    html += ChartDiv("headline", spec, "IQM and confidence interval of " + metric_ +
                                           " per method, one panel per task");
    return html + "</section>\n";
  }

  std::string SampleEfficiency() {
    std::string html = "<section id=\"sample-efficiency\"><h2>Sample efficiency: " +
                       HtmlEscape(metric_) + " against budget</h2>\n";
    std::map<std::string, json> rows_by_kind;
    std::map<std::string, std::set<std::string>> tasks_by_kind;
    for (const json& a : r_["aggregates"]) {
      if (a["metric"] != metric_) continue;
      const std::string kind = a["budget"]["kind"], task = a["task"];
      rows_by_kind[kind].push_back({{"task", TaskLabel(task)}, {"method", a["method"]},
                                    {"budget", a["budget"]["value"]}, {"iqm", a["iqm"]},
                                    {"ci_low", a["ci_low"]}, {"ci_high", a["ci_high"]},
                                    {"n", a["n"]}});
      tasks_by_kind[kind].insert(task);
    }
    if (rows_by_kind.empty()) return html + Empty("aggregates over budgets") + "</section>\n";
    html += "<p class=\"note\">IQM over seeds (line) and its 95% confidence band, against the "
            "budget each method was given (log scale).</p>\n";
    std::vector<std::string> methods = methods_;
    for (const auto& [kind, rows] : rows_by_kind) {
      for (const json& row : rows) {
        const std::string m = row["method"];
        if (std::find(methods.begin(), methods.end(), m) == methods.end()) methods.push_back(m);
      }
    }
    int index = 0;
    for (const auto& [kind, rows] : rows_by_kind) {
      std::vector<std::string> labels;
      for (const std::string& t : tasks_by_kind[kind]) if (t != "all") labels.push_back(t);
      if (tasks_by_kind[kind].count("all")) labels.push_back("all tasks");
      std::vector<double> values;
      for (const json& row : rows) {
        values.insert(values.end(), {row["iqm"].get<double>(), row["ci_low"].get<double>(),
                                     row["ci_high"].get<double>()});
      }
      json y = {{"field", "ci_low"}, {"type", "quantitative"}, {"title", metric_}};
      if (AllFractions(values)) y["scale"] = {{"domain", {0, 1}}};
      json y_iqm = y;
      y_iqm["field"] = "iqm";
      std::set<double> budget_set;
      for (const json& row : rows) budget_set.insert(row["budget"].get<double>());
      const json x = {{"field", "budget"}, {"type", "quantitative"},
                      {"scale", {{"type", "log"}, {"nice", false}, {"padding", 18}}},
                      {"title", kind + " (log)"},
                      {"axis", {{"format", "~s"}, {"values", budget_set}}}};
      const json color = ColorEncoding("method", methods, "method");
      json band_color = color;
      band_color["legend"] = nullptr;
      json spec = BaseSpec();
      spec["data"] = {{"values", rows}};
      spec["facet"] = {{"column", {{"field", "task"}, {"type", "nominal"}, {"sort", labels},
                                   {"title", nullptr}}}};
      spec["spec"] = {
          {"width", FacetWidth(labels.size())},
          {"height", 220},
          {"layer",
           {{{"mark", {{"type", "area"}, {"opacity", 0.16}}},
             {"encoding",
              {{"x", x}, {"y", y}, {"y2", {{"field", "ci_high"}}}, {"color", band_color}}}},
            {{"mark", {{"type", "line"}, {"point", {{"filled", true}, {"size", 50}}},
                       {"strokeWidth", 2}}},
             {"encoding",
              {{"x", x},
               {"y", y_iqm},
               {"color", color},
               {"tooltip",
                {{{"field", "method"}}, {{"field", "task"}}, {{"field", "budget"}},
                 {{"field", "iqm"}, {"format", ".3f"}}, {{"field", "ci_low"}, {"format", ".3f"}},
                 {{"field", "ci_high"}, {"format", ".3f"}}, {{"field", "n"}}}}}}}}}};
      html += ChartDiv("sample-efficiency-" + std::to_string(index++), spec,
                       metric_ + " against " + kind + " per task");
    }
    return html + "</section>\n";
  }

  std::string Voe() {
    std::string html = "<section id=\"voe\"><h2>P1 Violation of expectation</h2>\n";
    if (!r_.contains("voe") || r_["voe"].empty()) {
      return html + Empty("violation-of-expectation results") + "</section>\n";
    }
    const std::vector<std::string> standard = {"permanence", "continuity", "solidity",
                                               "immutability", "gravity"};
    std::vector<std::string> models, principles;
    std::map<std::string, double> voe_score;
    json rows = json::array(), interval_rows = json::array();
    std::string table = "<table class=\"small\"><thead><tr><th>model</th><th>mean pairwise "
                        "accuracy</th><th>AUROC (single clips)</th></tr></thead><tbody>";
    for (const auto& [model, entry] : r_["voe"].items()) {
      models.push_back(model);
      double sum = 0;
      int count = 0;
      for (const auto& [principle, result] : entry["principles"].items()) {
        if (std::find(principles.begin(), principles.end(), principle) == principles.end()) {
          principles.push_back(principle);
        }
        json row = {{"model", model}, {"principle", principle},
                    {"accuracy", result["accuracy"]}};
        if (result.contains("n")) row["n"] = result["n"];
        if (result.contains("ci_low")) {
          row["ci_low"] = result["ci_low"];
          row["ci_high"] = result["ci_high"];
          interval_rows.push_back(row);
        }
        rows.push_back(row);
        sum += result["accuracy"].get<double>();
        ++count;
      }
      voe_score[model] = count ? sum / count : 0.0;
      table += "<tr><th scope=\"row\">" + HtmlEscape(model) + "</th><td>" +
               (count ? Value(sum / count, true) : "—") + "</td><td>" +
               (entry.contains("auroc") ? Value(entry["auroc"].get<double>(), true) : "—") +
               "</td></tr>";
    }
    table += "</tbody></table>\n";
    if (rows.empty()) return html + Empty("principles") + "</section>\n";
    models = Ranked(voe_score);
    std::stable_sort(principles.begin(), principles.end(), [&](const auto& a, const auto& b) {
      auto rank = [&](const std::string& p) {
        auto it = std::find(standard.begin(), standard.end(), p);
        return it - standard.begin();
      };
      return rank(a) < rank(b);
    });
    html += "<p class=\"note\">Pairwise accuracy: how often the model is more surprised by the "
            "impossible twin than by the possible one (chance 0.5, dashed), with 95% "
            "intervals.</p>\n";
    const json x = {{"field", "principle"}, {"type", "nominal"}, {"sort", principles},
                    {"title", nullptr}, {"axis", {{"labelAngle", 0}, {"labelFontSize", 12}}}};
    const json offset = {{"field", "model"}, {"sort", models}};
    const json color = ColorEncoding("model", models, "model");
    json spec = BaseSpec();
    spec["width"] = 820;
    spec["height"] = 240;
    spec["layer"] = {
        {{"data", {{"values", rows}}},
         {"mark", {{"type", "bar"}, {"cornerRadiusEnd", 2}}},
         {"encoding",
          {{"x", x},
           {"xOffset", offset},
           {"y", {{"field", "accuracy"}, {"type", "quantitative"},
                  {"scale", {{"domain", {0, 1}}}}, {"title", "pairwise accuracy"}}},
           {"color", color},
           {"tooltip", {{{"field", "model"}}, {{"field", "principle"}},
                        {{"field", "accuracy"}, {"format", ".3f"}}, {{"field", "n"}}}}}}},
        {{"data", {{"values", rows}}},
         {"mark", {{"type", "rule"}, {"color", "#888"}, {"strokeDash", {5, 4}}}},
         {"encoding", {{"y", {{"datum", 0.5}}}}}}};
    if (!interval_rows.empty()) {
      spec["layer"].push_back(
          {{"data", {{"values", interval_rows}}},
           {"mark", {{"type", "rule"}, {"color", "#222"}, {"strokeWidth", 1.5}}},
           {"encoding",
            {{"x", x},
             {"xOffset", offset},
             {"y", {{"field", "ci_low"}, {"type", "quantitative"}}},
             {"y2", {{"field", "ci_high"}}}}}});
    }
    html += ChartDiv("voe", spec, "pairwise accuracy per principle and model");
    return html + table + "</section>\n";
  }

  std::string Ocp() {
    std::string html = "<section id=\"ocp\"><h2>P2 Outcome readout (OCP)</h2>\n";
    if (!r_.contains("ocp") || r_["ocp"].empty()) {
      return html + Empty("outcome-readout results") + "</section>\n";
    }
    std::vector<std::string> splits;
    for (const auto& [model, entry] : r_["ocp"].items()) {
      for (const auto& [split, accuracy] : entry.items()) {
        if (std::find(splits.begin(), splits.end(), split) == splits.end()) {
          splits.push_back(split);
        }
      }
    }
    html += "<p class=\"note\">Accuracy of a logistic readout on frozen features predicting "
            "whether the red object touches the yellow zone (chance 0.5).</p>\n<table "
            "class=\"small\"><thead><tr><th>model</th>";
    for (const std::string& s : splits) html += "<th>" + HtmlEscape(s) + "</th>";
    html += "</tr></thead><tbody>";
    for (const auto& [model, entry] : r_["ocp"].items()) {
      html += "<tr><th scope=\"row\">" + HtmlEscape(model) + "</th>";
      for (const std::string& s : splits) {
        html += "<td>" + (entry.contains(s) ? Value(entry[s].get<double>(), true) : "—") +
                "</td>";
      }
      html += "</tr>";
    }
    return html + "</tbody></table>\n</section>\n";
  }

  std::string Probes() {
    std::string html = "<section id=\"probes\"><h2>P3 Probes and label efficiency</h2>\n";
    const json probes = r_.value("probes", json::object());
    json horizon_rows = json::array(), label_rows = json::array();
    std::vector<std::string> fields;
    std::map<std::string, double> horizon_score, label_score;
    if (probes.contains("r2")) {
      for (const auto& [model, by_field] : probes["r2"].items()) {
        for (const auto& [field, by_horizon] : by_field.items()) {
          if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
            fields.push_back(field);
          }
          for (const auto& [horizon, r2] : by_horizon.items()) {
            horizon_rows.push_back({{"model", model}, {"field", field},
                                    {"horizon", std::stoi(horizon)}, {"r2", r2}});
          }
        }
        double sum = 0;
        int count = 0;
        for (const auto& [field, by_horizon] : by_field.items()) {
          for (const auto& [horizon, r2] : by_horizon.items()) {
            sum += r2.get<double>();
            ++count;
          }
        }
        if (count > 0) horizon_score[model] = sum / count;
      }
    }
    if (probes.contains("label_efficiency")) {
      for (const auto& [model, points] : probes["label_efficiency"].items()) {
        for (const auto& [labels, r2] : points.items()) {
          label_rows.push_back({{"model", model}, {"labels", std::stol(labels)}, {"r2", r2}});
        }
        long most = 0;
        for (const auto& [labels, r2] : points.items()) {
          if (std::stol(labels) >= most) {
            most = std::stol(labels);
            label_score[model] = r2.get<double>();
          }
        }
      }
    }
    const std::vector<std::string> horizon_models = Ranked(horizon_score);
    const std::vector<std::string> label_models = Ranked(label_score);
    html += "<h3>Label efficiency</h3>\n";
    if (label_rows.empty()) {
      html += Empty("label-efficiency curves");
    } else {
      const std::string field = probes.value("label_efficiency_field", std::string());
      html += "<p class=\"note\">Held-out R²" +
              (field.empty() ? std::string() : " of " + HtmlEscape(field)) +
              " against the number of labels (log scale): a probe on frozen features against "
              "a model trained from scratch on the same labels.</p>\n";
      json spec = BaseSpec();
      spec["data"] = {{"values", label_rows}};
      spec["width"] = 520;
      spec["height"] = 240;
      spec["mark"] = {{"type", "line"}, {"point", {{"filled", true}, {"size", 50}}},
                      {"strokeWidth", 2}};
      spec["encoding"] = {
          {"x", {{"field", "labels"}, {"type", "quantitative"}, {"scale", {{"type", "log"}}},
                 {"title", "labels (log)"}, {"axis", {{"format", "~s"}}}}},
          {"y", {{"field", "r2"}, {"type", "quantitative"}, {"title", "held-out R²"}}},
          {"color", ColorEncoding("model", label_models, "model")},
          {"tooltip", {{{"field", "model"}}, {{"field", "labels"}},
                       {{"field", "r2"}, {"format", ".3f"}}}}};
      html += ChartDiv("label-efficiency", spec, "probe R² against number of labels");
    }
    html += "<h3>Probe R² against prediction horizon</h3>\n";
    if (horizon_rows.empty()) {
      html += Empty("probe results");
    } else {
      html += "<p class=\"note\">Ridge probes from the encoding z<sub>t</sub> (horizon 0) and "
              "from predictions ẑ<sub>t+k</sub> to privileged ground truth; held-out R².</p>\n";
      json spec = BaseSpec();
      spec["data"] = {{"values", horizon_rows}};
      spec["facet"] = {{"column", {{"field", "field"}, {"type", "nominal"}, {"sort", fields},
                                   {"title", nullptr}}}};
      spec["spec"] = {
          {"width", FacetWidth(fields.size())},
          {"height", 200},
          {"mark", {{"type", "line"}, {"point", {{"filled", true}, {"size", 50}}},
                    {"strokeWidth", 2}}},
          {"encoding",
           {{"x", {{"field", "horizon"}, {"type", "quantitative"}, {"title", "horizon k"}}},
            {"y", {{"field", "r2"}, {"type", "quantitative"}, {"title", "held-out R²"}}},
            {"color", ColorEncoding("model", horizon_models, "model")},
            {"tooltip", {{{"field", "model"}}, {{"field", "field"}}, {{"field", "horizon"}},
                         {{"field", "r2"}, {"format", ".3f"}}}}}}};
      html += ChartDiv("probe-horizon", spec, "probe R² against horizon per field");
    }
    return html + "</section>\n";
  }

  std::string Planning() {
    std::string html = "<section id=\"planning\"><h2>P4 Planning: success against time per "
                       "action</h2>\n";
    if (!r_.contains("planning") || r_["planning"].empty()) {
      return html + Empty("planning results") + "</section>\n";
    }
    json rows = json::array();
    std::map<std::string, double> plan_score;
    for (const auto& [method, points] : r_["planning"].items()) {
      const json list = points.is_array() ? points : json::array({points});
      for (const json& p : list) {
        json row = {{"method", method}, {"seconds_per_action", p["seconds_per_action"]},
                    {"success", p["success"]}};
        if (p.contains("model_calls_per_action")) {
          row["model_calls_per_action"] = p["model_calls_per_action"];
        }
        if (p.contains("setting")) row["setting"] = p["setting"];
        rows.push_back(row);
        plan_score[method] = std::max(plan_score[method], p["success"].get<double>());
      }
    }
    if (rows.empty()) return html + Empty("planning points") + "</section>\n";
    const std::vector<std::string> methods = Ranked(plan_score);
    html += "<p class=\"note\">Each point is a planner at one compute setting: success rate "
            "against wall-clock seconds per action (log scale). Up and to the left is "
            "better.</p>\n";
    json spec = BaseSpec();
    spec["data"] = {{"values", rows}};
    spec["width"] = 520;
    spec["height"] = 260;
    spec["mark"] = {{"type", "line"}, {"point", {{"filled", true}, {"size", 60}}},
                    {"strokeWidth", 2}};
    spec["encoding"] = {
        {"x", {{"field", "seconds_per_action"}, {"type", "quantitative"},
               {"scale", {{"type", "log"}}}, {"title", "seconds per action (log)"}}},
        {"y", {{"field", "success"}, {"type", "quantitative"}, {"scale", {{"domain", {0, 1}}}},
               {"title", "success"}}},
        {"order", {{"field", "seconds_per_action"}}},
        {"color", ColorEncoding("method", methods, "method")},
        {"tooltip", {{{"field", "method"}}, {{"field", "setting"}},
                     {{"field", "seconds_per_action"}, {"format", ".4f"}},
                     {{"field", "success"}, {"format", ".3f"}},
                     {{"field", "model_calls_per_action"}}}}};
    html += ChartDiv("planning", spec, "planning success against seconds per action");
    return html + "</section>\n";
  }

  std::string Videos() {
    std::string html = "<section id=\"videos\"><h2>Episodes</h2>\n";
    if (!r_.contains("videos") || r_["videos"].empty()) {
      return html + Empty("videos") + "</section>\n";
    }
    html += "<p class=\"note\">Best and worst evaluation episode per method, and real against "
            "imagined rollouts (left: real, right: the world model's prediction). Files are "
            "linked relative to this report.</p>\n";
    std::vector<std::string> methods;
    for (const json& v : r_["videos"]) {
      const std::string m = v["method"];
      if (std::find(methods.begin(), methods.end(), m) == methods.end()) methods.push_back(m);
    }
    const fs::path html_dir = fs::absolute(html_dir_).lexically_normal();
    for (const std::string& m : methods) {
      html += "<h3>" + HtmlEscape(m) + "</h3>\n<div class=\"videos\">";
      for (const char* kind : {"best", "worst", "imagined"}) {
        for (const json& v : r_["videos"]) {
          if (v["method"] != m || v["kind"] != kind) continue;
          const std::string path = v["path"];
          const fs::path file = fs::absolute(suite_dir_ / path).lexically_normal();
          std::string caption = std::string(kind);
          if (v.contains("task")) caption += " · " + v["task"].get<std::string>();
          if (v.contains("caption")) caption += " · " + v["caption"].get<std::string>();
          html += "<figure class=\"video " + std::string(kind) + "\">";
          std::error_code error;
          if (fs::is_regular_file(file, error)) {
            const std::string src = file.lexically_relative(html_dir).generic_string();
            html += "<video controls muted loop playsinline preload=\"metadata\" src=\"" +
                    HtmlEscape(UrlPath(src.empty() ? path : src)) + "\"></video>";
          } else {
            html += "<div class=\"missing\">video file missing: " + HtmlEscape(path) + "</div>";
          }
          html += "<figcaption>" + HtmlEscape(caption) + "</figcaption></figure>";
        }
      }
      html += "</div>\n";
    }
    return html + "</section>\n";
  }

  const json& r_;
  fs::path html_dir_;
  fs::path suite_dir_;
  std::string metric_;
  std::vector<std::string> methods_;  // headline order, best first
  std::vector<Chart> charts_;
};

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
table.results th, table.results td { padding:8px 12px; border-bottom:1px solid var(--line);
         text-align:left; }
table.results thead th { font-size:13px; color:var(--muted); font-weight:600; }
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
  ReportBuilder builder(results, html_dir, suite_dir);
  const std::string body = builder.Body();

  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"darkmatter report\">\n<title>darkmatter suite: " +
      HtmlEscape(results["suite"].value("name", std::string("results"))) +
      "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<main>\n" + body + "</main>\n";
  for (const Chart& chart : builder.Charts()) {
    page += "<script type=\"application/json\" id=\"spec-" + chart.id + "\">" +
            ScriptJson(chart.spec) + "</script>\n";
  }
  page += scripts + "<script>" + kRenderScript + "</script>\n</body>\n</html>\n";
  WriteAtomically(html, page);
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

std::string CsvNumber(double x) { return Format("%.17g", x); }

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
  WriteAtomically(fs::path(dir) / "cells.csv", cells);
  WriteAtomically(fs::path(dir) / "aggregates.csv", aggregates);
}

}  // namespace darkmatter::eval
