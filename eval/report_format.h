// Formatting and Vega-Lite building blocks shared by the report's sections (internal to
// eval/).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace darkmatter::eval {

// The colours methods get, best first.
extern const std::vector<std::string> kPalette;
// JSON for a <script type="application/json"> block: '<', '>' and '&' become \u escapes so
// that no string can close the script element or open a comment.
std::string ScriptJson(const nlohmann::json& value);
// Percent-encodes a relative path for a URL (keeps '/' and unreserved characters).
std::string UrlPath(const std::string& path);
// printf-style text of one number.
std::string Format(const char* format, double value);
// A metric value: 2 decimals for fractions, 3 significant digits otherwise.
std::string Value(double x, bool fraction);
// 100000 -> "100k", 2500000 -> "2.5M".
std::string Amount(double x);
// "all" -> "all tasks", other names unchanged.
std::string TaskLabel(const std::string& task);
// A Vega-Lite color encoding with a fixed name -> color mapping (domain order = palette).
nlohmann::json ColorEncoding(const std::string& field, const std::vector<std::string>& domain,
                             const std::string& title);
// The Vega-Lite spec every chart starts from (schema, fonts, view).
nlohmann::json BaseSpec();
// Columns of facet charts: width of each so that `columns` fit in about 900 px.
int FacetWidth(size_t columns);
// Makes `spec` a wrapped facet chart over `field` (panels in `sort` order, `panels` of them),
// at most `max_per_row` panels per row and rows balanced (6 panels, 4 per row: 3 + 3), so
// the page never scrolls sideways; returns the width of one panel.
int WrapFacet(nlohmann::json* spec, const std::string& field, const nlohmann::json& sort,
              size_t panels, size_t max_per_row);
// Names sorted by score, highest first (the best gets the first palette colour everywhere).
std::vector<std::string> Ranked(const std::map<std::string, double>& scores);
// True when every value lies in [0, 1].
bool AllFractions(const std::vector<double>& values);

}  // namespace darkmatter::eval
