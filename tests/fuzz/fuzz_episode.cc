// Fuzz target: an episode file (HDF5) read the way `darkmatter info` and `play` read one:
// open and validate, header and its config JSON, every episode, dataset shapes, storage.
// Bad files must be sim::BadInput; anything else (crash, other exception, leak, UB) is a bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <hdf5.h>
#include <nlohmann/json.hpp>

#include "sim/episode_file.h"
#include "sim/episode_storage.h"
#include "sim/error.h"
#include "tests/fuzz/fuzz_util.h"

namespace sim = darkmatter::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = darkmatter::fuzz::WriteScratchFile("episode.h5", data, size);
  try {
    sim::EpisodeReader reader(path);
    const sim::EpisodeFileHeader& header = reader.Header();
    nlohmann::json summary = {{"task", header.task}, {"creator", header.creator},
                              {"content_hash", header.content_hash}};
    const auto config = nlohmann::json::parse(header.config_json, nullptr, false);
    summary["config"] = config.is_discarded() ? nlohmann::json(header.config_json) : config;
    const int64_t shown = std::min<int64_t>(reader.NumEpisodes(), 8);
    for (int64_t k = 0; k < shown; ++k) {
      const sim::Episode episode = reader.Read(k);
      nlohmann::json row = {{"length", episode.Length()}, {"return", episode.Return()}};
      for (const std::string& key : episode.info_keys) {
        row[key] = {episode.FinalInfo(key), episode.AnyInfo(key)};
      }
      if (!episode.strings.empty()) row["tags"] = episode.strings;
      summary["episodes"].push_back(row);
      for (const auto& [name, shape] : reader.DatasetShapes(k)) summary["datasets"][name] = shape;
    }
    summary["stored"] = sim::MeasureEpisodeStorage(path).datasets.stored;
    (void)summary.dump();  // what `info --json` prints
  } catch (const sim::BadInput&) {
    // refused with a message: the promised outcome for a bad file
  }
  // Every handle the reader opened is closed again, on success and on refusal alike.
  const ssize_t open_objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (open_objects != 0) {
    std::fprintf(stderr, "fuzz_episode: %zd HDF5 objects left open\n", open_objects);
    std::abort();
  }
  return 0;
}
