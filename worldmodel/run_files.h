// The files of a training run directory shared by every trainer (world models, bc, ppo):
// metrics as JSON lines, JSON written atomically, and the clean-up a resumed run needs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace darkmatter::worldmodel {

// {"step": step, key: value, ...}; non-finite values (e.g. NaN when no episode ended) are
// left out.
nlohmann::json MetricsJson(int64_t step, const std::map<std::string, double>& metrics);

// Deepest nesting of arrays and objects accepted in JSON from outside: deeper input is refused
// (printing or walking 10^5 nested arrays overflows the stack).
inline constexpr int kMaxJsonDepth = 256;
// Parses JSON text from `in`; BadInput naming `source` when it is not valid JSON or nests
// deeper than kMaxJsonDepth.
nlohmann::json ParseJsonInput(std::istream& in, const std::string& source);
// Reads a JSON file; null when it is missing, not valid JSON or nested too deep.
nlohmann::json ReadJsonFile(const std::filesystem::path& path);
// Writes `text` to a temporary file beside `path` (".tmp-" + process id), then renames it;
// nothing is left behind on failure (BadInput when the folder cannot be written).
void WriteTextAtomically(const std::filesystem::path& path, const std::string& text);
// Writes `json` (indented) atomically, as WriteTextAtomically.
void WriteJsonAtomically(const std::filesystem::path& path, const nlohmann::json& json);

// Drops the metrics lines a killed run logged after its last checkpoint (step > `step`),
// rewriting the file atomically; nothing happens when it does not exist.
void TruncateMetrics(const std::filesystem::path& path, int64_t step);

}  // namespace darkmatter::worldmodel
