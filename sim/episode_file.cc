// HDF5 episode files: the episode layout (writer, reader, validation). Layout:
// docs/episode-format.md; the generic HDF5 helpers live in sim/hdf5_io.h.
//
// HDF5 builds need not be thread-safe: every public function here holds hdf5::Lock() for
// all its HDF5 calls, including the ones made by destructors of HDF5 handles.
#include "sim/episode_file.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <utility>

#include "sim/error.h"
#include "sim/file_checks.h"
#include "sim/hash.h"
#include "sim/hdf5_io.h"

namespace darkmatter::sim {
namespace {

namespace fs = std::filesystem;
using hdf5::DatasetSpec;
using hdf5::Hid;
using hdf5::ReadScalarAttribute;
using hdf5::Site;
using hdf5::Traits;
using hdf5::WriteScalarAttribute;

constexpr int kFramesGzipLevel = 4;
constexpr int kNumericGzipLevel = 1;  // shuffle + gzip for every other dataset where it pays
constexpr char kTruthGroup[] = "truth";  // subgroup of an episode group holding truth/<name>

// Group name of episode k.
std::string EpisodeLabel(int64_t k) { return "episode_" + std::to_string(k); }

// True when `name` is an episode-group attribute of the layout itself (not a label key).
bool IsReservedAttribute(const std::string& name) {
  static const std::set<std::string> kReserved = {
      "seed", "task", "length", "return", "info_keys", "scalar_keys", "string_keys"};
  return kReserved.count(name) > 0 || name.rfind("final_", 0) == 0 || name.rfind("any_", 0) == 0;
}

// True when `name` can name a truth field or label: non-empty, not ".", no '/'.
bool IsPlainName(const std::string& name) {
  return !name.empty() && name != "." && name.find('/') == std::string::npos;
}

// ---------------------------------------------------------------------------------------
// Checking an episode before it is written.

// Throws std::invalid_argument "EpisodeWriter::Append(<path>): <what>".
[[noreturn]] void FailAppend(const std::string& path, const std::string& what) {
  throw std::invalid_argument("EpisodeWriter::Append(" + path + "): " + what);
}

// Throws std::invalid_argument unless buffer `name` holds `expected` elements.
void CheckBufferSize(const std::string& path, const char* name, size_t actual, int64_t expected,
                     const std::string& formula) {
  if (static_cast<int64_t>(actual) == expected) return;
  FailAppend(path, std::string(name) + " has " + std::to_string(actual) + " values, expected " +
                       formula + " = " + std::to_string(expected));
}

// Checks truth names and shapes and the size of the truth buffer.
void CheckTruth(const std::string& path, const Episode& episode) {
  if (episode.truth_shapes.size() != episode.truth_names.size()) {
    FailAppend(path, "truth_shapes has " + std::to_string(episode.truth_shapes.size()) +
                         " shapes for " + std::to_string(episode.truth_names.size()) +
                         " truth_names");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < episode.truth_names.size(); ++i) {
    const std::string& name = episode.truth_names[i];
    if (!IsPlainName(name) || !seen.insert(name).second) {
      FailAppend(path, "truth name '" + name + "' is empty, contains '/' or is repeated");
    }
    for (int64_t extent : episode.truth_shapes[i]) {
      if (extent < 0) FailAppend(path, "truth field '" + name + "' has a negative extent");
    }
  }
  CheckBufferSize(path, "truth", episode.truth.size(), (episode.Length() + 1) * episode.TruthDim(),
                  "(T+1) x truth_dim");
}

// Checks that scalar and string label keys are plain, unreserved and not shared.
void CheckLabels(const std::string& path, const Episode& episode) {
  auto check = [&](const char* kind, const std::string& key) {
    if (!IsPlainName(key) || IsReservedAttribute(key)) {
      FailAppend(path, std::string(kind) + " key '" + key +
                           "' is empty, contains '/' or collides with a reserved attribute");
    }
  };
  for (const auto& [key, value] : episode.scalars) check("scalar", key);
  for (const auto& [key, value] : episode.strings) {
    check("string", key);
    if (episode.scalars.count(key) > 0) {
      FailAppend(path, "key '" + key + "' is both in scalars and in strings");
    }
  }
}

// Checks that every buffer of `episode` matches its length T and dimensions.
void CheckEpisodeBuffers(const std::string& path, const Episode& episode) {
  if (episode.obs_dim < 0 || episode.act_dim < 0 || episode.state_dim < 0 ||
      episode.frame_height < 0 || episode.frame_width < 0) {
    FailAppend(path, "negative dimension");
  }
  const int64_t t = episode.Length();
  const int64_t num_keys = static_cast<int64_t>(episode.info_keys.size());
  CheckBufferSize(path, "observations", episode.observations.size(), (t + 1) * episode.obs_dim,
                  "(T+1) x obs_dim");
  CheckBufferSize(path, "actions", episode.actions.size(), t * episode.act_dim, "T x act_dim");
  CheckBufferSize(path, "terminations", episode.terminations.size(), t, "T");
  CheckBufferSize(path, "truncations", episode.truncations.size(), t, "T");
  CheckBufferSize(path, "states", episode.states.size(), (t + 1) * episode.state_dim,
                  "(T+1) x state_dim");
  CheckBufferSize(path, "rng_states", episode.rng_states.size(), (t + 1) * 4, "(T+1) x 4");
  CheckBufferSize(path, "elapsed_steps", episode.elapsed_steps.size(), t + 1, "T+1");
  CheckBufferSize(path, "infos", episode.infos.size(), t * num_keys, "T x info_keys");
  std::set<std::string> seen;
  for (const std::string& key : episode.info_keys) {
    if (key.empty() || key.find('/') != std::string::npos || !seen.insert(key).second) {
      FailAppend(path, "info key '" + key + "' is empty, contains '/' or is repeated");
    }
  }
  CheckTruth(path, episode);
  CheckLabels(path, episode);
  if (episode.frames.empty()) {
    if (episode.frame_height != 0 || episode.frame_width != 0) {
      FailAppend(path, "frame_height/frame_width must be 0 when frames is empty");
    }
    return;
  }
  if (episode.frame_height == 0 || episode.frame_width == 0) {
    FailAppend(path, "frames given but frame_height or frame_width is 0");
  }
  CheckBufferSize(path, "frames", episode.frames.size(),
                  (t + 1) * episode.frame_height * episode.frame_width * 3, "(T+1) x H x W x 3");
}

// ---------------------------------------------------------------------------------------
// Writing.

// Writes the scalar and string labels and their key lists (only when non-empty).
void WriteLabels(hid_t group, const std::string& label, const Episode& episode, const Site& site) {
  std::vector<std::string> scalar_keys;
  for (const auto& [key, value] : episode.scalars) {
    WriteScalarAttribute<double>(group, label, key, value, site);
    scalar_keys.push_back(key);
  }
  std::vector<std::string> string_keys;
  for (const auto& [key, value] : episode.strings) {
    hdf5::WriteStringAttribute(group, label, key, value, site);
    string_keys.push_back(key);
  }
  if (!scalar_keys.empty()) {
    hdf5::WriteStringsAttribute(group, label, "scalar_keys", scalar_keys, /*scalar=*/false, site);
  }
  if (!string_keys.empty()) {
    hdf5::WriteStringsAttribute(group, label, "string_keys", string_keys, /*scalar=*/false, site);
  }
}

// Writes the attributes of an episode group (see docs/episode-format.md).
void WriteEpisodeAttributes(hid_t group, const std::string& label, const Episode& episode,
                            const Site& site) {
  WriteScalarAttribute<uint64_t>(group, label, "seed", episode.seed, site);
  hdf5::WriteStringAttribute(group, label, "task", episode.task, site);
  WriteScalarAttribute<int64_t>(group, label, "length", episode.Length(), site);
  WriteScalarAttribute<double>(group, label, "return", episode.Return(), site);
  hdf5::WriteStringsAttribute(group, label, "info_keys", episode.info_keys, /*scalar=*/false, site);
  for (const std::string& key : episode.info_keys) {
    WriteScalarAttribute<double>(group, label, "final_" + key, episode.FinalInfo(key), site);
    WriteScalarAttribute<uint8_t>(group, label, "any_" + key, episode.AnyInfo(key) ? 1 : 0, site);
  }
  WriteLabels(group, label, episode, site);
}

// Writes subgroup "truth" with one (T+1, *shape) dataset per field (none without fields).
void WriteTruth(hid_t group, const std::string& label, const Episode& episode, int gzip_level,
                const Site& site) {
  if (episode.truth_names.empty()) return;
  const std::string truth_label = label + "/" + kTruthGroup;
  Hid truth = hdf5::CreateGroup(group, kTruthGroup, "group " + truth_label, site);
  hdf5::WriteStringsAttribute(truth.get(), truth_label, "truth_names", episode.truth_names,
                              /*scalar=*/false, site);
  const int64_t rows = episode.Length() + 1;
  const int64_t dim = episode.TruthDim();
  int64_t offset = 0;
  for (size_t i = 0; i < episode.truth_names.size(); ++i) {
    const std::vector<int64_t>& shape = episode.truth_shapes[i];
    const int64_t size = hdf5::NumElements(shape);
    std::vector<double> field;
    field.reserve(static_cast<size_t>(rows * size));
    for (int64_t row = 0; row < rows; ++row) {
      const auto begin = episode.truth.begin() + row * dim + offset;
      field.insert(field.end(), begin, begin + size);
    }
    std::vector<int64_t> dims = {rows};
    dims.insert(dims.end(), shape.begin(), shape.end());
    hdf5::WriteDataset(truth.get(), truth_label, episode.truth_names[i], dims, field, site,
                       hdf5::CompressedRows(dims, sizeof(double), gzip_level));
    offset += size;
  }
}

// Writes `data` as dataset `name` of shape `dims`, compressed (shuffle + gzip
// `gzip_level`) where that pays (hdf5::CompressedRows), contiguous otherwise.
template <typename T>
void WriteNumeric(hid_t group, const std::string& label, const std::string& name,
                  const std::vector<int64_t>& dims, const std::vector<T>& data, int gzip_level,
                  const Site& site) {
  hdf5::WriteDataset(group, label, name, dims, data, site,
                     hdf5::CompressedRows(dims, sizeof(T), gzip_level));
}

// Writes episode group `label` with its attributes and datasets; `compress` turns on
// shuffle + gzip for the numeric datasets (frames are always compressed).
void WriteEpisodeGroup(hid_t file, const std::string& label, const Episode& episode,
                       bool compress, const Site& site) {
  Hid group = hdf5::CreateGroup(file, label, "group " + label, site);
  const hid_t g = group.get();
  const int64_t t = episode.Length();
  const auto num_keys = static_cast<int64_t>(episode.info_keys.size());
  const int z = compress ? kNumericGzipLevel : 0;
  WriteEpisodeAttributes(g, label, episode, site);
  WriteNumeric(g, label, "observations", {t + 1, episode.obs_dim}, episode.observations, z, site);
  WriteNumeric(g, label, "actions", {t, episode.act_dim}, episode.actions, z, site);
  WriteNumeric(g, label, "rewards", {t}, episode.rewards, z, site);
  WriteNumeric(g, label, "terminations", {t}, episode.terminations, z, site);
  WriteNumeric(g, label, "truncations", {t}, episode.truncations, z, site);
  WriteNumeric(g, label, "states", {t + 1, episode.state_dim}, episode.states, z, site);
  WriteNumeric(g, label, "rng_states", {t + 1, 4}, episode.rng_states, z, site);
  WriteNumeric(g, label, "elapsed_steps", {t + 1}, episode.elapsed_steps, z, site);
  WriteNumeric(g, label, "infos", {t, num_keys}, episode.infos, z, site);
  if (!episode.frames.empty()) {
    const int64_t h = episode.frame_height;
    const int64_t w = episode.frame_width;
    hdf5::WriteDataset(g, label, "frames", {t + 1, h, w, 3}, episode.frames, site,
                       {.chunk = {1, h, w, 3}, .gzip_level = kFramesGzipLevel});
  }
  WriteTruth(g, label, episode, z, site);
}

// ---------------------------------------------------------------------------------------
// Reading and validation.

// The required datasets of an episode of `t` steps with `num_keys` info keys.
std::vector<DatasetSpec> RequiredDatasets(int64_t t, int64_t num_keys) {
  constexpr int64_t kAny = hdf5::kAnyExtent;
  return {
      {"observations", Traits<double>::Info(), {t + 1, kAny}},
      {"actions", Traits<double>::Info(), {t, kAny}},
      {"rewards", Traits<double>::Info(), {t}},
      {"terminations", Traits<uint8_t>::Info(), {t}},
      {"truncations", Traits<uint8_t>::Info(), {t}},
      {"states", Traits<double>::Info(), {t + 1, kAny}},
      {"rng_states", Traits<uint64_t>::Info(), {t + 1, 4}},
      {"elapsed_steps", Traits<int64_t>::Info(), {t + 1}},
      {"infos", Traits<double>::Info(), {t, num_keys}},
  };
}

// The optional frames dataset of an episode of `t` steps.
DatasetSpec FramesDataset(int64_t t) {
  constexpr int64_t kAny = hdf5::kAnyExtent;
  return {"frames", Traits<uint8_t>::Info(), {t + 1, kAny, kAny, 3}};
}

// Where T came from, appended to dataset shape mismatches.
std::string LengthNote(int64_t t) {
  return " (T = " + std::to_string(t) + " from attribute 'length')";
}

// Everything validated about one episode when the file is opened.
struct EpisodeMeta {
  std::string label;   // group name, "episode_<k>"
  int64_t length = 0;  // T
  Episode base;        // task, seed, dims, keys, frame size, truth shapes, labels; no buffers
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;  // every dataset

