// Episode files: round trips, determinism, atomic writes and rejection of bad files.
#include <catch2/catch.hpp>
#include <hdf5.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sim/episode.h"
#include "sim/episode_file.h"
#include "sim/error.h"

namespace darkmatter::sim {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device random;
    path_ =
        fs::temp_directory_path() / ("darkmatter-episode-test-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(counter++) + "-" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Path of `name` inside the directory.
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  // Names of every entry in the directory.
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

 private:
  fs::path path_;
};

// An episode of `t` steps whose every value differs, with optional frames.
Episode MakeEpisode(int64_t t, uint64_t seed, int64_t frame_size = 0) {
  Episode e;
  e.task = "test/ball_" + std::to_string(seed);
  e.seed = seed;
  e.obs_dim = 3;
  e.act_dim = 2;
  e.state_dim = 5;
  e.info_keys = {"success", "collision", "diverged"};
  const auto num_keys = static_cast<int64_t>(e.info_keys.size());
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-10.0, 10.0);
  auto fill = [&](std::vector<double>* v, int64_t n) {
    for (int64_t i = 0; i < n; ++i) v->push_back(uniform(rng));
  };
  fill(&e.observations, (t + 1) * e.obs_dim);
  fill(&e.actions, t * e.act_dim);
  fill(&e.rewards, t);
  fill(&e.states, (t + 1) * e.state_dim);
  for (int64_t i = 0; i < t; ++i) {
    e.terminations.push_back(i == t - 1 ? 1 : 0);
    e.truncations.push_back(0);
    e.infos.push_back(i == t - 1 ? 1.0 : 0.0);         // success at the end
    e.infos.push_back(i == 0 ? 1.0 : 0.0);             // collision at the start
    e.infos.push_back(static_cast<double>(i) * 0.25);  // diverged "score"
  }
  REQUIRE(static_cast<int64_t>(e.infos.size()) == t * num_keys);
  for (int64_t i = 0; i < (t + 1) * 4; ++i) e.rng_states.push_back(rng());  // full 64 bits
  for (int64_t i = 0; i <= t; ++i) e.elapsed_steps.push_back(i);
  if (frame_size > 0) {
    e.frame_height = frame_size;
    e.frame_width = frame_size + 2;
    for (int64_t i = 0; i < (t + 1) * e.frame_height * e.frame_width * 3; ++i) {
      e.frames.push_back(static_cast<uint8_t>(rng()));
    }
  }
  return e;
}

// Adds truth fields "positions" (3 x 3) and "energy" (scalar), in that (non-alphabetical)
// order, and scalar and string labels to `e`.
void AddTruthAndLabels(Episode* e) {
  e->truth_names = {"positions", "energy"};
  e->truth_shapes = {{3, 3}, {}};
  REQUIRE(e->TruthDim() == 10);
  for (int64_t i = 0; i < (e->Length() + 1) * e->TruthDim(); ++i) {
    e->truth.push_back(static_cast<double>(i) * 0.5 + static_cast<double>(e->seed));
  }
  e->scalars = {{"violation_frame", 12.0}, {"mass", 0.25}};
  e->strings = {{"principle", "solidity"}, {"variant", "impossible"}};
}

// The header used by every test file.
EpisodeFileHeader MakeHeader() {
  EpisodeFileHeader header;
  header.task = "test/ball";
  header.creator = "darkmatter test";
  header.config_json = R"({"episodes": 3, "render": [4, 6]})";
  return header;
}

// Writes and commits `episodes` to `path`.
void WriteEpisodes(const std::string& path, const std::vector<Episode>& episodes) {
  EpisodeWriter writer(path, MakeHeader());
  for (const Episode& episode : episodes) writer.Append(episode);
  writer.Commit();
}

// A file with one episode of `t` steps with truth and labels (seed 11) at `path`.
void WriteTruthFile(const std::string& path, int64_t t) {
  Episode e = MakeEpisode(t, 11);
  AddTruthAndLabels(&e);
  WriteEpisodes(path, {e});
}

// A valid file with three episodes (one with frames, one of length 0) at `path`.
std::vector<Episode> WriteValidFile(const std::string& path) {
  const std::vector<Episode> episodes = {MakeEpisode(6, 11, 4), MakeEpisode(0, 12),
                                         MakeEpisode(3, 13)};
  WriteEpisodes(path, episodes);
  return episodes;
}

