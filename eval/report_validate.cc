// Validation of results.json (docs/results-format.md): every error names the file, the JSON
// path and what was expected.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eval/report.h"
#include "sim/error.h"

namespace darkmatter::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Validation.

// Short text of a JSON value for error messages.
std::string Shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void Fail(const std::string& key, const std::string& why) const {
    throw sim::BadInput(source_ + ": " + (key.empty() ? "" : "key '" + key + "': ") + why);
  }

  // The member `name` of `object` at `path`; nullptr when absent and not required.
  const json* Member(const json& object, const std::string& path, const std::string& name,
                     bool required) const {
    const std::string key = path.empty() ? name : path + "." + name;
    auto it = object.find(name);
    if (it == object.end()) {
      if (required) Fail(key, "missing");
      return nullptr;
    }
    return &*it;
  }

  void Object(const json& value, const std::string& key) const {
    if (!value.is_object()) Fail(key, "expected an object, got " + Shown(value));
  }
  void Array(const json& value, const std::string& key) const {
    if (!value.is_array()) Fail(key, "expected an array, got " + Shown(value));
  }
  void String(const json& value, const std::string& key, bool non_empty = true) const {
    if (!value.is_string()) Fail(key, "expected a string, got " + Shown(value));
    if (non_empty && value.get_ref<const std::string&>().empty()) Fail(key, "empty string");
  }
  void Number(const json& value, const std::string& key) const {
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      Fail(key, "expected a finite number, got " + Shown(value));
    }
  }
  void Fraction(const json& value, const std::string& key) const {
    Number(value, key);
    const double x = value.get<double>();
    if (x < 0.0 || x > 1.0) Fail(key, "expected a fraction in [0, 1], got " + Shown(value));
  }
  void Integer(const json& value, const std::string& key) const {
    if (!value.is_number_integer()) Fail(key, "expected an integer, got " + Shown(value));
  }
  // A key of a map that must be a decimal integer >= `minimum` (horizons, label counts).
  void IntegerKey(const std::string& text, const std::string& key, long minimum) const {
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < minimum) {
      Fail(key, "expected a decimal integer key >= " + std::to_string(minimum) + ", got \"" +
                    text + "\"");
    }
  }

  void Budget(const json& cell, const std::string& path) const {
    const json& budget = *Member(cell, path, "budget", true);
    Object(budget, path + ".budget");
    String(*Member(budget, path + ".budget", "kind", true), path + ".budget.kind");
    const json& value = *Member(budget, path + ".budget", "value", true);
    Number(value, path + ".budget.value");
    if (value.get<double>() <= 0) Fail(path + ".budget.value", "must be > 0, got " + Shown(value));
  }

 private:
  std::string source_;
};

std::string Indexed(const std::string& name, size_t i) {
  return name + "[" + std::to_string(i) + "]";
}

void ValidateCells(const Checker& c, const json& cells) {
  c.Array(cells, "cells");
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string path = Indexed("cells", i);
    const json& cell = cells[i];
    c.Object(cell, path);
    c.String(*c.Member(cell, path, "task", true), path + ".task");
    c.String(*c.Member(cell, path, "method", true), path + ".method");
    c.Integer(*c.Member(cell, path, "seed", true), path + ".seed");
    c.Budget(cell, path);
    const json& metrics = *c.Member(cell, path, "metrics", true);
    c.Object(metrics, path + ".metrics");
    for (const auto& [name, value] : metrics.items()) {
      c.Number(value, path + ".metrics." + name);
    }
  }
}

