// HDF5 episode files (layout in docs/episode-format.md): atomic writer, validating reader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/episode.h"

namespace darkmatter::sim {

inline constexpr int kEpisodeFormatVersion = 1;

// File-level attributes of an episode file.
struct EpisodeFileHeader {
  int format_version = kEpisodeFormatVersion;  // layout version
  std::string task;                            // task name shared by all episodes
  std::string creator;                         // "darkmatter <version>"
  std::string config_json;                     // the settings that produced the file (JSON)
  std::string content_hash;                    // 16 hex digits over every episode (read only)
};

// How an episode file is stored (the layout is the same either way).
struct EpisodeWriterOptions {
  bool compress = true;  // shuffle + gzip on every numeric dataset where it pays (frames: always)
};

// Writes episodes to a temporary file next to `path`; Commit() renames it into place.
// Destroying an uncommitted writer removes the temporary file and leaves `path` untouched.
class EpisodeWriter {
 public:
  // Creates the temporary file; throws BadInput naming `path` when it cannot be created.
  EpisodeWriter(const std::string& path, const EpisodeFileHeader& header,
                const EpisodeWriterOptions& options = {});
  ~EpisodeWriter();
  EpisodeWriter(const EpisodeWriter&) = delete;
  EpisodeWriter& operator=(const EpisodeWriter&) = delete;

  // Appends one episode as group "episode_<k>" (k = 0, 1, ...); checks buffer sizes.
  void Append(const Episode& episode);
  // Flushes, closes and atomically renames the temporary file to the final path.
  void Commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Read access to a validated episode file. Opening validates the whole layout
// (attributes, every dataset's presence, dtype and shape) and throws BadInput with the
// file and dataset named on any problem (missing, truncated, corrupt, wrong shape).
class EpisodeReader {
 public:
  explicit EpisodeReader(const std::string& path);
  ~EpisodeReader();
  EpisodeReader(const EpisodeReader&) = delete;
  EpisodeReader& operator=(const EpisodeReader&) = delete;

  // File-level attributes.
  const EpisodeFileHeader& Header() const;
  // Number of episodes in the file.
  int64_t NumEpisodes() const;
  // Reads episode k completely (0 <= k < NumEpisodes()).
  Episode Read(int64_t k) const;
  // Names and shapes of every dataset of episode k, e.g. {"observations", {101, 4}};
  // truth fields appear as "truth/<name>" in truth_names order, before undocumented extras.
  std::vector<std::pair<std::string, std::vector<int64_t>>> DatasetShapes(int64_t k) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace darkmatter::sim
