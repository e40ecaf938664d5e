// Checkpoints of a module and its optimiser together: written atomically (temp + rename),
// with a checksum over every byte they hold (format 2); loaded strictly: damaged files,
// NaN/inf values and missing, extra or mis-shaped tensors are refused by name.
#pragma once

#include <cstdint>
#include <string>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace darkmatter::worldmodel {

// Writes every parameter and buffer of `module`, the optimiser state, `step` and their
// checksum to a temporary file, then renames it to `path` (a failed write leaves `path` as it
// was). `metadata` (e.g. the model's options as JSON)
// travels with it.
void SaveCheckpoint(const std::string& path, const torch::nn::Module& module,
                    const torch::optim::Optimizer& optimizer, int64_t step,
                    const std::string& metadata = "");

// The metadata string saved with a checkpoint ("" when none); BadInput when unreadable or
// damaged.
std::string ReadCheckpointMetadata(const std::string& path);

// Loads a checkpoint into `module` (and `optimizer` when not null); returns its step.
// Throws BadInput naming the file when it is damaged or holds NaN/inf, and every missing,
// unexpected or mis-shaped tensor; nothing is changed then.
int64_t LoadCheckpoint(const std::string& path, torch::nn::Module& module,
                       torch::optim::Optimizer* optimizer);

// 16 hex digits over the names, shapes and values of every parameter and buffer.
std::string ParameterHash(const torch::nn::Module& module);

}  // namespace darkmatter::worldmodel
