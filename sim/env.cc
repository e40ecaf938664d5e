#include "sim/env.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <stdexcept>

#include "sim/error.h"

namespace darkmatter::sim {

int64_t BoxSpec::Size() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::string BoxSpec::ShapeString() const {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) text += ",";
  }
  return text + ")";
}

void ValidateAction(const BoxSpec& spec, std::span<const double> action) {
  if (static_cast<int64_t>(action.size()) != spec.Size()) {
    throw BadInput("action has " + std::to_string(action.size()) + " elements, expected " +
                   std::to_string(spec.Size()) + " (action shape " + spec.ShapeString() + ")");
  }
  for (size_t i = 0; i < action.size(); ++i) {
    if (!std::isfinite(action[i])) {
      throw BadInput("action element " + std::to_string(i) + " is " +
                     (std::isnan(action[i]) ? "NaN" : "infinite") +
                     "; actions must be finite");
    }
  }
}

void ClipAction(const BoxSpec& spec, std::span<const double> action, std::span<double> out) {
  for (size_t i = 0; i < action.size(); ++i) {
    out[i] = std::clamp(action[i], spec.low[i], spec.high[i]);
  }
}

const std::vector<TruthField>& Env::TruthFields() const {
  static const std::vector<TruthField> none;
  return none;
}

void Env::ExpertAction(std::span<double> action) {
  throw std::logic_error(Name() + " has no scripted expert");
}

bool WantsPixels(const EnvSettings& settings) {
  const std::string& mode = settings.observation;
  if (mode != "state" && mode != "pixels" && mode != "state+pixels") {
    throw BadInput("unknown observation mode '" + mode +
                   "' (expected state, pixels or state+pixels)");
  }
  return mode != "state";
}

bool WantsState(const EnvSettings& settings) {
  return !WantsPixels(settings) || settings.observation == "state+pixels";
}

namespace {

void CheckRange(const std::string& env_name, const char* key, int value, int lo, int hi) {
  if (value < lo || value > hi) {
    throw BadInput(env_name + ": " + key + "=" + std::to_string(value) + " must be in [" +
                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

}  // namespace

void ValidateEnvSettings(const std::string& env_name, const EnvSettings& settings) {
  CheckRange(env_name, "env.frame_skip", settings.frame_skip, 0, kMaxFrameSkip);
  CheckRange(env_name, "env.max_episode_steps", settings.max_episode_steps, 0, kMaxEpisodeSteps);
  if (WantsPixels(settings)) {
    CheckRange(env_name, "env.frame_width", settings.frame_width, 1, kMaxFrameSide);
    CheckRange(env_name, "env.frame_height", settings.frame_height, 1, kMaxFrameSide);
  }
}

void ValidateViolation(const std::string& env_name, const std::string& violation,
                       const std::vector<std::string>& principles, int world) {
  if (world != 0 && world != 1) {
    throw BadInput(env_name + ": env.world " + std::to_string(world) +
                   " must be 0 or 1 (the two possible worlds of a twin set)");
  }
  if (violation == "none") {
    if (world == 1) {
      throw BadInput(env_name + ": env.world=1 needs env.violation set to a principle (" +
                     "world 1 is the second possible world of that principle's twin set)");
    }
    return;
  }
  if (std::find(principles.begin(), principles.end(), violation) != principles.end()) return;
  std::string known;
  for (const std::string& p : principles) known += (known.empty() ? "" : ", ") + p;
  throw BadInput(env_name + " cannot break " + violation + ": env.violation '" + violation +
                 "' is not one of its twins (" +
                 (known.empty() ? "it has no impossible twins" : "its twins break: " + known) +
                 ")");
}

int FindInfoKey(const std::vector<std::string>& keys, const std::string& key) {
  auto it = std::find(keys.begin(), keys.end(), key);
  return it == keys.end() ? -1 : static_cast<int>(it - keys.begin());
}

}  // namespace darkmatter::sim
