#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "sim/error.h"
#include "sim/settings.h"
#include "sim/splits.h"

namespace sim = darkmatter::sim;

namespace {

std::string WritePreset(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("dm_settings_" + std::to_string(getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace

TEST_CASE("SettingsBinder: defaults, YAML preset, then key=value overrides", "[sim][settings]") {
  sim::EnvSettings settings;
  sim::SettingsBinder binder;
  sim::BindEnvSettings(&settings, &binder);
  CHECK(binder.Values().at("env.observation") == "state");  // defaults untouched
  const std::string preset =
      WritePreset("a.yaml", "env:\n  frame_skip: 3\n  observation: state+pixels\n  camera: top\n");
  binder.ApplyYamlFile(preset);
  binder.ApplyOverrides({"env.frame_skip=7", "env.reset_noise_scale=0.25"});
  std::filesystem::remove(preset);
  CHECK(settings.frame_skip == 7);  // the override wins over the preset
  CHECK(settings.observation == "state+pixels");
  CHECK(settings.camera == "top");
  CHECK(settings.reset_noise_scale == 0.25);
  CHECK(settings.max_episode_steps == 0);
  CHECK(binder.Values().at("env.frame_skip") == "7");
}

TEST_CASE("SettingsBinder: unknown keys and bad values name the source, key and value",
          "[sim][settings][errors]") {
  sim::EnvSettings settings;
  sim::SettingsBinder binder;
  sim::BindEnvSettings(&settings, &binder);
  CHECK_THROWS_WITH(binder.ApplyOverrides({"env.frame_skp=3"}),
                    Catch::Contains("command line") && Catch::Contains("'env.frame_skp'") &&
                        Catch::Contains("env.frame_skip"));
  CHECK_THROWS_WITH(binder.ApplyOverrides({"env.frame_skip=3.5"}),
                    Catch::Contains("'3.5'") && Catch::Contains("integer"));
  CHECK_THROWS_WITH(binder.ApplyOverrides({"env.reset_noise_scale=nan"}),
                    Catch::Contains("'nan'"));
  CHECK_THROWS_WITH(binder.ApplyOverrides({"frame_skip"}), Catch::Contains("key=value"));
  const std::string bad_key = WritePreset("b.yaml", "env:\n  bogus: 1\n");
  CHECK_THROWS_WITH(binder.ApplyYamlFile(bad_key),
                    Catch::Contains(bad_key) && Catch::Contains("'env.bogus'"));
  const std::string bad_yaml = WritePreset("c.yaml", "env: [1, 2\n");
  CHECK_THROWS_WITH(binder.ApplyYamlFile(bad_yaml),
                    Catch::Contains(bad_yaml) && Catch::Contains("YAML"));
  const std::string list = WritePreset("d.yaml", "env:\n  frame_skip: [1, 2]\n");
  CHECK_THROWS_WITH(binder.ApplyYamlFile(list), Catch::Contains("env.frame_skip"));
  // Found by fuzz_settings: a complex key made yaml-cpp throw its own bad-conversion error.
  const std::string map_key = WritePreset("e.yaml", "env:\n  frame_skip: 3\n? flag: true\n");
  CHECK_THROWS_AS(binder.ApplyYamlFile(map_key), sim::BadInput);
  CHECK_THROWS_WITH(binder.ApplyYamlFile(map_key),
                    Catch::Contains(map_key) && Catch::Contains("not a plain name"));
  CHECK_THROWS_WITH(binder.ApplyYamlFile("/nonexistent/preset.yaml"),
                    Catch::Contains("/nonexistent/preset.yaml"));
  for (const auto& path : {bad_key, bad_yaml, list, map_key}) std::filesystem::remove(path);
  CHECK(settings.frame_skip == 0);  // nothing was applied by the failed calls
}

TEST_CASE("Split seed blocks are disjoint, ordered and parsed by name", "[sim][splits]") {
  using sim::Split;
  CHECK(sim::SplitSeedBase(Split::kTrain) == 0);
  CHECK(sim::SplitSeedBase(Split::kReadout) == sim::kSplitSeedBlock);
  CHECK(sim::SplitSeedBase(Split::kTest) == 2 * sim::kSplitSeedBlock);
  CHECK(sim::SplitSeedBase(Split::kOod) == 3 * sim::kSplitSeedBlock);
  for (const auto name : sim::kSplitNames) {
    const Split s = sim::ParseSplit(std::string(name), "--split");
    CHECK(sim::kSplitNames[static_cast<size_t>(s)] == name);
  }
  CHECK_THROWS_WITH(sim::ParseSplit("valid", "--split"),
                    Catch::Contains("--split 'valid'") && Catch::Contains("train, readout"));
}
