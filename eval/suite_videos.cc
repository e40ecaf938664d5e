#include "eval/suite_videos.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>

#include "sim/episode_file.h"
#include "worldmodel/run_files.h"

namespace darkmatter::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Letters and digits kept, everything else '_' (file names from task and method names).
std::string Slug(const std::string& text) {
  std::string slug;
  for (char c : text) slug += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return slug;
}

// Picks up to two test clips of a physics cell's file: the first set's possible world A and
// its impossible partner, A then B (labels "set_id", "member", "principle", "direction"), as
// (index, caption) pairs.
std::vector<std::pair<int64_t, std::string>> ImaginedClips(const fs::path& h5) {
  sim::EpisodeReader reader(h5.string());
  std::vector<std::pair<int64_t, std::string>> clips;
  double twin = -1;
  for (int64_t k = 0; k < reader.NumEpisodes() && clips.size() < 2; ++k) {
    const sim::Episode episode = reader.Read(k);
    const auto label = [&](const char* name) {
      const auto it = episode.scalars.find(name);
      return it == episode.scalars.end() ? -1.0 : it->second;
    };
    if (clips.empty() && label("member") == 0 && label("violation_frame") >= 0) {
      twin = label("set_id");
      clips.emplace_back(k, "possible clip");
    } else if (!clips.empty() && label("member") == 2 && label("set_id") == twin) {
      const auto principle = episode.strings.find("principle");
      const auto direction = episode.strings.find("direction");
      clips.emplace_back(k, "its impossible partner, breaking " +
                                (principle == episode.strings.end() ? std::string("a principle")
                                                                    : principle->second) +
                                (direction == episode.strings.end() ? std::string()
                                                                    : " (" + direction->second + ")"));
    }
  }
  return clips;
}

}  // namespace

json RenderSuiteVideos(const ResolvedSuite& suite, const std::vector<SuiteCell>& cells,
                       const std::map<std::string, json>& done, const SuiteCell* physics,
                       const fs::path& physics_model, const fs::path& dir,
                       const VideoFn& render, const std::function<void(const std::string&)>& note) {
  json videos = json::array();
  if (!suite.settings.videos || !render) return videos;
  fs::create_directories(dir / "videos");
  const fs::path index_path = dir / "videos" / "index.json";
  json index = worldmodel::ReadJsonFile(index_path);
  if (!index.is_object()) index = json::object();
  // Renders `name` from (key, episode) unless the index says it is there; false on failure.
  const auto render_one = [&](const std::string& name, const std::string& key, int64_t episode,
                              const std::string& checkpoint) {
    const std::string source = key + ":" + std::to_string(episode);
    const fs::path mp4 = dir / "videos" / name;
    if (fs::exists(mp4) && index.value(name, std::string()) == source) return true;
    try {
      render((dir / "episodes" / (key + ".h5")).string(), episode, checkpoint, mp4.string(),
             suite.settings.video_size);
      index[name] = source;
      worldmodel::WriteJsonAtomically(index_path, index);
      return true;
    } catch (const std::exception& e) {
      if (note) note("video " + name + " not rendered: " + e.what());
      return false;
    }
  };
  for (const std::string& task : SplitList(suite.settings.video_tasks)) {
    std::map<std::string, double> largest;
    for (const SuiteCell& c : cells) {
      if (c.task == task && done.count(c.key)) largest[c.method] = std::max(largest[c.method], c.budget);
    }
    for (const auto& [method, budget] : largest) {
      struct Pick { std::string key; int64_t index; double score; int seed; bool success; double ret; };
      std::optional<Pick> best, worst;
      for (const SuiteCell& c : cells) {
        if (c.task != task || c.method != method || c.budget != budget || !done.count(c.key)) continue;
        const json& episodes = done.at(c.key)["episodes"];
        // Cells written since 2026-12-03 keep only their best and worst episode in the file
        // ("file_episode" says where); older cells kept all of them, in order.
        bool pruned = false;
        for (const json& e : episodes) pruned = pruned || e.contains("file_episode");
        for (const json& e : episodes) {
          if (pruned && !e.contains("file_episode")) continue;  // never a best or worst
          const bool success = e["success"].get<bool>();
          const double ret = e["return"].get<double>();
          const double score = VideoScore(success, ret);
          const int64_t in_file = e.value("file_episode", e["index"].get<int64_t>());
          const Pick pick{c.key, in_file, score, c.seed, success, ret};
          if (!best || score > best->score) best = pick;
          if (!worst || score < worst->score) worst = pick;
        }
      }
      for (const auto& [kind, pick] : {std::pair{"best", best}, std::pair{"worst", worst}}) {
        if (!pick) continue;
        const std::string name = Slug(task) + "_" + Slug(method) + "_" + kind + ".mp4";
        if (!render_one(name, pick->key, pick->index, "")) continue;
        char caption[160];
        std::snprintf(caption, sizeof(caption), "seed %d, %s, return %.3g", pick->seed,
                      pick->success ? "success" : "no success", pick->ret);
        videos.push_back({{"path", "videos/" + name},
                          {"caption", caption},
                          {"method", method},
                          {"task", task},
                          {"kind", kind}});
      }
    }
  }
  const fs::path& model = physics_model;
  if (physics && fs::exists(model) && fs::exists(dir / "episodes" / (physics->key + ".h5"))) {
    std::vector<std::pair<int64_t, std::string>> clips;
    try {
      clips = ImaginedClips(dir / "episodes" / (physics->key + ".h5"));
    } catch (const std::exception& e) {
      if (note) note("real-vs-imagined videos not rendered: " + std::string(e.what()));
    }
    for (size_t i = 0; i < clips.size(); ++i) {
      const std::string name = Slug(physics->task) + "_jepa_imagined_" + std::to_string(i) + ".mp4";
      if (!render_one(name, physics->key, clips[i].first, model.string())) continue;
      char caption[200];
      std::snprintf(caption, sizeof(caption), "seed %d, %.0f frames watched: %s (test split)",
                    physics->seed, physics->budget, clips[i].second.c_str());
      videos.push_back({{"path", "videos/" + name},
                        {"caption", caption},
                        {"method", "jepa"},
                        {"task", physics->task},
                        {"kind", "imagined"}});
    }
  }
  return videos;
}

}  // namespace darkmatter::eval
