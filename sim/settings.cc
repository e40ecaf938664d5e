#include "sim/settings.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "sim/error.h"
#include "sim/utf8.h"

namespace darkmatter::sim {
namespace {

// Full-string numeric parses; anything left over is an error.
long long ParseInteger(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) throw std::invalid_argument("integer");
  return value;
}

double ParseReal(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value)) {
    throw std::invalid_argument("finite number");
  }
  return value;
}

std::string PrintReal(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

// Flattens a YAML map into dotted keys.
void Flatten(const YAML::Node& node, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>* out, const std::string& path) {
  if (node.IsMap()) {
    for (const auto& item : node) {
      // A key that is itself a map or list ("? {a: 1}: x") cannot name a setting.
      if (!item.first.IsScalar()) {
        throw BadInput(path + ": a key under '" + prefix + "' is not a plain name");
      }
      const std::string key = item.first.as<std::string>();
      Flatten(item.second, prefix.empty() ? key : prefix + "." + key, out, path);
    }
  } else if (node.IsScalar()) {
    out->emplace_back(prefix, node.as<std::string>());
  } else if (node.IsNull()) {
    throw BadInput(path + ": key '" + prefix + "' has no value");
  } else {
    throw BadInput(path + ": key '" + prefix + "' must be a single value, not a list");
  }
}

}  // namespace

void RequireInRange(const std::string& key, long long value, long long min, long long max) {
  if (value < min || value > max) {
    throw BadInput("setting " + key + "=" + std::to_string(value) + ": must be in [" +
                   std::to_string(min) + ", " + std::to_string(max) + "]");
  }
}

void SettingsBinder::Add(const std::string& key, Field field) {
  if (!fields_.emplace(key, std::move(field)).second) {
    throw std::logic_error("settings key bound twice: " + key);
  }
}

void SettingsBinder::Bind(const std::string& key, int* field, const std::string& help) {
  Add(key, {[field](const std::string& text) {
              const long long value = ParseInteger(text);
              if (value < INT32_MIN || value > INT32_MAX) throw std::invalid_argument("integer");
              *field = static_cast<int>(value);
            },
            [field] { return std::to_string(*field); }, help + " (integer)"});
}

void SettingsBinder::Bind(const std::string& key, double* field, const std::string& help) {
  Add(key, {[field](const std::string& text) { *field = ParseReal(text); },
            [field] { return PrintReal(*field); }, help + " (number)"});
}

void SettingsBinder::Bind(const std::string& key, bool* field, const std::string& help) {
  Add(key, {[field](const std::string& text) {
              if (text == "true" || text == "1") {
                *field = true;
              } else if (text == "false" || text == "0") {
                *field = false;
              } else {
                throw std::invalid_argument("true or false");
              }
            },
            [field] { return std::string(*field ? "true" : "false"); }, help + " (true/false)"});
}

void SettingsBinder::Bind(const std::string& key, uint64_t* field, const std::string& help) {
  Add(key, {[field](const std::string& text) {
              char* end = nullptr;
              errno = 0;
              const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
              if (text.empty() || text[0] == '-' || *end != '\0' || errno == ERANGE) {
                throw std::invalid_argument("non-negative integer");
              }
              *field = value;
            },
            [field] { return std::to_string(*field); }, help + " (non-negative integer)"});
}

void SettingsBinder::Bind(const std::string& key, std::string* field, const std::string& help) {
  Add(key, {[field](const std::string& text) {
              if (!IsValidUtf8(text)) throw std::invalid_argument("UTF-8 text");
              *field = text;
            },
            [field] { return *field; }, help + " (text)"});
}

void SettingsBinder::Set(const std::string& key, const std::string& value,
                         const std::string& source) {
  auto it = fields_.find(key);
  if (it == fields_.end()) {
    std::string known;
    for (const auto& [name, field] : fields_) known += (known.empty() ? "" : ", ") + name;
    throw BadInput(source + ": unknown key '" + key + "' (known keys: " + known + ")");
  }
  try {
    it->second.parse(value);
  } catch (const std::invalid_argument& e) {
    throw BadInput(source + ": bad value '" + value + "' for key '" + key + "' (expected " +
                   e.what() + ")");
  }
}

void SettingsBinder::ApplyOverrides(const std::vector<std::string>& overrides) {
  for (const std::string& item : overrides) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw BadInput("command line: '" + item + "' is not key=value");
    }
    Set(item.substr(0, eq), item.substr(eq + 1), "command line");
  }
}

void SettingsBinder::ApplyYamlFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw BadInput(path + ": no such config file");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw BadInput(path + ": not valid YAML: " + e.what());
  }
  // A preset that sets nothing is a mistake (the wrong or a truncated file), not a request.
  if (root.IsNull()) {
    throw BadInput(path + ": sets no settings (empty or only comments); leave out --config to "
                          "use the defaults");
  }
  if (!root.IsMap()) throw BadInput(path + ": a config file must be a map of keys to values");
  std::vector<std::pair<std::string, std::string>> items;
  Flatten(root, "", &items, path);
  if (items.empty()) throw BadInput(path + ": sets no settings (an empty map)");
  for (const auto& [key, value] : items) Set(key, value, path);
}

std::map<std::string, std::string> SettingsBinder::Values() const {
  std::map<std::string, std::string> values;
  for (const auto& [key, field] : fields_) values[key] = field.print();
  return values;
}

std::string SettingsBinder::Describe() const {
  std::string text;
  for (const auto& [key, field] : fields_) {
    text += key + " = " + field.print() + "  # " + field.help + "\n";
  }
  return text;
}

void BindEnvSettings(EnvSettings* settings, SettingsBinder* binder) {
  binder->Bind("env.frame_skip", &settings->frame_skip,
               "physics steps per control step; 0 = the task's default");
  binder->Bind("env.max_episode_steps", &settings->max_episode_steps,
               "control steps before truncation; 0 = the task's default");
  binder->Bind("env.reset_noise_scale", &settings->reset_noise_scale,
               "uniform reset noise on joint positions and velocities; <0 = task default");
  binder->Bind("env.observation", &settings->observation, "state, pixels or state+pixels");
  binder->Bind("env.frame_width", &settings->frame_width, "pixel observation width (pixels)");
  binder->Bind("env.frame_height", &settings->frame_height, "pixel observation height (pixels)");
  binder->Bind("env.camera", &settings->camera, "scene camera for pixels; empty = free camera");
  binder->Bind("env.violation", &settings->violation,
               "twin sets: none, or the principle whose matched set this env lays out a world of");
  binder->Bind("env.world", &settings->world, "twin sets: possible world A (0) or B (1)");
  binder->Bind("env.split", &settings->split, "physics scenes: train or ood parameter ranges");
  binder->Bind("env.sensors", &settings->sensors,
               "task-specific extra observation channels, comma-separated (driving: lidar,bev)");
}

}  // namespace darkmatter::sim