  // Shape of a validated dataset (empty when the episode has no such dataset).
  std::vector<int64_t> Shape(const std::string& name) const {
    for (const auto& [dataset, shape] : shapes) {
      if (dataset == name) return shape;
    }
    return {};
  }
};

// Reads key list attribute `list` (absent = none), checking that each key is plain,
// unreserved and not in `seen`.
std::vector<std::string> ReadLabelKeys(hid_t group, const std::string& label, const char* list,
                                       std::set<std::string>* seen, const Site& site) {
  const std::string what = "attribute '" + std::string(list) + "' of " + label;
  if (!hdf5::HasAttribute(group, list, what, site)) return {};
  std::vector<std::string> keys = hdf5::ReadStringArrayAttribute(group, list, what, site);
  for (const std::string& key : keys) {
    if (!IsPlainName(key) || IsReservedAttribute(key) || !seen->insert(key).second) {
      site.Fail(what + " lists a bad, reserved or repeated key '" + key + "'");
    }
  }
  return keys;
}

// Reads the scalar and string labels listed in 'scalar_keys' and 'string_keys'.
void ReadLabels(hid_t group, EpisodeMeta* meta, const Site& site) {
  auto what = [&](const std::string& key, const char* list) {
    return "attribute '" + key + "' of " + meta->label + " (listed in '" + list + "')";
  };
  std::set<std::string> seen;
  for (const std::string& key : ReadLabelKeys(group, meta->label, "scalar_keys", &seen, site)) {
    meta->base.scalars[key] =
        ReadScalarAttribute<double>(group, key, what(key, "scalar_keys"), site);
  }
  for (const std::string& key : ReadLabelKeys(group, meta->label, "string_keys", &seen, site)) {
    meta->base.strings[key] = hdf5::ReadStringAttribute(group, key, what(key, "string_keys"), site);
  }
}

// Reads the attributes of an episode group into the fields of `meta`.
void ReadEpisodeAttributes(hid_t group, EpisodeMeta* meta, const Site& site) {
  auto what = [&](const char* name) {
    return "attribute '" + std::string(name) + "' of " + meta->label;
  };
  Episode& base = meta->base;
  base.seed = ReadScalarAttribute<uint64_t>(group, "seed", what("seed"), site);
  base.task = hdf5::ReadStringAttribute(group, "task", what("task"), site);
  base.info_keys = hdf5::ReadStringArrayAttribute(group, "info_keys", what("info_keys"), site);
  ReadScalarAttribute<double>(group, "return", what("return"), site);  // presence and type
  meta->length = ReadScalarAttribute<int64_t>(group, "length", what("length"), site);
  if (meta->length < 0) site.Fail(what("length") + " is negative");
  ReadLabels(group, meta, site);
}

// Validates the optional truth subgroup: the 'truth_names' attribute and one float64
// dataset of shape (T+1, ...) per name; records names, shapes and dataset shapes in order.
void ValidateTruth(hid_t group, EpisodeMeta* meta, const Site& site) {
  if (!hdf5::HasLink(group, meta->label, kTruthGroup, site)) return;
  const std::string truth_label = meta->label + "/" + kTruthGroup;
  Hid truth = hdf5::OpenGroup(group, kTruthGroup, "group " + truth_label, site);
  const std::string what = "attribute 'truth_names' of " + truth_label;
  const std::vector<std::string> names =
      hdf5::ReadStringArrayAttribute(truth.get(), "truth_names", what, site);
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (!IsPlainName(name) || !seen.insert(name).second) {
      site.Fail(what + " lists a bad or repeated name '" + name + "'");
    }
    const std::string path = std::string(kTruthGroup) + "/" + name;
    Hid dataset = hdf5::OpenDataset(group, meta->label, path, site);
    const size_t rank =
        hdf5::DatasetShape(dataset.get(), "dataset " + meta->label + "/" + path, site).size();
    std::vector<int64_t> expected(std::max<size_t>(rank, 1), hdf5::kAnyExtent);
    expected[0] = meta->length + 1;
    const std::vector<int64_t> shape =
        hdf5::ValidateDataset(group, meta->label, {path, Traits<double>::Info(), expected},
                              LengthNote(meta->length), site);
    meta->base.truth_names.push_back(name);
    meta->base.truth_shapes.emplace_back(shape.begin() + 1, shape.end());
    meta->shapes.emplace_back(path, shape);
  }
}

// Validates episode group k (attributes, datasets, shapes) and returns what it learned.
EpisodeMeta ValidateEpisodeGroup(hid_t file, int64_t k, const Site& site) {
  EpisodeMeta meta;
  meta.label = EpisodeLabel(k);
  Hid group = hdf5::OpenGroup(file, meta.label, "group " + meta.label, site);
  ReadEpisodeAttributes(group.get(), &meta, site);
  const int64_t t = meta.length;
  std::vector<DatasetSpec> specs =
      RequiredDatasets(t, static_cast<int64_t>(meta.base.info_keys.size()));
  if (hdf5::HasLink(group.get(), meta.label, "frames", site)) specs.push_back(FramesDataset(t));
  for (const DatasetSpec& spec : specs) {
    meta.shapes.emplace_back(
        spec.name, hdf5::ValidateDataset(group.get(), meta.label, spec, LengthNote(t), site));
  }
  Episode& base = meta.base;
  base.obs_dim = meta.Shape("observations")[1];
  base.act_dim = meta.Shape("actions")[1];
  base.state_dim = meta.Shape("states")[1];
  const std::vector<int64_t> frames = meta.Shape("frames");
  if (!frames.empty()) {
    if (frames[1] == 0 || frames[2] == 0) {
      site.Fail("dataset " + meta.label + "/frames has empty frames " + hdf5::FormatShape(frames));
    }
    base.frame_height = frames[1];
    base.frame_width = frames[2];
  }
  ValidateTruth(group.get(), &meta, site);
  for (const std::string& path : hdf5::DatasetPaths(group.get(), meta.label, site)) {
    const auto known = [&](const auto& entry) { return entry.first == path; };
    if (std::any_of(meta.shapes.begin(), meta.shapes.end(), known)) continue;
    Hid dataset = hdf5::OpenDataset(group.get(), meta.label, path, site);
    meta.shapes.emplace_back(
        path, hdf5::DatasetShape(dataset.get(), "dataset " + meta.label + "/" + path, site));
  }
  return meta;
}

// Reads the truth datasets of a validated episode into `episode->truth` (rows interleaved).
void ReadTruth(hid_t group, const EpisodeMeta& meta, Episode* episode, const Site& site) {
  const int64_t rows = meta.length + 1;
  const int64_t dim = episode->TruthDim();
  episode->truth.assign(static_cast<size_t>(rows * dim), 0.0);
  int64_t offset = 0;
  std::vector<double> field;
  for (size_t i = 0; i < episode->truth_names.size(); ++i) {
    const int64_t size = hdf5::NumElements(episode->truth_shapes[i]);
    const std::string path = std::string(kTruthGroup) + "/" + episode->truth_names[i];
    hdf5::ReadDataset(group, meta.label, path, rows * size, &field, site);
    for (int64_t row = 0; row < rows; ++row) {
      std::copy_n(field.begin() + row * size, size, episode->truth.begin() + row * dim + offset);
    }
    offset += size;
  }
}

// A 64-bit hash as 16 lowercase hex digits.
std::string HexHash(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// Reads and checks the root attributes.
EpisodeFileHeader ReadHeader(hid_t file, const Site& site) {
  auto what = [](const char* name) { return "root attribute '" + std::string(name) + "'"; };
  EpisodeFileHeader header;
  const auto version =
      ReadScalarAttribute<int64_t>(file, "format_version", what("format_version"), site);
  if (version != kEpisodeFormatVersion) {
    site.Fail("unsupported episode format_version " + std::to_string(version) +
              " (this build reads version " + std::to_string(kEpisodeFormatVersion) + ")");
  }
  header.format_version = static_cast<int>(version);
  header.task = hdf5::ReadStringAttribute(file, "task", what("task"), site);
  header.creator = hdf5::ReadStringAttribute(file, "creator", what("creator"), site);
  header.config_json = hdf5::ReadStringAttribute(file, "config", what("config"), site);
  header.content_hash =
      hdf5::ReadStringAttribute(file, "content_hash", what("content_hash"), site);
  return header;
}

}  // namespace

// =======================================================================================
// EpisodeWriter

struct EpisodeWriter::Impl {
  explicit Impl(std::string final_path)
      : path(std::move(final_path)),
        temp_path(TemporaryPathFor(path)),
        site(path, /*bad_input=*/false) {}
  // Runs under the HDF5 lock: an uncommitted file is closed and its temporary removed.
  ~Impl() {
    if (committed || !file_created) return;
    file.Close();
    std::remove(temp_path.c_str());
  }

