// Episode file storage: numeric datasets shuffled + gzip-compressed where it pays, read back
// bit-identical, the same content hash as an uncompressed file, and the sizes `info` prints.
#include <catch2/catch.hpp>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/episode.h"
#include "sim/episode_file.h"
#include "sim/episode_storage.h"

namespace darkmatter::sim {
namespace {

namespace fs = std::filesystem;

// An episode of `t` steps with smooth, physics-like signals (slow sines, constant columns).
Episode SmoothEpisode(int64_t t) {
  Episode e;
  e.task = "test/smooth";
  e.seed = 5;
  e.obs_dim = 6;
  e.act_dim = 2;
  e.state_dim = 40;  // mostly constant (static bodies), as in the driving scenes
  e.info_keys = {"success", "collision"};
  for (int64_t i = 0; i <= t; ++i) {
    for (int64_t d = 0; d < e.obs_dim; ++d) e.observations.push_back(std::sin(0.01 * i + d));
    for (int64_t d = 0; d < e.state_dim; ++d) {
      e.states.push_back(d < 6 ? std::cos(0.02 * i * (d + 1)) : 0.5 * d);
    }
    for (int k = 0; k < 4; ++k) e.rng_states.push_back(0x9e3779b97f4a7c15ULL * (i + 1) + k);
    e.elapsed_steps.push_back(i);
  }
  for (int64_t i = 0; i < t; ++i) {
    e.actions.push_back(std::sin(0.05 * i));
    e.actions.push_back(0.0);
    e.rewards.push_back(-0.01 * i);
    e.terminations.push_back(i == t - 1 ? 1 : 0);
    e.truncations.push_back(0);
    e.infos.push_back(i == t - 1 ? 1.0 : 0.0);
    e.infos.push_back(0.0);
  }
  return e;
}

EpisodeFileHeader Header() {
  EpisodeFileHeader header;
  header.task = "test/smooth";
  header.creator = "darkmatter test";
  header.config_json = "{}";
  return header;
}

void Write(const std::string& path, const std::vector<Episode>& episodes, bool compress) {
  EpisodeWriter writer(path, Header(), {.compress = compress});
  for (const Episode& e : episodes) writer.Append(e);
  writer.Commit();
}

// (chunked, has shuffle, deflate level or 0) of dataset `name` of episode_0.
struct Layout {
  bool chunked = false;
  bool shuffle = false;
  unsigned gzip = 0;
};
Layout ReadLayout(const std::string& path, const std::string& name) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t dataset = H5Dopen2(file, ("episode_0/" + name).c_str(), H5P_DEFAULT);
  REQUIRE(dataset >= 0);
  const hid_t props = H5Dget_create_plist(dataset);
  Layout layout;
  layout.chunked = H5Pget_layout(props) == H5D_CHUNKED;
  const int filters = H5Pget_nfilters(props);
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0, values[4] = {0, 0, 0, 0};
    size_t count = 4;
    const H5Z_filter_t id = H5Pget_filter2(props, i, &flags, &count, values, 0, nullptr, nullptr);
    if (id == H5Z_FILTER_SHUFFLE) layout.shuffle = true;
    if (id == H5Z_FILTER_DEFLATE) layout.gzip = values[0];
  }
  H5Pclose(props);
  H5Dclose(dataset);
  H5Fclose(file);
  return layout;
}

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() /
          ("darkmatter-storage-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

TEST_CASE("Numeric datasets are shuffled and gzip-compressed where it pays", "[episode]") {
  const std::string packed = TempPath("packed.h5"), plain = TempPath("plain.h5");
  const std::vector<Episode> episodes = {SmoothEpisode(2000), SmoothEpisode(3)};
  Write(packed, episodes, /*compress=*/true);
  Write(plain, episodes, /*compress=*/false);

  for (const char* name : {"observations", "states", "actions", "rng_states", "infos"}) {
    const Layout layout = ReadLayout(packed, name);
    INFO(name);
    CHECK(layout.chunked);
    CHECK(layout.shuffle);
    CHECK(layout.gzip == 1);
    CHECK_FALSE(ReadLayout(plain, name).chunked);
  }
  {
    // Episode 1 is 3 steps long: too small to pay, stored contiguous.
    const hid_t file = H5Fopen(packed.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t dataset = H5Dopen2(file, "episode_1/states", H5P_DEFAULT);
    const hid_t props = H5Dget_create_plist(dataset);
    CHECK(H5Pget_layout(props) == H5D_CONTIGUOUS);
    H5Pclose(props);
    H5Dclose(dataset);
    H5Fclose(file);
  }

  // Same contents, bit for bit, and the same content hash either way.
  EpisodeReader a(packed), b(plain);
  CHECK(a.Header().content_hash == b.Header().content_hash);
  for (int64_t k = 0; k < 2; ++k) {
    const Episode x = a.Read(k), y = b.Read(k);
    CHECK(x.states == episodes[k].states);
    CHECK(x.observations == episodes[k].observations);
    CHECK(x.rng_states == episodes[k].rng_states);
    CHECK(x.infos == y.infos);
  }

  const EpisodeStorage small = MeasureEpisodeStorage(packed);
  const EpisodeStorage large = MeasureEpisodeStorage(plain);
  CHECK(small.datasets.raw == large.datasets.raw);
  CHECK(large.datasets.stored == large.datasets.raw);  // contiguous: stored = raw
  CHECK(small.by_name.at("states").stored * 4 < small.by_name.at("states").raw);
  CHECK(small.file_bytes * 2 < large.file_bytes);
  CHECK(small.by_name.at("states").raw == (2001 + 4) * 40 * 8);
  fs::remove(packed);
  fs::remove(plain);
}

}  // namespace
}  // namespace darkmatter::sim
