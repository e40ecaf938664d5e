// How much room an episode file takes: bytes on disk against raw bytes, per dataset name
// summed over all episodes (`darkmatter info` prints them). No torch here.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace darkmatter::sim {

// Stored (after HDF5 compression) and raw (elements x element size) bytes.
struct StorageBytes {
  int64_t stored = 0;
  int64_t raw = 0;
};

struct EpisodeStorage {
  int64_t file_bytes = 0;                       // size of the file on disk
  StorageBytes datasets;                        // all datasets of all episodes together
  std::map<std::string, StorageBytes> by_name;  // "states", "frames", "truth/positions", ...
};

// Measures the datasets of every "episode_<k>" group of the episode file `path`. Call it
// on a file EpisodeReader has validated; throws BadInput naming the file otherwise.
EpisodeStorage MeasureEpisodeStorage(const std::string& path);

}  // namespace darkmatter::sim