  std::string path;       // final path
  std::string temp_path;  // TemporaryPathFor(path), renamed to `path` by Commit
  Site site;              // names `path` in errors
  Hid file;
  bool file_created = false;
  bool committed = false;
  bool compress = true;  // shuffle + gzip on the numeric datasets
  bool failed = false;  // an Append or Commit failed half-way: the file is unusable
  int64_t num_episodes = 0;
  int64_t num_steps = 0;
  Hasher content;  // over every appended episode, in order

  // Writes the totals, closes, syncs and renames the temporary file to `path`.
  void Publish() {
    WriteScalarAttribute<int64_t>(file.get(), "/", "total_episodes", num_episodes, site);
    WriteScalarAttribute<int64_t>(file.get(), "/", "total_steps", num_steps, site);
    hdf5::WriteStringAttribute(file.get(), "/", "content_hash", HexHash(content.Value()), site);
    site.Check(file.Close(), "cannot close temporary file " + temp_path);
    hdf5::SyncFile(temp_path, site);
    std::error_code error;
    fs::rename(temp_path, path, error);
    if (error) {
      Site(path, /*bad_input=*/true)
          .Fail("cannot rename " + temp_path + " into place: " + error.message());
    }
  }
};

EpisodeWriter::EpisodeWriter(const std::string& out_path, const EpisodeFileHeader& header,
                             const EpisodeWriterOptions& options) {
  // Never renamed over a device or FIFO; a symlink's target is written, the link kept.
  const std::string path = ResolveOutputFile(out_path, "episode file");
  auto lock = hdf5::Lock();
  if (header.format_version != kEpisodeFormatVersion) {
    throw std::invalid_argument("EpisodeWriter(" + path + "): this build writes format_version " +
                                std::to_string(kEpisodeFormatVersion) + " only");
  }
  auto impl = std::make_unique<Impl>(path);
  impl->compress = options.compress;
  const Site bad_path(path, /*bad_input=*/true);
  std::error_code error;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, error)) {
    bad_path.Fail("cannot create episode file: directory " + parent.string() + " does not exist");
  }
  if (fs::is_directory(path, error)) bad_path.Fail("is a directory");

  Hid file_props = hdf5::UntimedCreationProps(H5P_FILE_CREATE, impl->site);
  Hid access_props(impl->site.Check(H5Pcreate(H5P_FILE_ACCESS), "cannot create property list"),
                   H5Pclose);
  // HDF5 1.8 file format: checksummed metadata, so that a corrupt file is reported, not
  // followed into a crash; readable by every HDF5 since 1.8 (2008).
  impl->site.Check(H5Pset_libver_bounds(access_props.get(), H5F_LIBVER_V18, H5F_LIBVER_V18),
                   "cannot create property list");
  impl->site.Check(H5Pset_fclose_degree(access_props.get(), H5F_CLOSE_SEMI),
                   "cannot create property list");
  const hid_t file =
      H5Fcreate(impl->temp_path.c_str(), H5F_ACC_TRUNC, file_props.get(), access_props.get());
  if (file < 0) {
    bad_path.FailHdf5("cannot create episode file (temporary file " + impl->temp_path + ")");
  }
  impl->file = Hid(file, H5Fclose);
  impl->file_created = true;
  const Site& site = impl->site;
  WriteScalarAttribute<int32_t>(file, "/", "format_version", header.format_version, site);
  hdf5::WriteStringAttribute(file, "/", "task", header.task, site);
  hdf5::WriteStringAttribute(file, "/", "creator", header.creator, site);
  hdf5::WriteStringAttribute(file, "/", "config", header.config_json, site);
  impl_ = std::move(impl);
}

