// Fuzz target: a checkpoint.pt handed to `eval voe --model` (LoadWorldModel) and to
// `rollout --policy RUN` (LoadPolicyAgent for a manipulation/reach env), metadata first.
// Bad checkpoints must be sim::BadInput; anything else (crash, other exception, UB) is a bug.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "agents/policy_agent.h"
#include "sim/error.h"
#include "tasks/registry.h"
#include "tests/fuzz/fuzz_util.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/world_model.h"

namespace sim = darkmatter::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<sim::Env> env = [] {
    torch::set_num_threads(1);
    return darkmatter::tasks::MakeEnv("manipulation/reach");
  }();
  const std::string path = darkmatter::fuzz::WriteScratchFile("checkpoint.pt", data, size);
  try {
    (void)darkmatter::worldmodel::ReadCheckpointMetadata(path);
  } catch (const sim::BadInput&) {
  }
  try {
    (void)darkmatter::worldmodel::LoadWorldModel(path, torch::kCPU);
  } catch (const sim::BadInput&) {
  }
  try {
    auto agent = darkmatter::agents::LoadPolicyAgent(path, *env);
    const auto result = env->Reset(0);
    std::vector<double> action(env->ActionSpec().Size());
    agent->Reset(0, 0);
    agent->Act(result.observation, action);
  } catch (const sim::BadInput&) {
  }
  return 0;
}
