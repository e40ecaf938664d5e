#include "worldmodel/device.h"

#include <torch/cuda.h>

#include "sim/error.h"

namespace darkmatter::worldmodel {

torch::Device ResolveDevice(const std::string& name) {
  const bool cuda = torch::cuda::is_available();
  if (name == "auto") return cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!cuda) {
      throw sim::BadInput("device '" + name +
                          "' requested but this LibTorch build has no CUDA or no GPU is visible"
                          " (use --device cpu or auto)");
    }
    try {
      return torch::Device(name);
    } catch (const c10::Error&) {
      throw sim::BadInput("device '" + name + "' is not a valid CUDA device name");
    }
  }
  throw sim::BadInput("unknown device '" + name + "' (expected auto, cpu or cuda)");
}

}  // namespace darkmatter::worldmodel
