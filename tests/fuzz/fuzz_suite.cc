// Fuzz target: a suite folder (suite.json and cells/KEY.json, as `suite` finds them when it
// resumes and `suite merge` when it combines shards) merged into a new folder, which reads
// every cell, rebuilds results.json and writes it, the CSV files and report.html.
// Input: suite.json's text, then per cell "\n--cell--\n", the file's KEY, "\n", its text.
// Bad folders must be sim::BadInput; anything else (crash, other exception, UB) is a bug.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "eval/suite.h"
#include "sim/error.h"
#include "tests/fuzz/fuzz_util.h"

namespace fs = std::filesystem;

namespace {

// A cell file name as the suite makes them (hex digits), or "" for anything else.
std::string CellName(const std::string& text) {
  if (text.empty() || text.size() > 16) return "";
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "";
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = [] {
    torch::set_num_threads(1);
    ::setenv("DARKMATTER_REPORT_JS_DIR", (darkmatter::fuzz::ScratchDir() + "/no-js").c_str(), 1);
    return true;
  }();
  (void)init;
  const fs::path dir = fs::path(darkmatter::fuzz::ScratchDir()) / "suite";
  const fs::path out = fs::path(darkmatter::fuzz::ScratchDir()) / "merged";
  fs::remove_all(dir);
  fs::remove_all(out);
  fs::create_directories(dir / "cells");
  const std::vector<std::string> parts = darkmatter::fuzz::SplitInput(data, size, "\n--cell--\n", 64);
  std::ofstream(dir / "suite.json", std::ios::binary) << parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t newline = parts[i].find('\n');
    const std::string name = CellName(parts[i].substr(0, newline));
    if (name.empty() || newline == std::string::npos) continue;
    std::ofstream(dir / "cells" / (name + ".json"), std::ios::binary) << parts[i].substr(newline + 1);
  }
  try {
    (void)darkmatter::eval::MergeSuites({dir.string()}, out.string());
  } catch (const darkmatter::sim::BadInput&) {
    // refused with a message naming the folder and file: the promised outcome
  }
  return 0;
}