EpisodeWriter::~EpisodeWriter() {
  auto lock = hdf5::Lock();
  impl_.reset();
}

void EpisodeWriter::Append(const Episode& episode) {
  auto lock = hdf5::Lock();
  if (impl_->committed) throw std::logic_error("EpisodeWriter::Append after Commit");
  if (impl_->failed) throw std::logic_error("EpisodeWriter::Append after a failed write");
  CheckEpisodeBuffers(impl_->path, episode);
  try {
    WriteEpisodeGroup(impl_->file.get(), EpisodeLabel(impl_->num_episodes), episode, impl_->compress,
                      impl_->site);
  } catch (...) {
    impl_->failed = true;
    throw;
  }
  ++impl_->num_episodes;
  impl_->num_steps += episode.Length();
  episode.AddToHash(&impl_->content);
}

void EpisodeWriter::Commit() {
  auto lock = hdf5::Lock();
  if (impl_->committed) throw std::logic_error("EpisodeWriter::Commit called twice");
  if (impl_->failed) throw std::logic_error("EpisodeWriter::Commit after a failed write");
  try {
    impl_->Publish();
  } catch (...) {
    impl_->failed = true;
    throw;
  }
  impl_->committed = true;
}

// =======================================================================================
// EpisodeReader

struct EpisodeReader::Impl {
  explicit Impl(const std::string& file_path) : site(file_path, /*bad_input=*/true) {}