// Every byte of a file.
std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Replaces a file's contents.
void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Opens `path` read-write with HDF5 directly and runs `edit` on the file.
void EditFile(const std::string& path, const std::function<void(hid_t)>& edit) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  edit(file);
  REQUIRE(H5Fclose(file) >= 0);
}

// Replaces the dataset at `name` by one of shape `dims` filled with 1.0.
void ReplaceDataset(hid_t file, const std::string& name, const std::vector<hsize_t>& dims) {
  REQUIRE(H5Ldelete(file, name.c_str(), H5P_DEFAULT) >= 0);
  hsize_t size = 1;
  for (hsize_t d : dims) size *= d;
  const std::vector<double> values(size, 1.0);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dataset = H5Dcreate2(file, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT,
                                   H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(dataset >= 0);
  REQUIRE(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  H5Dclose(dataset);
  H5Sclose(space);
}

// Requires that `action` throws BadInput whose message contains every `fragment`.
void RequireBadInput(const std::function<void()>& action,
                     const std::vector<std::string>& fragments) {
  try {
    action();
    FAIL("no BadInput thrown");
  } catch (const BadInput& error) {
    const std::string message = error.what();
    INFO("message: " << message);
    for (const std::string& fragment : fragments)
      CHECK(message.find(fragment) != std::string::npos);
  }
}

// Requires that opening and reading `path` throws BadInput naming every `fragment`.
void RequireRejected(const std::string& path, const std::vector<std::string>& fragments) {
  RequireBadInput(
      [&] {
        EpisodeReader reader(path);
        for (int64_t k = 0; k < reader.NumEpisodes(); ++k) reader.Read(k);
      },
      fragments);
}

// Requires equality of every field of two episodes.
void RequireSameEpisode(const Episode& a, const Episode& b) {
  CHECK(a.task == b.task);
  CHECK(a.seed == b.seed);
  CHECK(a.obs_dim == b.obs_dim);
  CHECK(a.act_dim == b.act_dim);
  CHECK(a.state_dim == b.state_dim);
  CHECK(a.observations == b.observations);
  CHECK(a.actions == b.actions);
  CHECK(a.rewards == b.rewards);
  CHECK(a.terminations == b.terminations);
  CHECK(a.truncations == b.truncations);
  CHECK(a.states == b.states);
  CHECK(a.rng_states == b.rng_states);
  CHECK(a.elapsed_steps == b.elapsed_steps);
  CHECK(a.info_keys == b.info_keys);
  CHECK(a.infos == b.infos);
  CHECK(a.frame_height == b.frame_height);
  CHECK(a.frame_width == b.frame_width);
  CHECK(a.frames == b.frames);
  CHECK(a.truth_names == b.truth_names);
  CHECK(a.truth_shapes == b.truth_shapes);
  CHECK(a.truth == b.truth);
  CHECK(a.scalars == b.scalars);
  CHECK(a.strings == b.strings);
}

// Reads a scalar numeric attribute with HDF5 directly.
template <typename T>
T ReadAttribute(hid_t object, const char* name, hid_t memory_type) {
  T value{};
  const hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
  REQUIRE(attribute >= 0);
  REQUIRE(H5Aread(attribute, memory_type, &value) >= 0);
  H5Aclose(attribute);
  return value;
}

TEST_CASE("Episode summaries: return, final and any info", "[episode]") {
  const Episode e = MakeEpisode(4, 1);
  double total = 0.0;
  for (double r : e.rewards) total += r;
  CHECK(e.Return() == total);
  CHECK(e.FinalInfo("success") == 1.0);
  CHECK(e.FinalInfo("collision") == 0.0);
  CHECK(e.FinalInfo("diverged") == 0.75);
  CHECK(e.AnyInfo("collision"));
  CHECK(e.AnyInfo("success"));
  CHECK(e.FinalInfo("missing") == 0.0);
  CHECK_FALSE(e.AnyInfo("missing"));

  const Episode empty = MakeEpisode(0, 2);
  CHECK(empty.Return() == 0.0);
  CHECK(empty.FinalInfo("success") == 0.0);
  CHECK_FALSE(empty.AnyInfo("collision"));
}

TEST_CASE("Episode files round-trip every field, frames and empty episodes", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("episodes.h5");
  Episode no_keys = MakeEpisode(2, 14);
  no_keys.info_keys.clear();
  no_keys.infos.clear();
  no_keys.act_dim = 0;
  no_keys.actions.clear();
  const std::vector<Episode> episodes = {MakeEpisode(6, 11, 4), MakeEpisode(0, 12),
                                         MakeEpisode(3, 13), MakeEpisode(0, 15, 3), no_keys};
  WriteEpisodes(path, episodes);

  EpisodeReader reader(path);
  CHECK(reader.Header().format_version == kEpisodeFormatVersion);
  CHECK(reader.Header().task == MakeHeader().task);
  CHECK(reader.Header().creator == MakeHeader().creator);
  CHECK(reader.Header().config_json == MakeHeader().config_json);
  REQUIRE(reader.NumEpisodes() == static_cast<int64_t>(episodes.size()));
  for (size_t k = 0; k < episodes.size(); ++k) {
    INFO("episode " << k);
    RequireSameEpisode(reader.Read(static_cast<int64_t>(k)), episodes[k]);
  }

  const auto shapes = reader.DatasetShapes(0);
  REQUIRE(shapes.size() == 10);
  CHECK(shapes[0] == std::pair<std::string, std::vector<int64_t>>{"observations", {7, 3}});
  CHECK(shapes[6] == std::pair<std::string, std::vector<int64_t>>{"rng_states", {7, 4}});
  CHECK(shapes[9] == std::pair<std::string, std::vector<int64_t>>{"frames", {7, 4, 6, 3}});
  CHECK(reader.DatasetShapes(1).size() == 9);  // no frames
  CHECK_THROWS_AS(reader.Read(static_cast<int64_t>(episodes.size())), BadInput);
}

TEST_CASE("Episode truth dimension sums the per-step field sizes", "[episode]") {
  Episode e;
  CHECK(e.TruthDim() == 0);
  e.truth_shapes = {{3, 3}, {}, {2}, {4, 0}};
  CHECK(e.TruthDim() == 9 + 1 + 2 + 0);
}

TEST_CASE("Episode files round-trip truth fields, scalars and strings", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("truth.h5");
  std::vector<Episode> episodes = {MakeEpisode(6, 11, 4), MakeEpisode(0, 12), MakeEpisode(3, 13)};
  AddTruthAndLabels(&episodes[0]);
  AddTruthAndLabels(&episodes[1]);  // T = 0: one row of truth
  episodes[1].strings.clear();      // scalars only
  WriteEpisodes(path, episodes);    // episode 2 has neither truth nor labels

  EpisodeReader reader(path);
  REQUIRE(reader.NumEpisodes() == 3);
  for (int64_t k = 0; k < 3; ++k) {
    INFO("episode " << k);
    RequireSameEpisode(reader.Read(k), episodes[static_cast<size_t>(k)]);
  }
  const auto shapes = reader.DatasetShapes(0);
  REQUIRE(shapes.size() == 12);
  CHECK(shapes[10] == std::pair<std::string, std::vector<int64_t>>{"truth/positions", {7, 3, 3}});
  CHECK(shapes[11] == std::pair<std::string, std::vector<int64_t>>{"truth/energy", {7}});
  CHECK(reader.DatasetShapes(1).back() ==
        std::pair<std::string, std::vector<int64_t>>{"truth/energy", {1}});
  CHECK(reader.DatasetShapes(2).size() == 9);

  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t group = H5Gopen2(file, "episode_0", H5P_DEFAULT);
  REQUIRE(group >= 0);
  CHECK(ReadAttribute<double>(group, "violation_frame", H5T_NATIVE_DOUBLE) == 12.0);
  CHECK(H5Aexists(group, "scalar_keys") > 0);
  CHECK(H5Aexists(group, "string_keys") > 0);
  CHECK(H5Lexists(group, "truth", H5P_DEFAULT) > 0);
  H5Gclose(group);
  const hid_t plain = H5Gopen2(file, "episode_2", H5P_DEFAULT);
  REQUIRE(plain >= 0);
  CHECK(H5Aexists(plain, "scalar_keys") == 0);
  CHECK(H5Aexists(plain, "string_keys") == 0);
  CHECK(H5Lexists(plain, "truth", H5P_DEFAULT) == 0);
  H5Gclose(plain);
  H5Fclose(file);
}

TEST_CASE("Files without truth or labels read back with none", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("plain.h5");
  WriteValidFile(path);
  EpisodeReader reader(path);
  const Episode e = reader.Read(0);
  CHECK(e.truth_names.empty());
  CHECK(e.truth_shapes.empty());
  CHECK(e.truth.empty());
  CHECK(e.scalars.empty());
  CHECK(e.strings.empty());
}

TEST_CASE("Writer rejects bad truth and label keys", "[episode]") {
  TempDir dir;
  EpisodeWriter writer(dir.File("episodes.h5"), MakeHeader());
  auto good = [] {
    Episode e = MakeEpisode(3, 1);
    AddTruthAndLabels(&e);
    return e;
  };
  Episode bad = good();
  bad.scalars["seed"] = 1.0;
  CHECK_THROWS_WITH(writer.Append(bad), Catch::Contains("'seed'") && Catch::Contains("reserved"));
  bad = good();
  bad.scalars["final_success"] = 1.0;
  CHECK_THROWS_AS(writer.Append(bad), std::invalid_argument);
  bad = good();
  bad.strings["scalar_keys"] = "x";
  CHECK_THROWS_AS(writer.Append(bad), std::invalid_argument);
  bad = good();
  bad.strings["a/b"] = "x";
  CHECK_THROWS_AS(writer.Append(bad), std::invalid_argument);
  bad = good();
  bad.strings["mass"] = "heavy";  // also a scalar
  CHECK_THROWS_WITH(writer.Append(bad), Catch::Contains("'mass'"));
  bad = good();
  bad.truth.pop_back();
  CHECK_THROWS_WITH(writer.Append(bad), Catch::Contains("truth"));
  bad = good();
  bad.truth_names[1] = "positions";
  CHECK_THROWS_WITH(writer.Append(bad), Catch::Contains("repeated"));
  bad = good();
  bad.truth_names[1] = "a/b";
  CHECK_THROWS_AS(writer.Append(bad), std::invalid_argument);
  bad = good();
  bad.truth_shapes.pop_back();
  CHECK_THROWS_AS(writer.Append(bad), std::invalid_argument);
  writer.Append(good());
  writer.Commit();
}

TEST_CASE("Episode files carry summary attributes and compressed frames", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("episodes.h5");
  const std::vector<Episode> episodes = WriteValidFile(path);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  CHECK(ReadAttribute<int64_t>(file, "format_version", H5T_NATIVE_INT64) == 1);
  CHECK(ReadAttribute<int64_t>(file, "total_episodes", H5T_NATIVE_INT64) == 3);
  CHECK(ReadAttribute<int64_t>(file, "total_steps", H5T_NATIVE_INT64) == 9);

  const hid_t group = H5Gopen2(file, "episode_0", H5P_DEFAULT);
  REQUIRE(group >= 0);
  CHECK(ReadAttribute<uint64_t>(group, "seed", H5T_NATIVE_UINT64) == 11);
  CHECK(ReadAttribute<int64_t>(group, "length", H5T_NATIVE_INT64) == 6);
  CHECK(ReadAttribute<double>(group, "return", H5T_NATIVE_DOUBLE) == episodes[0].Return());
  CHECK(ReadAttribute<double>(group, "final_success", H5T_NATIVE_DOUBLE) == 1.0);
  CHECK(ReadAttribute<double>(group, "final_collision", H5T_NATIVE_DOUBLE) == 0.0);
  CHECK(ReadAttribute<uint8_t>(group, "any_collision", H5T_NATIVE_UINT8) == 1);
  CHECK(ReadAttribute<uint8_t>(group, "any_success", H5T_NATIVE_UINT8) == 1);

  const hid_t frames = H5Dopen2(group, "frames", H5P_DEFAULT);
  REQUIRE(frames >= 0);
  const hid_t props = H5Dget_create_plist(frames);
  hsize_t chunk[4] = {0, 0, 0, 0};
  REQUIRE(H5Pget_chunk(props, 4, chunk) == 4);
  CHECK(std::vector<hsize_t>(chunk, chunk + 4) == std::vector<hsize_t>{1, 4, 6, 3});
  unsigned flags = 0;
  size_t num_values = 1;
  unsigned level = 0;
  CHECK(H5Pget_filter_by_id2(props, H5Z_FILTER_DEFLATE, &flags, &num_values, &level, 0, nullptr,
                             nullptr) >= 0);
  CHECK(level == 4);
  H5Pclose(props);
  H5Dclose(frames);
  H5Gclose(group);
  H5Fclose(file);
}

TEST_CASE("Identical episodes give byte-identical files", "[episode]") {
  TempDir dir;
  WriteValidFile(dir.File("a.h5"));
  WriteValidFile(dir.File("b.h5"));
  const std::string a = ReadBytes(dir.File("a.h5"));
  CHECK(!a.empty());
  CHECK(a == ReadBytes(dir.File("b.h5")));
}

TEST_CASE("An uncommitted writer leaves no file and keeps an existing one", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("episodes.h5");

  SECTION("no file before") {
    {
      EpisodeWriter writer(path, MakeHeader());
      writer.Append(MakeEpisode(3, 1));
    }
    CHECK(dir.Entries().empty());
  }
  SECTION("an existing file stays byte-identical") {
    WriteBytes(path, "precious contents");
    {
      EpisodeWriter writer(path, MakeHeader());
      writer.Append(MakeEpisode(3, 1));
      CHECK(ReadBytes(path) == "precious contents");
    }
    CHECK(ReadBytes(path) == "precious contents");
    CHECK(dir.Entries() == std::vector<std::string>{"episodes.h5"});
  }
  SECTION("a rejected Append leaves nothing behind") {
    {
      EpisodeWriter writer(path, MakeHeader());
      Episode bad = MakeEpisode(3, 1);
      bad.rewards.pop_back();
      CHECK_THROWS_AS(writer.Append(bad), std::invalid_argument);
      bad = MakeEpisode(3, 1);
      bad.observations.pop_back();
      CHECK_THROWS_WITH(writer.Append(bad), Catch::Contains("observations"));
    }
    CHECK(dir.Entries().empty());
  }
}

TEST_CASE("Commit replaces an existing file atomically", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("episodes.h5");
  WriteBytes(path, "old contents");
  const std::vector<Episode> episodes = WriteValidFile(path);
  CHECK(dir.Entries() == std::vector<std::string>{"episodes.h5"});
  EpisodeReader reader(path);
  REQUIRE(reader.NumEpisodes() == 3);
  RequireSameEpisode(reader.Read(2), episodes[2]);
}

TEST_CASE("A failed Commit keeps what is at the path and removes the temporary", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("episodes.h5");
  {
    EpisodeWriter writer(path, MakeHeader());
    writer.Append(MakeEpisode(2, 1));
    fs::create_directories(fs::path(path) / "occupied");  // rename cannot replace it
    RequireBadInput([&] { writer.Commit(); }, {path, "rename"});
    CHECK_THROWS_AS(writer.Commit(), std::logic_error);
    CHECK_THROWS_AS(writer.Append(MakeEpisode(2, 1)), std::logic_error);
  }
  CHECK(dir.Entries() == std::vector<std::string>{"episodes.h5"});
  CHECK(fs::is_directory(fs::path(path) / "occupied"));
}

TEST_CASE("Writer misuse is a programming error", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("episodes.h5");
  EpisodeFileHeader future = MakeHeader();
  future.format_version = kEpisodeFormatVersion + 1;
  CHECK_THROWS_AS(EpisodeWriter(path, future), std::invalid_argument);
  EpisodeWriter writer(path, MakeHeader());
  Episode bad = MakeEpisode(2, 1);
  bad.frame_height = 4;  // but no frames
  CHECK_THROWS_AS(writer.Append(bad), std::invalid_argument);
  bad = MakeEpisode(2, 1);
  bad.info_keys[1] = bad.info_keys[0];
  CHECK_THROWS_WITH(writer.Append(bad), Catch::Contains("repeated"));
  writer.Commit();
  CHECK_THROWS_AS(writer.Append(MakeEpisode(2, 1)), std::logic_error);
  CHECK_THROWS_AS(writer.Commit(), std::logic_error);
  CHECK(EpisodeReader(path).NumEpisodes() == 0);
}

TEST_CASE("A writer for a path in a missing directory throws BadInput", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("missing/episodes.h5");
  RequireBadInput([&] { EpisodeWriter writer(path, MakeHeader()); }, {path});
  CHECK(dir.Entries().empty());
}

TEST_CASE("Bad episode files are rejected with the file and dataset named", "[episode]") {
  TempDir dir;
  const std::string path = dir.File("bad.h5");

  SECTION("missing file") { RequireRejected(path, {path, "no such file"}); }
  SECTION("empty file") {
    WriteBytes(path, "");
    RequireRejected(path, {path, "not an HDF5 file"});
  }
  SECTION("random bytes") {
    std::mt19937 rng(7);
    std::string bytes(4096, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    WriteBytes(path, bytes);
    RequireRejected(path, {path, "not an HDF5 file"});
  }
  SECTION("truncated to half its size") {
    WriteValidFile(path);
    const std::string bytes = ReadBytes(path);
    WriteBytes(path, bytes.substr(0, bytes.size() / 2));
    RequireRejected(path, {path});
  }
  SECTION("rewards of the wrong length") {
    WriteValidFile(path);
    EditFile(path, [](hid_t file) {
      ReplaceDataset(file, "episode_0/rewards", {5});  // T is 6
    });
    RequireRejected(path, {path, "episode_0/rewards", "(5,)", "(6,)"});
  }
  SECTION("a truth dataset of the wrong length") {
    WriteTruthFile(path, 6);
    EditFile(path, [](hid_t file) {
      ReplaceDataset(file, "episode_0/truth/positions", {5, 3, 3});  // T is 6
    });
    RequireRejected(path, {path, "episode_0/truth/positions", "(5, 3, 3)", "(7, *, *)"});
  }
  SECTION("a listed truth dataset missing") {
    WriteTruthFile(path, 2);
    EditFile(path, [](hid_t file) {
      REQUIRE(H5Ldelete(file, "episode_0/truth/energy", H5P_DEFAULT) >= 0);
    });
    RequireRejected(path, {path, "episode_0/truth/energy", "missing"});
  }
  SECTION("a listed scalar label missing") {
    WriteTruthFile(path, 2);
    EditFile(path, [](hid_t file) {
      REQUIRE(H5Adelete_by_name(file, "episode_0", "mass", H5P_DEFAULT) >= 0);
    });
    RequireRejected(path, {path, "'mass'", "episode_0", "missing"});
  }
  SECTION("actions missing") {
    WriteValidFile(path);
    EditFile(path,
             [](hid_t file) { REQUIRE(H5Ldelete(file, "episode_2/actions", H5P_DEFAULT) >= 0); });
    RequireRejected(path, {path, "episode_2/actions", "missing"});
  }
  SECTION("unsupported format version") {
    WriteValidFile(path);
    EditFile(path, [](hid_t file) {
      const int version = 99;
      const hid_t attribute = H5Aopen(file, "format_version", H5P_DEFAULT);
      REQUIRE(H5Awrite(attribute, H5T_NATIVE_INT, &version) >= 0);
      H5Aclose(attribute);
    });
    RequireRejected(path, {path, "format_version 99"});
  }
  SECTION("an episode group missing") {
    WriteValidFile(path);
    EditFile(path, [](hid_t file) { REQUIRE(H5Ldelete(file, "episode_1", H5P_DEFAULT) >= 0); });
    RequireRejected(path, {path, "episode_1"});
  }
}

TEST_CASE("Corrupted bytes give BadInput or valid data, never a crash", "[episode]") {
  TempDir dir;
  const std::string valid_path = dir.File("valid.h5");
  const std::string path = dir.File("corrupt.h5");
  WriteValidFile(valid_path);
  const std::string valid = ReadBytes(valid_path);
  int rejected = 0;
  for (unsigned trial = 0; trial < 300; ++trial) {
    std::mt19937 rng(trial);
    std::string bytes = valid;
    for (int flip = 0; flip < 4; ++flip) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    WriteBytes(path, bytes);
    try {
      EpisodeReader reader(path);
      for (int64_t k = 0; k < reader.NumEpisodes(); ++k) reader.Read(k);
    } catch (const BadInput& error) {
      ++rejected;
      CHECK(std::string(error.what()).find(path) != std::string::npos);
    }
  }
  CHECK(rejected > 100);  // metadata is checksummed: most corruptions are caught
}

TEST_CASE("Episode files can be written and read from several threads", "[episode]") {
  // The module serialises HDF5 calls itself; callers need no lock of their own.
  TempDir dir;
  std::vector<Episode> episodes;
  for (int i = 0; i < 4; ++i) episodes.push_back(MakeEpisode(20, 100 + i, 8));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      try {
        const std::string path = dir.File("thread" + std::to_string(i) + ".h5");
        for (int round = 0; round < 5; ++round) {
          WriteEpisodes(path, {episodes[i], episodes[i]});
          EpisodeReader reader(path);
          if (reader.Read(1).frames != episodes[i].frames) ++failures;
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == 0);
}

}  // namespace
}  // namespace darkmatter::sim
