// Fuzz target: a results.json handed to `darkmatter report` (LoadResults validates it, then
// report.html and the CSV files are written). Bad files must be sim::BadInput; anything else
// (crash, other exception, stack overflow, UB) is a bug.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "eval/report.h"
#include "sim/error.h"
#include "tests/fuzz/fuzz_util.h"

namespace eval = darkmatter::eval;
namespace fs = std::filesystem;

namespace {

// The plotting libraries the report inlines, as small files: their text is copied verbatim,
// so their size only slows the target down (the real ones are ~1 MB).
const std::string& ScriptDir() {
  static const std::string dir = [] {
    const fs::path root = fs::path(darkmatter::fuzz::ScratchDir()) / "js";
    for (const char* name : {"vega", "vega-lite", "vega-embed"}) {
      fs::create_directories(root / name / "build");
      std::ofstream(root / name / "build" / (std::string(name) + ".min.js")) << "/* " << name << " */\n";
    }
    return root.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = darkmatter::fuzz::WriteScratchFile("results.json", data, size);
  try {
    const nlohmann::json results = eval::LoadResults(path);
    eval::ReportOptions options;
    options.source = path;
    options.js_dir = ScriptDir();
    eval::WriteReport(results, darkmatter::fuzz::ScratchDir() + "/report.html", options);
    eval::WriteCsv(results, darkmatter::fuzz::ScratchDir() + "/csv", options);
  } catch (const darkmatter::sim::BadInput&) {
    // refused with a message naming the file and key: the promised outcome
  }
  return 0;
}
