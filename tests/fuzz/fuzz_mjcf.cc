// Fuzz target: an MJCF file handed to the env constructor (`--task mjcf:FILE`), then reset
// and stepped. Bad models must be sim::BadInput; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/error.h"
#include "sim/mujoco_env.h"
#include "tests/fuzz/fuzz_util.h"

namespace sim = darkmatter::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = darkmatter::fuzz::WriteScratchFile("model.xml", data, size);
  try {
    std::unique_ptr<sim::Env> env = sim::MakeMjcfEnv(path);
    env->Reset(0);
    const sim::BoxSpec& spec = env->ActionSpec();
    std::vector<double> action(spec.low.size());
    for (size_t i = 0; i < action.size(); ++i) action[i] = 0.5 * (spec.low[i] + spec.high[i]);
    for (int t = 0; t < 3; ++t) {
      const sim::StepResult step = env->Step(action);
      if (step.terminated || step.truncated) break;  // the episode is over
    }
  } catch (const sim::BadInput&) {
    // refused with a message: the promised outcome for a bad model
  }
  return 0;
}
