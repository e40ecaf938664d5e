#include "eval/suite_cluster.h"

#include <cstdlib>
#include <optional>
#include <set>

#include "eval/suite.h"
#include "sim/error.h"
#include "worldmodel/run_files.h"

namespace darkmatter::eval {
namespace {

namespace fs = std::filesystem;

// The value of environment variable `name`, or nullopt when unset or empty.
std::optional<std::string> Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// A non-negative integer from variable `name`; BadInput naming it otherwise.
int EnvInt(const char* name, const std::string& value) {
  size_t used = 0;
  int number = -1;
  try {
    number = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || number < 0) {
    throw sim::BadInput("--shard auto: " + std::string(name) + "='" + value +
                        "' is not a non-negative integer");
  }
  return number;
}

// (index, count-or-nullopt) from the first scheduler whose index variable is set.
std::pair<int, std::optional<int>> ShardVariables(bool need_count) {
  struct Pair {
    const char* index;
    const char* count;
  };
  for (const Pair& p : {Pair{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"},
                        Pair{"RANK", "WORLD_SIZE"}}) {
    const auto index = Env(p.index);
    const auto count = Env(p.count);
    if (!index && !count) continue;
    if (!index) throw sim::BadInput("--shard auto: " + std::string(p.count) + " is set but " + p.index + " is not");
    if (need_count && !count) {
      throw sim::BadInput("--shard auto: " + std::string(p.index) + " is set but " + p.count +
                          " is not (give the count: --shard auto/N)");
    }
    std::optional<int> n;
    if (count) n = EnvInt(p.count, *count);
    return {EnvInt(p.index, *index), n};
  }
  throw sim::BadInput(
      "--shard auto: not in an array job: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are "
      "not set, nor RANK and WORLD_SIZE (run under `sbatch --array`, or give --shard I/N)");
}

}  // namespace

std::pair<int, int> ResolveShard(const std::string& spec) {
  if (spec != "auto" && spec.rfind("auto/", 0) != 0) return ParseShard(spec);
  const bool fixed_count = spec != "auto";
  int count = 0;
  if (fixed_count) {
    const std::string text = spec.substr(5);
    size_t used = 0;
    try {
      count = std::stoi(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || count < 1) {
      throw sim::BadInput("--shard '" + spec + "': expected auto or auto/N with N >= 1");
    }
  }
  const auto [index, env_count] = ShardVariables(!fixed_count);
  if (!fixed_count) count = *env_count;
  if (count < 1 || index >= count) {
    throw sim::BadInput("--shard " + spec + ": task index " + std::to_string(index) +
                        " is not below the task count " + std::to_string(count) +
                        (fixed_count ? "" : " (a task resubmitted alone: use --shard auto/N)"));
  }
  return {index, count};
}

std::map<std::string, fs::path> FinishedCellsUnder(const fs::path& tree,
                                                   const std::string& config_hash) {
  std::map<std::string, fs::path> cells;
  std::error_code error;
  if (!fs::is_directory(tree, error)) return cells;
  // The suite folders: the tree itself and folders below it (shards/<i>, ...), not the
  // contents of a suite folder (cells, episodes, models, videos, work).
  static const std::set<std::string> kInside = {"cells", "episodes", "models", "videos", "work"};
  std::vector<fs::path> folders = {tree};
  for (auto it = fs::recursive_directory_iterator(tree, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_directory(error)) continue;
    if (kInside.count(it->path().filename().string()) > 0 || it.depth() >= 3) {
      it.disable_recursion_pending();
      if (kInside.count(it->path().filename().string()) > 0) continue;
    }
    folders.push_back(it->path());
  }
  for (const fs::path& folder : folders) {
    const nlohmann::json identity = worldmodel::ReadJsonFile(folder / "suite.json");
    if (!identity.is_object() || identity.value("config_hash", std::string()) != config_hash) {
      continue;
    }
    for (auto it = fs::directory_iterator(folder / "cells", error);
         !error && it != fs::directory_iterator(); it.increment(error)) {
      const fs::path path = it->path();
      if (path.extension() != ".json") continue;
      cells.emplace(path.stem().string(), path);
    }
  }
  return cells;
}

}  // namespace darkmatter::eval
