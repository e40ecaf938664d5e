// darkmatter info FILE.h5 [--json]: validate an episode file and summarise it.
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "sim/env.h"
#include "sim/episode_file.h"
#include "sim/episode_storage.h"
#include "sim/error.h"

namespace darkmatter::apps {
namespace {

// True when info `key` only ever takes the values 0 and 1 (a flag, not a metric).
bool IsFlag(const sim::Episode& episode, const std::string& key) {
  const int column = sim::FindInfoKey(episode.info_keys, key);
  const size_t width = episode.info_keys.size();
  for (size_t i = column; column >= 0 && i < episode.infos.size(); i += width) {
    if (episode.infos[i] != 0.0 && episode.infos[i] != 1.0) return false;
  }
  return true;
}

// A task flag as shown per episode: "success" counts at the final step, every other
// flag (diverged, collision, ...) counts when it happened at any step.
bool EpisodeFlag(const sim::Episode& episode, const std::string& key) {
  return key == "success" ? episode.FinalInfo(key) != 0.0 : episode.AnyInfo(key);
}

nlohmann::json Summarise(const std::string& path) {
  sim::EpisodeReader reader(path);
  const sim::EpisodeFileHeader& header = reader.Header();
  nlohmann::json config = nlohmann::json::parse(header.config_json, nullptr, false);
  nlohmann::json summary = {{"file", path},
                            {"format_version", header.format_version},
                            {"task", header.task},
                            {"creator", header.creator},
                            {"content_hash", header.content_hash},
                            {"config", config.is_discarded() ? nlohmann::json(header.config_json)
                                                             : config}};
  nlohmann::json episodes = nlohmann::json::array();
  int64_t total_steps = 0;
  for (int64_t k = 0; k < reader.NumEpisodes(); ++k) {
    const sim::Episode episode = reader.Read(k);
    nlohmann::json row = {{"index", k},
                          {"seed", episode.seed},
                          {"length", episode.Length()},
                          {"return", episode.Return()},
                          {"terminated", episode.Length() > 0 && episode.terminations.back()},
                          {"truncated", episode.Length() > 0 && episode.truncations.back()}};
    for (const std::string& key : episode.info_keys) {
      if (IsFlag(episode, key)) {
        row[key] = EpisodeFlag(episode, key);
      } else {
        row["final"][key] = episode.FinalInfo(key);  // metrics: value at the last step
      }
    }
    if (!episode.scalars.empty()) row["labels"] = episode.scalars;
    if (!episode.strings.empty()) row["tags"] = episode.strings;
    episodes.push_back(row);
    total_steps += episode.Length();
  }
  nlohmann::json datasets = nlohmann::json::object();
  if (reader.NumEpisodes() > 0) {
    for (const auto& [name, shape] : reader.DatasetShapes(0)) datasets[name] = shape;
  }
  const sim::EpisodeStorage storage = sim::MeasureEpisodeStorage(path);
  nlohmann::json by_name = nlohmann::json::object();
  for (const auto& [name, bytes] : storage.by_name) {
    by_name[name] = {{"stored", bytes.stored}, {"raw", bytes.raw}};
  }
  summary["bytes"] = {{"file", storage.file_bytes},
                      {"stored", storage.datasets.stored},
                      {"raw", storage.datasets.raw},
                      {"datasets", by_name}};
  summary["num_episodes"] = reader.NumEpisodes();
  summary["total_steps"] = total_steps;
  summary["datasets"] = datasets;
  summary["episodes"] = episodes;
  return summary;
}

std::string ShapeText(const nlohmann::json& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += std::to_string(shape[i].get<int64_t>()) + (i + 1 < shape.size() ? ", " : "");
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

// "12.3 MB" (decimal units), "512 B".
std::string Bytes(int64_t bytes) {
  char text[32];
  if (bytes < 1000) {
    std::snprintf(text, sizeof(text), "%lld B", static_cast<long long>(bytes));
  } else if (bytes < 1000 * 1000) {
    std::snprintf(text, sizeof(text), "%.1f kB", bytes / 1e3);
  } else if (bytes < 1000LL * 1000 * 1000) {
    std::snprintf(text, sizeof(text), "%.1f MB", bytes / 1e6);
  } else {
    std::snprintf(text, sizeof(text), "%.2f GB", bytes / 1e9);
  }
  return text;
}

// "3.1x" (raw / stored); "-" when nothing is stored.
std::string Ratio(int64_t raw, int64_t stored) {
  if (stored <= 0) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), "%.1fx", static_cast<double>(raw) / static_cast<double>(stored));
  return text;
}

void PrintText(const nlohmann::json& s) {
  std::printf("file:     %s\n", s["file"].get<std::string>().c_str());
  std::printf("task:     %s\n", s["task"].get<std::string>().c_str());
  std::printf("format:   version %d, written by %s\n", s["format_version"].get<int>(),
              s["creator"].get<std::string>().c_str());
  std::printf("config:   %s\n", s["config"].dump().c_str());
  std::printf("content:  hash %s\n", s["content_hash"].get<std::string>().c_str());
  std::printf("episodes: %lld, steps: %lld\n",
              static_cast<long long>(s["num_episodes"].get<int64_t>()),
              static_cast<long long>(s["total_steps"].get<int64_t>()));
  const nlohmann::json& bytes = s["bytes"];
  std::printf("size:     %s on disk, %s of raw data (%s smaller)\n",
              Bytes(bytes["file"].get<int64_t>()).c_str(), Bytes(bytes["raw"].get<int64_t>()).c_str(),
              Ratio(bytes["raw"].get<int64_t>(), bytes["file"].get<int64_t>()).c_str());
  std::printf("datasets (shape in episode 0; bytes stored / raw over all episodes):\n");
  for (const auto& [name, shape] : s["datasets"].items()) {
    std::string sizes;
    if (bytes["datasets"].contains(name)) {
      const int64_t stored = bytes["datasets"][name]["stored"].get<int64_t>();
      const int64_t raw = bytes["datasets"][name]["raw"].get<int64_t>();
      sizes = Bytes(stored) + " / " + Bytes(raw) + " (" + Ratio(raw, stored) + ")";
    }
    std::printf("  %-16s %-18s %s\n", name.c_str(), ShapeText(shape).c_str(), sizes.c_str());
  }
  std::printf("%7s %20s %7s %12s  %s\n", "episode", "seed", "length", "return", "flags");
  for (const auto& e : s["episodes"]) {
    std::string flags;
    for (const auto& [key, value] : e.items()) {
      if (value.is_boolean() && value.get<bool>()) flags += key + " ";
    }
    if (e.contains("tags")) {
      for (const auto& [key, value] : e["tags"].items()) {
        flags += key + "=" + value.get<std::string>() + " ";
      }
    }
    if (e.contains("labels")) {
      for (const auto& [key, value] : e["labels"].items()) {
        char text[64];
        std::snprintf(text, sizeof(text), "%s=%g ", key.c_str(), value.get<double>());
        flags += text;
      }
    }
    std::printf("%7lld %20llu %7lld %12.4g  %s\n", static_cast<long long>(e["index"].get<int64_t>()),
                static_cast<unsigned long long>(e["seed"].get<uint64_t>()),
                static_cast<long long>(e["length"].get<int64_t>()), e["return"].get<double>(),
                flags.c_str());
  }
}

}  // namespace

void AddInfoCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Validate and summarise an episode file");
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("file", *file, "Episode file (.h5)")->required();
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([file, json] {
    const nlohmann::json summary = Summarise(*file);
    if (*json) {
      std::printf("%s\n", summary.dump(2).c_str());
    } else {
      PrintText(summary);
    }
  });
}

}  // namespace darkmatter::apps
