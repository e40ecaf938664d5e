// The videos of a suite run: the best and worst evaluation episode per (video task, method)
// at the method's largest budget, and real against imagined for the physics cell's jepa.
// Torch-free.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/suite.h"
#include "eval/suite_settings.h"

namespace darkmatter::eval {

// How good an evaluation episode looks for the best/worst videos: any success beats every
// failure, then the higher return. The best video is the first episode of highest score,
// the worst the first of lowest score (cells in suite order, episodes in order).
inline double VideoScore(bool success, double episode_return) {
  return (success ? 1e12 : 0.0) + episode_return;
}

// Renders into dir/videos (skipping a video already rendered from the same episode, per
// dir/videos/index.json) from the finished cells `done` (key -> cell file) of `cells`: best
// and worst episodes from dir/episodes, and for the `physics` cell (may be null) a possible
// test clip and its impossible twin against `physics_model`. A video that fails is reported
// to `note` and left out. Returns results.json's "videos" list.
nlohmann::json RenderSuiteVideos(const ResolvedSuite& suite, const std::vector<SuiteCell>& cells,
                                 const std::map<std::string, nlohmann::json>& done,
                                 const SuiteCell* physics,
                                 const std::filesystem::path& physics_model,
                                 const std::filesystem::path& dir, const VideoFn& render,
                                 const std::function<void(const std::string&)>& note);

}  // namespace darkmatter::eval
