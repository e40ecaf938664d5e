#include "apps/episode_player.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "sim/error.h"
#include "sim/settings.h"
#include "tasks/registry.h"

namespace darkmatter::apps {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The env settings the file was recorded with: every known key of its "env" block (as
// written by rollout), then the resolved frame_skip and max_episode_steps. Playback needs
// no pixel observations, so the observation mode is reset to "state".
sim::EnvSettings SettingsFromConfig(const std::string& path, const std::string& config_json) {
  sim::EnvSettings settings;
  const nlohmann::json config = nlohmann::json::parse(config_json, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    throw sim::BadInput("'" + path + "': config attribute is not a JSON object");
  }
  if (config.contains("env") && config["env"].is_object()) {
    sim::SettingsBinder binder;
    sim::BindEnvSettings(&settings, &binder);
    const std::map<std::string, std::string> known = binder.Values();
    for (const auto& [key, value] : config["env"].items()) {
      if (!known.count(key)) continue;  // written by a newer version; not needed to replay
      binder.Set(key, value.is_string() ? value.get<std::string>() : value.dump(),
                 "'" + path + "' config");
    }
  }
  for (const auto& [key, field] : {std::pair{"frame_skip", &settings.frame_skip},
                                   std::pair{"max_episode_steps", &settings.max_episode_steps}}) {
    if (!config.contains(key)) continue;
    if (!config[key].is_number_integer() || config[key].get<int64_t>() < 0) {
      throw sim::BadInput("'" + path + "': config key '" + key + "' is not a count: " +
                          config[key].dump());
    }
    *field = config[key].get<int>();
  }
  settings.observation = "state";
  return settings;
}

// Parses "prefix:I" with 0 <= I < size; returns -1 when `key` does not start with prefix.
int64_t ParseIndexKey(const std::string& key, const std::string& prefix, int64_t size) {
  if (key.rfind(prefix + ":", 0) != 0) return -1;
  const std::string digits = key.substr(prefix.size() + 1);
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw sim::BadInput("--chart key '" + key + "': expected " + prefix + ":INDEX");
  }
  const int64_t index = std::stoll(digits);
  if (index >= size) {
    throw sim::BadInput("--chart key '" + key + "': index out of range (" + prefix + " has " +
                        std::to_string(size) + " values)");
  }
  return index;
}

}  // namespace

std::string FormatNumber(double value) {
  char text[32];
  if (std::isfinite(value) && value == std::round(value) && std::abs(value) < 1e9) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    std::snprintf(text, sizeof text, "%.3g", value);
  }
  return text;
}

EpisodePlayer::EpisodePlayer(std::string path, std::shared_ptr<const sim::EpisodeReader> reader,
                             int64_t k)
    : path_(std::move(path)), reader_(std::move(reader)) {
  const sim::EpisodeFileHeader& header = reader_->Header();
  env_ = tasks::MakeEnv(header.task, SettingsFromConfig(path_, header.config_json));
  mujoco_ = dynamic_cast<const sim::MujocoEnv*>(env_.get());
  Load(k);
}

void EpisodePlayer::Load(int64_t k) {
  if (k < 0 || k >= NumEpisodes()) {
    throw sim::BadInput("episode " + std::to_string(k) + " is out of range: '" + path_ +
                        "' has " + std::to_string(NumEpisodes()) + " episodes (0.." +
                        std::to_string(NumEpisodes() - 1) + ")");
  }
  sim::Episode episode = reader_->Read(k);
  if (episode.state_dim != env_->StateSize()) {
    throw sim::BadInput("'" + path_ + "' episode " + std::to_string(k) + ": states have " +
                        std::to_string(episode.state_dim) + " values but task " +
                        env_->Name() + " has " + std::to_string(env_->StateSize()) +
                        " (recorded from a different scene?)");
  }
  episode_ = std::move(episode);
  index_ = k;
  frame_ = -1;
  Seek(0);
}

void EpisodePlayer::Seek(int64_t t) {
  t = std::clamp<int64_t>(t, 0, NumFrames() - 1);
  if (t == frame_) return;
  const int64_t dim = episode_.state_dim;
  state_.physics.assign(episode_.states.begin() + t * dim, episode_.states.begin() + (t + 1) * dim);
  std::copy_n(episode_.rng_states.begin() + 4 * t, 4, state_.rng.begin());
  state_.elapsed_steps = episode_.elapsed_steps[t];
  state_.needs_reset = false;
  env_->SetState(state_);
  frame_ = t;
}

void EpisodePlayer::Render(const sim::CameraSpec& camera, int width, int height,
                           sim::RenderOutput* out) {
  env_->Render(camera, width, height, out);
}

double EpisodePlayer::Time() const { return mujoco_ ? mujoco_->data()->time : kNaN; }

double EpisodePlayer::StepSeconds() const {
  if (mujoco_) return mujoco_->model()->opt.timestep * env_->FrameSkip();
  return 1.0 / 30.0;
}