  Site site;  // names the file in errors (BadInput)
  Hid file;
  EpisodeFileHeader header;
  std::vector<EpisodeMeta> episodes;

  // The validated metadata of episode k, or BadInput when k is out of range.
  const EpisodeMeta& Meta(int64_t k) const {
    if (k < 0 || k >= static_cast<int64_t>(episodes.size())) {
      site.Fail("episode " + std::to_string(k) + " out of range (the file has " +
                std::to_string(episodes.size()) + " episodes)");
    }
    return episodes[static_cast<size_t>(k)];
  }
};

EpisodeReader::EpisodeReader(const std::string& path) {
  auto lock = hdf5::Lock();
  auto impl = std::make_unique<Impl>(path);
  const Site& site = impl->site;
  hdf5::CheckIsHdf5File(path, site);
  impl->file = Hid(site.Check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                              "cannot open HDF5 file (truncated or corrupt?)"),
                   H5Fclose);
  const hid_t file = impl->file.get();
  impl->header = ReadHeader(file, site);
  const auto total_episodes =
      ReadScalarAttribute<int64_t>(file, "total_episodes", "root attribute 'total_episodes'", site);
  const auto total_steps =
      ReadScalarAttribute<int64_t>(file, "total_steps", "root attribute 'total_steps'", site);
  if (total_episodes < 0) site.Fail("root attribute 'total_episodes' is negative");
  int64_t steps = 0;
  for (int64_t k = 0; k < total_episodes; ++k) {
    impl->episodes.push_back(ValidateEpisodeGroup(file, k, site));
    steps += impl->episodes.back().length;
  }
  if (steps != total_steps) {
    site.Fail("root attribute 'total_steps' is " + std::to_string(total_steps) +
              " but the episodes hold " + std::to_string(steps) + " steps");
  }
  impl_ = std::move(impl);
}

