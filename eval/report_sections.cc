#include "eval/report_sections.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include "eval/report.h"
#include "eval/report_format.h"

namespace darkmatter::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------
// The report's pieces.

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

  const std::vector<ReportChart>& Charts() const { return charts_; }

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
    const int width = WrapFacet(&spec, "task", labels, task_order.size(), 4);
    spec["spec"] = {
        {"width", width},
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
      const int width = WrapFacet(&spec, "task", labels, labels.size(), 3);
      spec["spec"] = {
          {"width", width},
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
      const int width = WrapFacet(&spec, "field", fields, fields.size(), 3);
      spec["spec"] = {
          {"width", width},
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
  std::vector<ReportChart> charts_;
};

}  // namespace

ReportBody BuildReportBody(const nlohmann::json& results, const std::filesystem::path& html_dir,
                           const std::filesystem::path& suite_dir) {
  ReportBuilder builder(results, html_dir, suite_dir);
  ReportBody body;
  body.html = builder.Body();
  body.charts = builder.Charts();
  return body;
}

}  // namespace darkmatter::eval
