// The suite on a scheduler: the shard an array task runs (`--shard auto`), and the cells
// already finished anywhere in an output tree (so that no cell is run twice). Torch-free.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>

namespace darkmatter::eval {

// The shard of this process from `spec`: "I/N" as ParseShard; "auto" takes I and N from
// Slurm's SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, else from the generic RANK /
// WORLD_SIZE; "auto/N" takes I from the same variables and N as given (for a task
// resubmitted alone, whose array has one task). Throws sim::BadInput naming the variables
// that are missing or malformed (outside an array job, for example).
std::pair<int, int> ResolveShard(const std::string& spec);

// Cell files (key -> DIR/cells/<key>.json) of every suite folder under `tree` (the folder
// itself and its descendants, a few levels deep) whose suite.json has `config_hash`.
// Empty when `tree` does not exist.
std::map<std::string, std::filesystem::path> FinishedCellsUnder(const std::filesystem::path& tree,
                                                                const std::string& config_hash);

}  // namespace darkmatter::eval