void ValidateAggregates(const Checker& c, const json& aggregates) {
  c.Array(aggregates, "aggregates");
  for (size_t i = 0; i < aggregates.size(); ++i) {
    const std::string path = Indexed("aggregates", i);
    const json& a = aggregates[i];
    c.Object(a, path);
    c.String(*c.Member(a, path, "task", true), path + ".task");
    c.String(*c.Member(a, path, "method", true), path + ".method");
    c.String(*c.Member(a, path, "metric", true), path + ".metric");
    c.Budget(a, path);
    for (const char* key : {"iqm", "ci_low", "ci_high"}) {
      c.Number(*c.Member(a, path, key, true), path + "." + key);
    }
    const json& n = *c.Member(a, path, "n", true);
    c.Integer(n, path + ".n");
    if (n.get<int64_t>() < 1) c.Fail(path + ".n", "must be >= 1, got " + Shown(n));
    if (a["ci_low"].get<double>() > a["ci_high"].get<double>()) {
      c.Fail(path + ".ci_low", "greater than ci_high (" + Shown(a["ci_low"]) + " > " +
                                   Shown(a["ci_high"]) + ")");
    }
  }
}

void ValidateVoe(const Checker& c, const json& voe) {
  c.Object(voe, "voe");
  for (const auto& [model, entry] : voe.items()) {
    const std::string path = "voe." + model;
    c.Object(entry, path);
    const json& principles = *c.Member(entry, path, "principles", true);
    c.Object(principles, path + ".principles");
    for (const auto& [principle, result] : principles.items()) {
      const std::string key = path + ".principles." + principle;
      c.Object(result, key);
      c.Fraction(*c.Member(result, key, "accuracy", true), key + ".accuracy");
      const json* low = c.Member(result, key, "ci_low", false);
      const json* high = c.Member(result, key, "ci_high", false);
      if ((low == nullptr) != (high == nullptr)) c.Fail(key, "ci_low and ci_high go together");
      if (low != nullptr) {
        c.Fraction(*low, key + ".ci_low");
        c.Fraction(*high, key + ".ci_high");
      }
      if (const json* n = c.Member(result, key, "n", false)) c.Integer(*n, key + ".n");
    }
    if (const json* auroc = c.Member(entry, path, "auroc", false)) {
      c.Fraction(*auroc, path + ".auroc");
    }
  }
}

void ValidateOcp(const Checker& c, const json& ocp) {
  c.Object(ocp, "ocp");
  for (const auto& [model, splits] : ocp.items()) {
    c.Object(splits, "ocp." + model);
    for (const auto& [split, accuracy] : splits.items()) {
      c.Fraction(accuracy, "ocp." + model + "." + split);
    }
  }
}

void ValidateProbes(const Checker& c, const json& probes) {
  c.Object(probes, "probes");
  if (const json* r2 = c.Member(probes, "probes", "r2", false)) {
    c.Object(*r2, "probes.r2");
    for (const auto& [model, fields] : r2->items()) {
      const std::string path = "probes.r2." + model;
      c.Object(fields, path);
      for (const auto& [field, horizons] : fields.items()) {
        c.Object(horizons, path + "." + field);
        for (const auto& [horizon, value] : horizons.items()) {
          const std::string key = path + "." + field + "." + horizon;
          c.IntegerKey(horizon, key, 0);
          c.Number(value, key);
        }
      }
    }
  }
  if (const json* curves = c.Member(probes, "probes", "label_efficiency", false)) {
    c.Object(*curves, "probes.label_efficiency");
    for (const auto& [model, points] : curves->items()) {
      const std::string path = "probes.label_efficiency." + model;
      c.Object(points, path);
      for (const auto& [labels, value] : points.items()) {
        c.IntegerKey(labels, path + "." + labels, 1);
        c.Number(value, path + "." + labels);
      }
    }
  }
  if (const json* field = c.Member(probes, "probes", "label_efficiency_field", false)) {
    c.String(*field, "probes.label_efficiency_field");
  }
}

void ValidatePlanning(const Checker& c, const json& planning) {
  c.Object(planning, "planning");
  for (const auto& [method, points] : planning.items()) {
    const std::string path = "planning." + method;
    if (!points.is_array() && !points.is_object()) {
      c.Fail(path, "expected a list of points or one point, got " + Shown(points));
    }
    const json list = points.is_array() ? points : json::array({points});
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string key = points.is_array() ? Indexed(path, i) : path;
      c.Object(list[i], key);
      const json& seconds = *c.Member(list[i], key, "seconds_per_action", true);
      c.Number(seconds, key + ".seconds_per_action");
      if (seconds.get<double>() <= 0) {
        c.Fail(key + ".seconds_per_action", "must be > 0, got " + Shown(seconds));
      }
      c.Fraction(*c.Member(list[i], key, "success", true), key + ".success");
      if (const json* calls = c.Member(list[i], key, "model_calls_per_action", false)) {
        c.Number(*calls, key + ".model_calls_per_action");
      }
      if (const json* setting = c.Member(list[i], key, "setting", false)) {
        c.String(*setting, key + ".setting", false);
      }
    }
  }
}

