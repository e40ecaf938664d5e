#include "worldmodel/run_files.h"

#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "sim/error.h"
#include "sim/file_checks.h"

namespace darkmatter::worldmodel {

void WriteTextAtomically(const std::filesystem::path& out_path, const std::string& text) {
  namespace fs = std::filesystem;
  // Never renamed over a device or FIFO; a symlink's target is written, the link kept.
  const fs::path path = sim::ResolveOutputFile(out_path.string(), "output");
  // Host and process id keep concurrent writers (suite shards) off each other's temporary.
  const fs::path temp = sim::TemporaryPathFor(path.string());
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

nlohmann::json MetricsJson(int64_t step, const std::map<std::string, double>& metrics) {
  nlohmann::json line = {{"step", step}};
  for (const auto& [key, value] : metrics) {
    if (std::isfinite(value)) line[key] = value;
  }
  return line;
}

nlohmann::json ParseJsonInput(std::istream& in, const std::string& source) {
  const auto limit_depth = [&source](int depth, nlohmann::json::parse_event_t,
                                     nlohmann::json&) {
    if (depth > kMaxJsonDepth) {
      throw sim::BadInput(source + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                          " levels");
    }
    return true;
  };
  try {
    return nlohmann::json::parse(in, limit_depth);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
    throw sim::BadInput(source + ": not valid JSON: " + e.what());
  }
}

nlohmann::json ReadJsonFile(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) return nlohmann::json();  // a FIFO would block
  std::ifstream in(path);
  if (!in) return nlohmann::json();
  try {
    return ParseJsonInput(in, path.string());
  } catch (const sim::BadInput&) {
    return nlohmann::json();
  }
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
