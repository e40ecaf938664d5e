#include "eval/report_format.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace darkmatter::eval {
namespace {

using nlohmann::json;


}  // namespace

// The colours methods get, best first.
const std::vector<std::string> kPalette = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                           "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                           "#9c755f", "#bab0ac"};

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

// printf-style text of one number.
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

// "all" -> "all tasks", other names unchanged.
std::string TaskLabel(const std::string& task) { return task == "all" ? "all tasks" : task; }


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

// The Vega-Lite spec every chart starts from (schema, fonts, view).
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

int WrapFacet(nlohmann::json* spec, const std::string& field, const nlohmann::json& sort,
              size_t panels, size_t max_per_row) {
  panels = std::max<size_t>(panels, 1);
  max_per_row = std::max<size_t>(max_per_row, 1);
  const size_t panel_rows = (panels + max_per_row - 1) / max_per_row;
  const size_t per_row = (panels + panel_rows - 1) / panel_rows;
  (*spec)["facet"] = {{"field", field}, {"type", "nominal"}, {"sort", sort}, {"title", nullptr}};
  (*spec)["columns"] = per_row;
  return FacetWidth(per_row);
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

// True when every value lies in [0, 1].
bool AllFractions(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [](double x) { return x >= 0 && x <= 1; });
}


// JSON for a <script type="application/json"> block: '<', '>' and '&' become \u escapes so
// that no string can close the script element or open a comment.
std::string ScriptJson(const nlohmann::json& value) {
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

}  // namespace darkmatter::eval
