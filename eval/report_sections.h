// The body of report.html (internal to eval/): every section and Vega-Lite chart spec,
// built from results that ValidateResults has accepted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace darkmatter::eval {

// One chart: the suffix of its container's DOM id and its Vega-Lite spec.
struct ReportChart {
  std::string id;
  nlohmann::json spec;
};

// The page body (headline, sample efficiency, VoE, OCP, probes, planning, videos) and the
// charts it refers to.
struct ReportBody {
  std::string html;
  std::vector<ReportChart> charts;
};

// Builds the body; video links are relative to `html_dir`, video files looked up in
// `suite_dir`.
ReportBody BuildReportBody(const nlohmann::json& results, const std::filesystem::path& html_dir,
                           const std::filesystem::path& suite_dir);

}  // namespace darkmatter::eval
