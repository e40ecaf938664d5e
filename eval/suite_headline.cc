// The suite's headline table: per task and method, the IQM and interval of a metric at the
// largest budget (`darkmatter suite`'s last screen).
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "eval/suite.h"

namespace darkmatter::eval {

using nlohmann::json;

std::string HeadlineTable(const json& results, const std::string& metric) {
  // (task, method) -> the aggregate at the largest budget.
  std::map<std::pair<std::string, std::string>, const json*> best;
  std::vector<std::string> tasks, methods;
  static const json kNone = json::array();
  const json& aggregates = results.contains("aggregates") ? results["aggregates"] : kNone;
  for (const json& a : aggregates) {
    if (a["metric"] != metric) continue;
    const std::string task = a["task"], method = a["method"];
    const auto key = std::make_pair(task, method);
    if (!best.count(key) || (*best[key])["budget"]["value"].get<double>() <
                                a["budget"]["value"].get<double>()) {
      best[key] = &a;
    }
    if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) tasks.push_back(task);
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) methods.push_back(method);
  }
  if (best.empty()) return "(no " + metric + " results)\n";
  std::string text;
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%-13s", "method");
  text += buffer;
  for (const std::string& task : tasks) {
    std::snprintf(buffer, sizeof(buffer), " %-22s", task.c_str());
    text += buffer;
  }
  text += "\n";
  for (const std::string& method : methods) {
    std::snprintf(buffer, sizeof(buffer), "%-13s", method.c_str());
    text += buffer;
    for (const std::string& task : tasks) {
      const auto it = best.find({task, method});
      if (it == best.end()) {
        std::snprintf(buffer, sizeof(buffer), " %-22s", "-");
      } else {
        const json& a = *it->second;
        std::snprintf(buffer, sizeof(buffer), " %.2f [%.2f, %.2f]      ", a["iqm"].get<double>(),
                      a["ci_low"].get<double>(), a["ci_high"].get<double>());
        buffer[23] = '\0';
      }
      text += buffer;
    }
    text += "\n";
  }
  return text;
}

}  // namespace darkmatter::eval