EpisodeReader::~EpisodeReader() {
  auto lock = hdf5::Lock();
  impl_.reset();
}

const EpisodeFileHeader& EpisodeReader::Header() const { return impl_->header; }

int64_t EpisodeReader::NumEpisodes() const { return static_cast<int64_t>(impl_->episodes.size()); }

Episode EpisodeReader::Read(int64_t k) const {
  auto lock = hdf5::Lock();
  const Site& site = impl_->site;
  const EpisodeMeta& meta = impl_->Meta(k);
  Episode episode = meta.base;
  Hid group = hdf5::OpenGroup(impl_->file.get(), meta.label, "group " + meta.label, site);
  const hid_t g = group.get();
  const std::string& label = meta.label;
  const int64_t t = meta.length;
  const auto num_keys = static_cast<int64_t>(episode.info_keys.size());
  hdf5::ReadDataset(g, label, "observations", (t + 1) * episode.obs_dim, &episode.observations,
                    site);
  hdf5::ReadDataset(g, label, "actions", t * episode.act_dim, &episode.actions, site);
  hdf5::ReadDataset(g, label, "rewards", t, &episode.rewards, site);
  hdf5::ReadDataset(g, label, "terminations", t, &episode.terminations, site);
  hdf5::ReadDataset(g, label, "truncations", t, &episode.truncations, site);
  hdf5::ReadDataset(g, label, "states", (t + 1) * episode.state_dim, &episode.states, site);
  hdf5::ReadDataset(g, label, "rng_states", (t + 1) * 4, &episode.rng_states, site);
  hdf5::ReadDataset(g, label, "elapsed_steps", t + 1, &episode.elapsed_steps, site);
  hdf5::ReadDataset(g, label, "infos", t * num_keys, &episode.infos, site);
  if (episode.frame_height > 0) {
    hdf5::ReadDataset(g, label, "frames", (t + 1) * episode.frame_height * episode.frame_width * 3,
                      &episode.frames, site);
  }
  ReadTruth(g, meta, &episode, site);
  return episode;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> EpisodeReader::DatasetShapes(
    int64_t k) const {
  auto lock = hdf5::Lock();
  return impl_->Meta(k).shapes;
}

}  // namespace darkmatter::sim
