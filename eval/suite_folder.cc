#include "eval/suite_folder.h"

#include <string>
#include <system_error>
#include <utility>

#include "sim/error.h"
#include "sim/file_checks.h"
#include "worldmodel/run_files.h"

namespace darkmatter::eval {

namespace fs = std::filesystem;
using nlohmann::json;
using worldmodel::ReadJsonFile;
using worldmodel::WriteJsonAtomically;

namespace {

// Refuses a finished cell's file whose fields the suite reads have the wrong shape.
void CheckCellBody(const json& body, const fs::path& path) {
  const json& c = body["cell"];
  std::string problem;
  if (!c.is_object()) {
    problem = "'cell' is not an object";
  } else if (!c.value("task", json()).is_string() || !c.value("method", json()).is_string() ||
             !c.value("seed", json()).is_number_integer()) {
    problem = "'cell' needs task and method (text) and seed (an integer)";
  } else if (!c.value("budget", json()).is_object() ||
             !c["budget"].value("kind", json()).is_string() ||
             !c["budget"].value("value", json()).is_number()) {
    problem = "'cell.budget' needs kind (text) and value (a number)";
  } else if (!c.value("metrics", json()).is_object()) {
    problem = "'cell.metrics' is not an object";
  } else {
    for (const auto& [name, value] : c["metrics"].items()) {
      if (!value.is_number()) problem = "metric '" + name + "' is not a number";
    }
  }
  if (problem.empty() && body.contains("notes")) {
    if (!body["notes"].is_array()) problem = "'notes' is not a list";
    for (const json& n : body["notes"]) {
      if (!n.is_string()) problem = "'notes' holds a non-text entry";
    }
  }
  if (problem.empty() && body.contains("sections") && !body["sections"].is_object()) {
    problem = "'sections' is not an object";
  }
  if (!problem.empty()) {
    throw sim::BadInput("'" + path.string() + "': damaged cell file (" + problem +
                        "); delete it to run the cell again");
  }
}

// Puts `to` in place as a hard link to `from` (no second copy on disk), or as a copy where
// links are impossible (another file system); atomically either way.
void LinkOrCopy(const fs::path& from, const fs::path& to) {
  const fs::path temp = sim::TemporaryPathFor(to.string());
  std::error_code error;
  fs::remove(temp, error);
  fs::create_hard_link(from, temp, error);
  if (error) fs::copy_file(from, temp, fs::copy_options::overwrite_existing);
  fs::rename(temp, to);
}

}  // namespace

fs::path CellPath(const fs::path& dir, const std::string& key) {
  return dir / "cells" / (key + ".json");
}

// A physics cell's jepa checkpoint (for the real-vs-imagined videos).
fs::path ModelPath(const fs::path& dir, const std::string& key) {
  return dir / "models" / (key + ".pt");
}

// Writes the suite folder's identity (suite.json); refuses a folder of another config.
void ClaimFolder(const fs::path& dir, const ResolvedSuite& suite) {
  fs::create_directories(dir / "cells");
  fs::create_directories(dir / "episodes");
  fs::create_directories(dir / "models");
  const fs::path path = dir / "suite.json";
  const json existing = ReadJsonFile(path);
  if (existing.is_object()) {
    const std::string hash = existing.value("config_hash", std::string());
    if (hash != suite.config_hash) {
      throw sim::BadInput("'" + dir.string() + "' holds a suite of config hash " + hash +
                          ", not " + suite.config_hash + " (use another --out)");
    }
    return;
  }
  WriteJsonAtomically(path, {{"format", "darkmatter-suite"},
                             {"config", suite.config},
                             {"config_hash", suite.config_hash}});
}

// A finished cell's file at `path`, or null when missing or not for this config.
json LoadCellFile(const fs::path& path, const SuiteCell& cell) {
  json body = ReadJsonFile(path);
  if (!body.is_object() || body.value("key", std::string()) != cell.key ||
      !body.contains("cell")) {
    return json();
  }
  CheckCellBody(body, path);
  return body;
}

// The finished cell of suite folder `dir`, or null.
json LoadCell(const fs::path& dir, const SuiteCell& cell) {
  return LoadCellFile(CellPath(dir, cell.key), cell);
}

// Makes the finished cell `body` of suite folder `from` a finished cell of `to`: its
// episodes and (physics) model first, then the cell file.
void AdoptCell(const fs::path& from, const fs::path& to, const SuiteCell& cell, const json& body) {
  for (const auto& [source, target] :
       {std::pair{from / "episodes" / (cell.key + ".h5"), to / "episodes" / (cell.key + ".h5")},
        std::pair{ModelPath(from, cell.key), ModelPath(to, cell.key)}}) {
    if (fs::exists(source)) LinkOrCopy(source, target);
  }
  WriteJsonAtomically(CellPath(to, cell.key), body);
}

}  // namespace darkmatter::eval
