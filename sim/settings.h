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

// Binds EnvSettings under "env." (frame_skip, max_episode_steps, reset_noise_scale,
// observation, frame_width, frame_height, camera).
void BindEnvSettings(EnvSettings* settings, SettingsBinder* binder);

}  // namespace darkmatter::sim
