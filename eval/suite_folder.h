// A suite's output folder: suite.json (its identity), cells/KEY.json (finished cells), their
// episodes/ and models/, and how finished cells are read back and adopted from other folders.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "eval/suite.h"

namespace darkmatter::eval {

// DIR/cells/KEY.json: the finished cell's file.
std::filesystem::path CellPath(const std::filesystem::path& dir, const std::string& key);

// DIR/models/KEY.pt: a physics cell's jepa checkpoint (for the real-vs-imagined videos).
std::filesystem::path ModelPath(const std::filesystem::path& dir, const std::string& key);

// Writes the suite folder's identity (suite.json); refuses a folder of another config.
void ClaimFolder(const std::filesystem::path& dir, const ResolvedSuite& suite);

// A finished cell's file at `path`, or null when missing or not for this config; a file of
// this cell whose fields have the wrong shape is sim::BadInput naming it.
nlohmann::json LoadCellFile(const std::filesystem::path& path, const SuiteCell& cell);

// The finished cell of suite folder `dir`, or null.
nlohmann::json LoadCell(const std::filesystem::path& dir, const SuiteCell& cell);

// Makes the finished cell `body` of suite folder `from` a finished cell of `to`: its
// episodes and (physics) model first, as hard links where possible, then the cell file.
void AdoptCell(const std::filesystem::path& from, const std::filesystem::path& to,
               const SuiteCell& cell, const nlohmann::json& body);

}  // namespace darkmatter::eval
