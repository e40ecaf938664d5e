// EpisodePlayer: re-simulates a recorded episode. It rebuilds the env from the file's task
// name and config (frame_skip, max_episode_steps) and, for frame t, restores the stored
// state t, so every frame renders at any size and from any camera, not only stored frames.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/pane_layout.h"
#include "sim/env.h"
#include "sim/episode.h"
#include "sim/episode_file.h"
#include "sim/mujoco_env.h"

namespace darkmatter::apps {

class EpisodePlayer {
 public:
  // Rebuilds the env of the file at `path` (already opened as `reader`) and loads episode
  // `k`. Throws sim::BadInput when k is out of range or the stored states do not fit the
  // rebuilt env (the message names the file, episode and sizes).
  EpisodePlayer(std::string path, std::shared_ptr<const sim::EpisodeReader> reader, int64_t k);

  // Episodes in the file.
  int64_t NumEpisodes() const { return reader_->NumEpisodes(); }
  // Reads episode k into the player (same env) and seeks to frame 0; throws sim::BadInput
  // naming k and the file's range when it is out of range.
  void Load(int64_t k);
  // Index of the loaded episode.
  int64_t index() const { return index_; }
  const sim::Episode& episode() const { return episode_; }
  // Frames of the loaded episode: T + 1 (the reset state, then one per step).
  int64_t NumFrames() const { return episode_.Length() + 1; }

  // Restores the state of frame t, clamped into [0, NumFrames() - 1].
  void Seek(int64_t t);
  // The frame shown now.
  int64_t frame() const { return frame_; }
  // Renders the current frame (RGB only) from `camera` at width x height.
  void Render(const sim::CameraSpec& camera, int width, int height, sim::RenderOutput* out);

  // Simulation time of the current frame (seconds); NaN when the backend does not say.
  double Time() const;
  // Duration of one control step (seconds), for real-time playback.
  double StepSeconds() const;
  // Per-frame values (NumFrames()) of `key`: "reward" (of the step into each frame),
  // "return" (cumulative reward), an info key (e.g. "diverged"), "observation:I" or
  // "action:I" (the action into each frame); step values are NaN at frame 0. Throws
  // sim::BadInput naming the key and listing the available ones.
  std::vector<double> Series(const std::string& key) const;
  // "episode 3  seed 3".
  std::string Caption() const;
  // The current frame's reward and info values: "reward 1  diverged 0".
  std::string Detail() const;

  sim::Env& env() { return *env_; }
  // The MuJoCo env (model and data for native rendering), or null for other backends.
  const sim::MujocoEnv* mujoco() const { return mujoco_; }

 private:
  std::string path_;
  std::shared_ptr<const sim::EpisodeReader> reader_;
  std::unique_ptr<sim::Env> env_;
  const sim::MujocoEnv* mujoco_ = nullptr;
  sim::Episode episode_;
  sim::EnvState state_;  // scratch for Seek
  int64_t index_ = -1;
  int64_t frame_ = 0;
};

// Consecutive episodes played in sync, one pane each; shorter ones hold their last frame.
// Describes each frame (captions, status line, strip chart) the same way for the video and
// the viewer.
class EpisodeGroup {
 public:
  // Plays episodes first .. first + count - 1 of the file at `path`, charting `chart_key`
  // (see EpisodePlayer::Series). Throws sim::BadInput naming the values when the range does
  // not fit the file or the key is unknown.
  EpisodeGroup(const std::string& path, int64_t first, int count, const std::string& chart_key);

  // Panes (episodes) in the group.
  int size() const { return static_cast<int>(players_.size()); }
  EpisodePlayer& player(int i) { return *players_[i]; }
  // Episodes in the file.
  int64_t NumEpisodes() const { return reader_->NumEpisodes(); }
  // First episode shown.
  int64_t first() const { return first_; }
  // Loads episodes first .. first + size() - 1 (clamped into the file) and seeks to frame 0.
  void ShowFrom(int64_t first);
  // Frames of the longest episode.
  int64_t NumFrames() const;
  // Seeks every episode to frame t (clamped per episode).
  void Seek(int64_t t);
  // The current frame.
  int64_t frame() const { return frame_; }
  // Captions and chart for the current frame; images are left null.
  void Describe(std::vector<PaneContent>* panes, ChartContent* chart) const;
  // "step 12/100  time 0.48 s" (time of the first pane).
  std::string Status() const;

 private:
  void LoadSeries();
  std::string path_;
  std::string chart_key_;
  std::shared_ptr<const sim::EpisodeReader> reader_;
  std::vector<std::unique_ptr<EpisodePlayer>> players_;
  std::vector<std::vector<double>> series_;  // (size()) per-frame chart values
  int64_t first_ = 0;
  int64_t frame_ = 0;
};

// Formats a value for captions: integers without decimals, others with 3 significant digits.
std::string FormatNumber(double value);

}  // namespace darkmatter::apps
