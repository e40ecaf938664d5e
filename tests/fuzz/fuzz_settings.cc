// Fuzz target: a YAML preset (`--config FILE`) and key=value overrides, applied to the env
// settings and one field of each bindable type, the way `rollout` and `train` resolve them.
// Input: the YAML text, then "\n--\n", then one override per line.
// Bad presets and values must be sim::BadInput; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "sim/env.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "tests/fuzz/fuzz_util.h"

namespace sim = darkmatter::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = darkmatter::fuzz::SplitInput(data, size, "\n--\n", 2);
  const std::string path = darkmatter::fuzz::WriteScratchFile(
      "preset.yaml", reinterpret_cast<const uint8_t*>(parts[0].data()), parts[0].size());
  std::vector<std::string> overrides;
  if (parts.size() > 1) {
    std::istringstream lines(parts[1]);
    for (std::string line; std::getline(lines, line);) overrides.push_back(line);
  }
  sim::EnvSettings env;
  uint64_t seed = 0;
  bool flag = false;
  double real = 0;
  int count = 0;
  std::string text;
  sim::SettingsBinder binder;
  sim::BindEnvSettings(&env, &binder);
  binder.Bind("run.seed", &seed, "seed");
  binder.Bind("run.flag", &flag, "flag");
  binder.Bind("run.real", &real, "real");
  binder.Bind("run.count", &count, "count");
  binder.Bind("run.text", &text, "text");
  try {
    binder.ApplyYamlFile(path);
    binder.ApplyOverrides(overrides);
    (void)binder.Values();
    (void)binder.Describe();
    (void)sim::WantsPixels(env);
    (void)sim::WantsState(env);
  } catch (const sim::BadInput&) {
    // refused with a message naming the source and key: the promised outcome
  }
  return 0;
}
