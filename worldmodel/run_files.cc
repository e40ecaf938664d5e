#include "worldmodel/run_files.h"

#include <cmath>
#include <fstream>
#include <stdexcept>

namespace darkmatter::worldmodel {
namespace {

void WriteTextAtomically(const std::filesystem::path& path, const std::string& text) {
  const auto temp = path.string() + ".tmp";
  {
    std::ofstream out(temp);
    out << text;
    if (!out) throw std::runtime_error("cannot write '" + temp + "'");
  }
  std::filesystem::rename(temp, path);
}

}  // namespace

nlohmann::json MetricsJson(int64_t step, const std::map<std::string, double>& metrics) {
  nlohmann::json line = {{"step", step}};
  for (const auto& [key, value] : metrics) {
    if (std::isfinite(value)) line[key] = value;
  }
  return line;
}

void WriteJsonAtomically(const std::filesystem::path& path, const nlohmann::json& json) {
  WriteTextAtomically(path, json.dump(2) + "\n");
}

void TruncateMetrics(const std::filesystem::path& path, int64_t step) {
  if (!std::filesystem::is_regular_file(path)) return;
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded() || json.value("step", int64_t{0}) > step) continue;
    kept += line + "\n";
  }
  WriteTextAtomically(path, kept);
}

}  // namespace darkmatter::worldmodel