std::vector<double> EpisodePlayer::Series(const std::string& key) const {
  const int64_t frames = NumFrames(), steps = episode_.Length();
  std::vector<double> values(frames, kNaN);
  if (key == "reward" || key == "return") {
    double sum = 0.0;
    if (key == "return") values[0] = 0.0;
    for (int64_t t = 0; t < steps; ++t) {
      sum += episode_.rewards[t];
      values[t + 1] = key == "reward" ? episode_.rewards[t] : sum;
    }
    return values;
  }
  const int64_t n_info = static_cast<int64_t>(episode_.info_keys.size());
  const int info = sim::FindInfoKey(episode_.info_keys, key);
  if (info >= 0) {
    for (int64_t t = 0; t < steps; ++t) values[t + 1] = episode_.infos[t * n_info + info];
    return values;
  }
  if (const int64_t i = ParseIndexKey(key, "observation", episode_.obs_dim); i >= 0) {
    for (int64_t t = 0; t < frames; ++t) values[t] = episode_.observations[t * episode_.obs_dim + i];
    return values;
  }
  if (const int64_t i = ParseIndexKey(key, "action", episode_.act_dim); i >= 0) {
    for (int64_t t = 0; t < steps; ++t) values[t + 1] = episode_.actions[t * episode_.act_dim + i];
    return values;
  }
  std::string known = "reward, return";
  for (const std::string& info_key : episode_.info_keys) known += ", " + info_key;
  known += ", observation:0.." + std::to_string(episode_.obs_dim - 1) + ", action:0.." +
           std::to_string(episode_.act_dim - 1);
  throw sim::BadInput("unknown --chart key '" + key + "' (available: " + known + ")");
}

std::string EpisodePlayer::Caption() const {
  const std::string seed = "seed " + std::to_string(episode_.seed);
  const auto principle = episode_.strings.find("principle");  // twin sets of physics scenes
  if (principle == episode_.strings.end()) return "episode " + std::to_string(index_) + "  " + seed;
  if (principle->second == "none") return seed + "  possible";
  const auto possible = episode_.scalars.find("possible");
  const auto member = episode_.scalars.find("member");
  const auto direction = episode_.strings.find("direction");
  if (possible != episode_.scalars.end() && possible->second == 0.0) {
    return seed + "  impossible: " +
           (direction == episode_.strings.end() ? principle->second : direction->second);
  }
  const bool world_b = member != episode_.scalars.end() && member->second == 1.0;
  return seed + (world_b ? "  possible B" : "  possible A");
}

std::string EpisodePlayer::Detail() const {
  if (frame_ == 0) return "reward -  (reset)";
  const int64_t step = frame_ - 1;
  std::string text = "reward " + FormatNumber(episode_.rewards[step]);
  const size_t n_info = episode_.info_keys.size();
  for (size_t i = 0; i < n_info; ++i) {
    text += "  " + episode_.info_keys[i] + " " + FormatNumber(episode_.infos[step * n_info + i]);
  }
  return text;
}

EpisodeGroup::EpisodeGroup(const std::string& path, int64_t first, int count,
                           const std::string& chart_key)
    : path_(path), chart_key_(chart_key) {
  reader_ = std::make_shared<const sim::EpisodeReader>(path);
  const int64_t n = reader_->NumEpisodes();
  if (first < 0 || first >= n) {
    throw sim::BadInput("--episode " + std::to_string(first) + " is out of range: '" + path +
                        "' has " + std::to_string(n) + " episodes (0.." +
                        std::to_string(n - 1) + ")");
  }
  if (count < 1 || first + count > n) {
    throw sim::BadInput("--grid " + std::to_string(count) + " from --episode " +
                        std::to_string(first) + " needs episodes " + std::to_string(first) +
                        ".." + std::to_string(first + count - 1) + " but '" + path +
                        "' has " + std::to_string(n) + " (0.." + std::to_string(n - 1) + ")");
  }
  for (int i = 0; i < count; ++i) {
    players_.push_back(std::make_unique<EpisodePlayer>(path, reader_, first + i));
  }
  first_ = first;
  LoadSeries();
}

void EpisodeGroup::ShowFrom(int64_t first) {
  first = std::clamp<int64_t>(first, 0, NumEpisodes() - size());
  for (int i = 0; i < size(); ++i) players_[i]->Load(first + i);
  first_ = first;
  frame_ = 0;
  LoadSeries();
}

void EpisodeGroup::LoadSeries() {
  series_.clear();
  for (const auto& player : players_) series_.push_back(player->Series(chart_key_));
}

int64_t EpisodeGroup::NumFrames() const {
  int64_t frames = 0;
  for (const auto& player : players_) frames = std::max(frames, player->NumFrames());
  return frames;
}

void EpisodeGroup::Seek(int64_t t) {
  frame_ = std::clamp<int64_t>(t, 0, NumFrames() - 1);
  for (const auto& player : players_) player->Seek(frame_);
}

void EpisodeGroup::Describe(std::vector<PaneContent>* panes, ChartContent* chart) const {
  panes->resize(players_.size());
  chart->title = chart_key_;
  chart->cursor = static_cast<int>(frame_);
  chart->series.resize(players_.size());
  for (size_t i = 0; i < players_.size(); ++i) {
    const EpisodePlayer& player = *players_[i];
    const Rgb color = PaletteColor(static_cast<int>(i));
    (*panes)[i] = {player.Caption(), player.Detail(), nullptr, color};
    chart->series[i] = {"ep " + std::to_string(player.index()), series_[i], color,
                        static_cast<int>(player.frame())};
  }
}

std::string EpisodeGroup::Status() const {
  const double time = players_.front()->Time();
  std::string text = "step " + std::to_string(frame_) + "/" + std::to_string(NumFrames() - 1);
  if (std::isfinite(time)) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.2f s", time);
    text += "  time " + std::string(seconds);
  }
  return text;
}

}  // namespace darkmatter::apps
