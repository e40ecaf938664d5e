// Choosing the compute device in one place: --device auto|cpu|cuda.
#pragma once

#include <string>

#include <torch/types.h>

namespace darkmatter::worldmodel {

// Resolves "auto" (CUDA when available, else CPU), "cpu" or "cuda"/"cuda:N".
// Throws BadInput naming the value when it is unknown or CUDA is not available.
torch::Device ResolveDevice(const std::string& name);

}  // namespace darkmatter::worldmodel
