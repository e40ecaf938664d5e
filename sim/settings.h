// Settings binding: plain settings structs keep their defaults; a binder names their fields
// so that YAML presets and key=value overrides fill them. Unknown keys and bad values are
// BadInput naming the source (file or command line), the key and the value.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/env.h"

namespace darkmatter::sim {

class SettingsBinder {
 public:
  // Binds `key` (dotted, e.g. "env.frame_skip") to a field; `help` is one line with units.
  void Bind(const std::string& key, int* field, const std::string& help);
  void Bind(const std::string& key, double* field, const std::string& help);
  void Bind(const std::string& key, bool* field, const std::string& help);
  void Bind(const std::string& key, uint64_t* field, const std::string& help);
  void Bind(const std::string& key, std::string* field, const std::string& help);

  // Sets one field from text; `source` names where the value came from.
  void Set(const std::string& key, const std::string& value, const std::string& source);
  // Applies "key=value" overrides in order.
  void ApplyOverrides(const std::vector<std::string>& overrides);
  // Applies a YAML preset: nested maps become dotted keys; scalars are values.
  void ApplyYamlFile(const std::string& path);
  // Every bound key with its current value as text, sorted by key.
  std::map<std::string, std::string> Values() const;
  // One line per key: "key = value  # help".
  std::string Describe() const;

 private:
  struct Field {
    std::function<void(const std::string&)> parse;  // throws std::invalid_argument
    std::function<std::string()> print;
    std::string help;
  };
  void Add(const std::string& key, Field field);
  std::map<std::string, Field> fields_;
};

// Upper bounds of count-like settings, for every module's settings check: beyond them a
// value is a typo, not a plan, and would exhaust memory or threads (docs/reliability.md).
inline constexpr int kMaxEnvs = 4096;        // parallel envs of one learner
inline constexpr int kMaxThreads = 1024;     // worker threads
inline constexpr int kMaxWidth = 65536;      // hidden units, latent size, channels, noise size
inline constexpr int kMaxBatch = 1 << 20;    // samples per gradient step
inline constexpr int kMaxSamples = 1 << 20;  // candidates, futures, replicates, demos, directions
inline constexpr int kMaxReplay = 10000000;  // transitions a replay buffer holds
inline constexpr int kMaxWindow = 4096;      // context frames, horizon steps, steps per rollout

// Throws BadInput "setting KEY=VALUE: must be in [MIN, MAX]" unless MIN <= value <= MAX.
void RequireInRange(const std::string& key, long long value, long long min, long long max);

// Binds EnvSettings under "env." (frame_skip, max_episode_steps, reset_noise_scale,
// observation, frame_width, frame_height, camera).
void BindEnvSettings(EnvSettings* settings, SettingsBinder* binder);

}  // namespace darkmatter::sim
