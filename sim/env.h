// The Env API (Gymnasium semantics): reset/step, specs, and exact state capture/restore.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sim/render_types.h"
#include "sim/rng.h"

namespace darkmatter::sim {

// A box space: `shape` with per-element bounds (±inf where unbounded).
struct BoxSpec {
  std::vector<int64_t> shape;    // dimensions, e.g. {17}
  std::vector<double> low;       // (prod(shape)) lower bounds
  std::vector<double> high;      // (prod(shape)) upper bounds
  std::string dtype = "float64"; // element type as stored and returned

  // Number of elements (product of shape).
  int64_t Size() const;
  // "(17,)" style description of the shape.
  std::string ShapeString() const;
};

// A named block of privileged per-step ground truth, e.g. {"positions", {4, 3}}.
struct TruthField {
  std::string name;            // dataset name under truth/ in episode files
  std::vector<int64_t> shape;  // per-step shape; {} for a scalar
};

// Settings common to every env; filled from defaults, presets and key=value overrides.
struct EnvSettings {
  int frame_skip = 0;             // physics steps per control step; 0 = the task's default
  int max_episode_steps = 0;      // control steps before `truncated`; 0 = the task's default
  double reset_noise_scale = -1;  // scale of the uniform reset noise; <0 = the task's default
  std::string observation = "state";  // "state", "pixels" or "state+pixels"
  int frame_width = 64;           // pixel observation width (pixels)
  int frame_height = 64;          // pixel observation height (pixels)
  std::string camera;             // scene camera for pixel observations; "" = free camera
  std::string violation = "none"; // twin sets: the principle whose matched set this env lays
                                  // out a possible world of; "none" = an ordinary clip
  int world = 0;                  // twin sets: world A (0) or B (1) of that set
  std::string split = "train";    // physics scenes: "train" ranges or "ood" (outside them)
  std::string sensors;  // task-specific extra observation channels, e.g. "lidar,bev"; "" = none
};

// True when the settings ask for pixels; throws BadInput on an unknown observation mode.
bool WantsPixels(const EnvSettings& settings);
// True when the settings ask for the state vector.
bool WantsState(const EnvSettings& settings);

// What reset and step return. Views point into the env's own buffers and stay valid
// until the next call on the same env.
struct StepResult {
  std::span<const double> observation;  // (obs_dim)
  double reward = 0.0;                  // 0 after reset
  bool terminated = false;              // the task reached a terminal state
  bool truncated = false;               // time limit reached or the simulation diverged
  std::span<const double> info;         // (InfoKeys().size()) values, 0/1 for flags
  std::span<const uint8_t> pixels;      // (H x W x 3) RGB when observing pixels, else empty
};

// Everything that determines the future of an env: same state + same actions give a
// bit-identical trajectory.
struct EnvState {
  std::vector<double> physics;  // (StateSize()) backend physics state, then task state
  RngState rng{};               // the env's random stream
  int64_t elapsed_steps = 0;    // control steps since reset
  bool needs_reset = true;      // true before the first reset and after an episode ended
};

// A single environment. Not thread-safe; one thread per env at a time.
class Env {
 public:
  virtual ~Env() = default;

  // Name of the task ("mjcf:<file>" for generic MJCF envs).
  virtual const std::string& Name() const = 0;
  // Backend name: "mujoco" or "bullet".
  virtual const char* Backend() const = 0;
  // Observation space of the state vector (shape {0} when observing pixels only).
  virtual const BoxSpec& ObservationSpec() const = 0;
  // Pixel observation space, uint8 (H, W, 3); shape {0} when not observing pixels.
  virtual const BoxSpec& PixelSpec() const = 0;
  // Action space; out-of-bounds actions are clipped.
  virtual const BoxSpec& ActionSpec() const = 0;
  // Names of the per-step info values; always includes "diverged".
  virtual const std::vector<std::string>& InfoKeys() const = 0;

  // Starts an episode. With a seed the env's RNG is re-seeded; without, it continues.
  virtual StepResult Reset(std::optional<uint64_t> seed) = 0;
  // Advances one control step. Throws BadInput on a wrong-sized or non-finite action and
  // std::logic_error when called before Reset or after the episode ended.
  virtual StepResult Step(std::span<const double> action) = 0;

  // Size of EnvState::physics.
  virtual int64_t StateSize() const = 0;
  // Copies the full state into *state (reusing its storage).
  virtual void GetState(EnvState* state) const = 0;
  // Restores a state captured by GetState on an env of the same task and settings.
  virtual void SetState(const EnvState& state) = 0;

  // Renders the current state from `camera` at width x height: RGB, and depth (metres) and
  // segmentation (body ids) when asked. Throws BadInput on an unknown camera or bad size.
  virtual void Render(const CameraSpec& camera, int width, int height, RenderOutput* out,
                      bool depth = false, bool segmentation = false) = 0;

  // Privileged ground-truth fields (none by default).
  virtual const std::vector<TruthField>& TruthFields() const;
  // Writes the current truth, fields concatenated in TruthFields() order.
  virtual void WriteTruth(std::span<double> out) const {}
  // Episode-level labels (e.g. violation frame, outcome) and tags (e.g. principle), valid
  // once the episode has ended.
  virtual void EpisodeLabels(std::map<std::string, double>* scalars,
                             std::map<std::string, std::string>* strings) const {}

  // Principles of intuitive physics the task makes matched twin sets for, as accepted by
  // EnvSettings::violation (none by default; tasks/twin_set.h).
  virtual std::vector<std::string> Principles() const { return {}; }
  // True when the task has a scripted expert (ExpertAction works).
  virtual bool HasExpert() const { return false; }
  // Writes the scripted expert's action for the current state (privileged information is
  // allowed); deterministic given the env state. Throws std::logic_error without an expert.
  virtual void ExpertAction(std::span<double> action);

  // Physics steps per control step.
  virtual int FrameSkip() const = 0;
  // Control steps before truncation.
  virtual int MaxEpisodeSteps() const = 0;

  // Convenience: GetState into a new object.
  EnvState GetState() const {
    EnvState state;
    GetState(&state);
    return state;
  }
};

// Throws BadInput unless `action` has spec.Size() elements, all finite.
void ValidateAction(const BoxSpec& spec, std::span<const double> action);
// Clips `action` into the spec's bounds, writing to `out` (same size).
void ClipAction(const BoxSpec& spec, std::span<const double> action, std::span<double> out);
// Throws BadInput unless `violation` is "none" or one of `principles` (the env's twin sets),
// and `world` is 0, or 1 with a principle.
// Bounds of the count-like env settings: beyond them a run would take days or all memory.
inline constexpr int kMaxFrameSkip = 10000;            // physics steps per control step
inline constexpr int kMaxEpisodeSteps = 10000000;      // control steps per episode
inline constexpr int kMaxFrameSide = 4096;             // pixels

// Throws BadInput naming the key, value and bounds when env.frame_skip, env.max_episode_steps
// or the frame size (when pixels are observed) is out of range; `env_name` leads the message.
void ValidateEnvSettings(const std::string& env_name, const EnvSettings& settings);

void ValidateViolation(const std::string& env_name, const std::string& violation,
                       const std::vector<std::string>& principles, int world = 0);
// Index of `key` in `keys`, or -1.
int FindInfoKey(const std::vector<std::string>& keys, const std::string& key);

}  // namespace darkmatter::sim