void ValidateVideos(const Checker& c, const json& videos) {
  c.Array(videos, "videos");
  for (size_t i = 0; i < videos.size(); ++i) {
    const std::string path = Indexed("videos", i);
    const json& video = videos[i];
    c.Object(video, path);
    const json& file = *c.Member(video, path, "path", true);
    c.String(file, path + ".path");
    if (fs::path(file.get<std::string>()).is_absolute()) {
      c.Fail(path + ".path", "must be relative to the results folder, got " + Shown(file));
    }
    c.String(*c.Member(video, path, "method", true), path + ".method");
    const json& kind = *c.Member(video, path, "kind", true);
    c.String(kind, path + ".kind");
    const std::string k = kind.get<std::string>();
    if (k != "best" && k != "worst" && k != "imagined") {
      c.Fail(path + ".kind", "expected best, worst or imagined, got " + Shown(kind));
    }
    if (const json* caption = c.Member(video, path, "caption", false)) {
      c.String(*caption, path + ".caption", false);
    }
    if (const json* task = c.Member(video, path, "task", false)) c.String(*task, path + ".task");
  }
}

}  // namespace

void ValidateResults(const nlohmann::json& results, const std::string& source) {
  const Checker c(source);
  if (!results.is_object()) c.Fail("", "expected a JSON object at the top level");
  const json& format = *c.Member(results, "", "format", true);
  if (format != "darkmatter-results") {
    c.Fail("format", "expected \"darkmatter-results\", got " + Shown(format));
  }
  const json& version = *c.Member(results, "", "format_version", true);
  c.Integer(version, "format_version");
  if (version.get<int64_t>() != kResultsFormatVersion) {
    c.Fail("format_version", "unsupported version " + Shown(version) + " (this build reads " +
                                 std::to_string(kResultsFormatVersion) + ")");
  }
  const json& suite = *c.Member(results, "", "suite", true);
  c.Object(suite, "suite");
  if (const json* m = c.Member(suite, "suite", "headline_metric", false)) {
    c.String(*m, "suite.headline_metric");
  }
  if (const json* h = c.Member(suite, "suite", "config_hash", false)) {
    c.String(*h, "suite.config_hash");
  }
  if (const json* cfg = c.Member(suite, "suite", "config", false)) c.Object(*cfg, "suite.config");
  for (const char* key : {"machine", "time", "methods", "aggregation"}) {
    if (const json* v = c.Member(results, "", key, false)) c.Object(*v, key);
  }
  if (const json* methods = c.Member(results, "", "methods", false)) {
    for (const auto& [name, info] : methods->items()) c.Object(info, "methods." + name);
  }
  ValidateCells(c, *c.Member(results, "", "cells", true));
  ValidateAggregates(c, *c.Member(results, "", "aggregates", true));
  if (const json* v = c.Member(results, "", "voe", false)) ValidateVoe(c, *v);
  if (const json* v = c.Member(results, "", "ocp", false)) ValidateOcp(c, *v);
  if (const json* v = c.Member(results, "", "probes", false)) ValidateProbes(c, *v);
  if (const json* v = c.Member(results, "", "planning", false)) ValidatePlanning(c, *v);
  if (const json* v = c.Member(results, "", "videos", false)) ValidateVideos(c, *v);
}

nlohmann::json LoadResults(const std::string& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    throw sim::BadInput(path + ": no such results file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw sim::BadInput(path + ": cannot open the results file");
  json results;
  try {
    results = json::parse(in);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw sim::BadInput(path + ": not valid JSON: " + e.what());
  }
  ValidateResults(results, path);
  return results;
}

}  // namespace darkmatter::eval
