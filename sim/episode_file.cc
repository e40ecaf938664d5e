// HDF5 episode files through the HDF5 C API. Layout: docs/episode-format.md.
//
// HDF5 builds need not be thread-safe: every HDF5 call in this file runs under one global
// mutex (LockHdf5), including the ones made by destructors of HDF5 handles.
#include "sim/episode_file.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <utility>

#include "sim/error.h"

namespace darkmatter::sim {
namespace {

namespace fs = std::filesystem;

constexpr int kFramesGzipLevel = 4;
constexpr int64_t kAnyExtent = -1;  // a dataset dimension that is not prescribed

// Takes the global HDF5 lock and silences HDF5's own error printing (we throw instead).
std::unique_lock<std::mutex> LockHdf5() {
  static std::mutex mutex;
  std::unique_lock<std::mutex> lock(mutex);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  return lock;
}

// Owns an HDF5 identifier and closes it with the matching H5?close function.
class Hid {
 public:
  using Closer = herr_t (*)(hid_t);
  Hid() = default;
  Hid(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Hid(Hid&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      Close();
      id_ = std::exchange(other.id_, -1);
      closer_ = other.closer_;
    }
    return *this;
  }
  ~Hid() { Close(); }

  // The raw identifier (negative when empty).
  hid_t get() const { return id_; }
  // Closes the identifier now; returns HDF5's status (0 when there was nothing to close).
  herr_t Close() {
    const herr_t status = id_ >= 0 ? closer_(id_) : 0;
    id_ = -1;
    return status;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// The innermost description on HDF5's error stack ("" when the stack is empty).
std::string Hdf5Reason() {
  std::string reason;
  auto keep_last = [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
    if (error->desc != nullptr && error->desc[0] != '\0') {
      *static_cast<std::string*>(data) = error->desc;
    }
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_last, &reason);
  return reason;
}

// Names the file in error messages. Reading errors are BadInput (the file is bad);
// writing errors are std::runtime_error (the machine failed us).
class Site {
 public:
  Site(std::string path, bool bad_input) : path_(std::move(path)), bad_input_(bad_input) {}

  // Throws "<path>: <what>".
  [[noreturn]] void Fail(const std::string& what) const {
    const std::string message = path_ + ": " + what;
    if (bad_input_) throw BadInput(message);
    throw std::runtime_error(message);
  }
  // Throws "<path>: <what> (HDF5: <reason>)" for a failed HDF5 call.
  [[noreturn]] void FailHdf5(const std::string& what) const {
    const std::string reason = Hdf5Reason();
    Fail(reason.empty() ? what : what + " (HDF5: " + reason + ")");
  }
  // Returns `result` of an HDF5 call, or throws naming `what` when it is negative.
  template <typename R>
  R Check(R result, const std::string& what) const {
    if (result < 0) FailHdf5(what);
    return result;
  }

 private:
  std::string path_;
  bool bad_input_;
};

// ---------------------------------------------------------------------------------------
// Element types.

// How an element type is stored in the file and described in messages.
struct TypeInfo {
  H5T_class_t type_class;
  size_t size;       // bytes
  bool is_signed;    // integers only
  const char* name;  // numpy-style name for messages
};

template <typename T>
struct Traits;
template <>
struct Traits<double> {
  static hid_t File() { return H5T_IEEE_F64LE; }
  static hid_t Memory() { return H5T_NATIVE_DOUBLE; }
  static TypeInfo Info() { return {H5T_FLOAT, 8, true, "float64"}; }
};
template <>
struct Traits<uint8_t> {
  static hid_t File() { return H5T_STD_U8LE; }
  static hid_t Memory() { return H5T_NATIVE_UINT8; }
  static TypeInfo Info() { return {H5T_INTEGER, 1, false, "uint8"}; }
};
template <>
struct Traits<int32_t> {
  static hid_t File() { return H5T_STD_I32LE; }
  static hid_t Memory() { return H5T_NATIVE_INT32; }
  static TypeInfo Info() { return {H5T_INTEGER, 4, true, "int32"}; }
};
template <>
struct Traits<int64_t> {
  static hid_t File() { return H5T_STD_I64LE; }
  static hid_t Memory() { return H5T_NATIVE_INT64; }
  static TypeInfo Info() { return {H5T_INTEGER, 8, true, "int64"}; }
};
template <>
struct Traits<uint64_t> {
  static hid_t File() { return H5T_STD_U64LE; }
  static hid_t Memory() { return H5T_NATIVE_UINT64; }
  static TypeInfo Info() { return {H5T_INTEGER, 8, false, "uint64"}; }
};

// Fixed-length, null-padded UTF-8 string type of `size` bytes (numpy "S<size>").
Hid FixedStringType(size_t size, const Site& site) {
  Hid type(site.Check(H5Tcopy(H5T_C_S1), "cannot create string type"), H5Tclose);
  site.Check(H5Tset_size(type.get(), size), "cannot create string type");
  site.Check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "cannot create string type");
  site.Check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot create string type");
  return type;
}

// Numpy-style description of an HDF5 type, e.g. "float32", "int64", "string".
std::string DescribeType(hid_t type) {
  const size_t bits = 8 * H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_STRING:
      return "string";
    default:
      return "HDF5 type class " + std::to_string(static_cast<int>(H5Tget_class(type)));
  }
}

// ---------------------------------------------------------------------------------------
// Shapes and property lists.

// "(3, 4)"; kAnyExtent prints as "*".
std::string FormatShape(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += shape[i] == kAnyExtent ? "*" : std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

// Product of the extents (number of elements).
int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t extent : shape) count *= extent;
  return count;
}

// A dataspace: scalar when `dims` is empty, simple otherwise.
Hid Dataspace(const std::vector<int64_t>& dims, const Site& site) {
  if (dims.empty()) {
    return Hid(site.Check(H5Screate(H5S_SCALAR), "cannot create dataspace"), H5Sclose);
  }
  const std::vector<hsize_t> extents(dims.begin(), dims.end());
  return Hid(site.Check(H5Screate_simple(static_cast<int>(extents.size()), extents.data(), nullptr),
                        "cannot create dataspace"),
             H5Sclose);
}

// Extents of a dataspace.
std::vector<int64_t> Extents(hid_t space, const Site& site, const std::string& what) {
  const int rank = site.Check(H5Sget_simple_extent_ndims(space), "cannot read shape of " + what);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  site.Check(H5Sget_simple_extent_dims(space, dims.data(), nullptr),
             "cannot read shape of " + what);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

// An object-creation property list of class `cls` that records no timestamps, so that
// identical episodes give identical files.
Hid UntimedCreationProps(hid_t cls, const Site& site) {
  Hid props(site.Check(H5Pcreate(cls), "cannot create property list"), H5Pclose);
  site.Check(H5Pset_obj_track_times(props.get(), 0), "cannot create property list");
  return props;
}

// ---------------------------------------------------------------------------------------
// Writing.

// Creates attribute `name` on `obj` with the given shape (scalar when empty) and writes
// `buffer` (skipped when the attribute has no elements).
void WriteAttribute(hid_t obj, const std::string& label, const std::string& name, hid_t file_type,
                    hid_t memory_type, const std::vector<int64_t>& dims, const void* buffer,
                    const Site& site) {
  const std::string what = "attribute '" + name + "' of " + label;
  Hid space = Dataspace(dims, site);
  Hid attribute(
      site.Check(H5Acreate2(obj, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                 "cannot create " + what),
      H5Aclose);
  if (NumElements(dims) == 0) return;
  site.Check(H5Awrite(attribute.get(), memory_type, buffer), "cannot write " + what);
}

// Writes a scalar numeric attribute.
template <typename T>
void WriteScalarAttribute(hid_t obj, const std::string& label, const std::string& name, T value,
                          const Site& site) {
  WriteAttribute(obj, label, name, Traits<T>::File(), Traits<T>::Memory(), {}, &value, site);
}

// Writes a 1-D array of fixed-length strings (a scalar string when `scalar`), each padded
// with NULs to the longest one (at least 1 byte).
void WriteStringsAttribute(hid_t obj, const std::string& label, const std::string& name,
                           const std::vector<std::string>& values, bool scalar, const Site& site) {
  size_t size = 1;
  for (const std::string& value : values) size = std::max(size, value.size());
  std::vector<char> buffer(values.size() * size, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    std::copy(values[i].begin(), values[i].end(), buffer.begin() + i * size);
  }
  Hid type = FixedStringType(size, site);
  const std::vector<int64_t> dims =
      scalar ? std::vector<int64_t>{} : std::vector<int64_t>{static_cast<int64_t>(values.size())};
  WriteAttribute(obj, label, name, type.get(), type.get(), dims, buffer.data(), site);
}

// Writes a scalar fixed-length string attribute.
void WriteStringAttribute(hid_t obj, const std::string& label, const std::string& name,
                          const std::string& value, const Site& site) {
  WriteStringsAttribute(obj, label, name, {value}, /*scalar=*/true, site);
}

// Creates dataset `name` in `group` with shape `dims` and writes `data` (row-major).
// Contiguous when `chunk` is empty; otherwise chunked with `chunk` and gzip-compressed.
template <typename T>
void WriteDataset(hid_t group, const std::string& label, const char* name,
                  const std::vector<int64_t>& dims, const std::vector<T>& data, const Site& site,
                  const std::vector<int64_t>& chunk = {}) {
  const std::string what = "dataset " + label + "/" + name;
  Hid props = UntimedCreationProps(H5P_DATASET_CREATE, site);
  if (!chunk.empty()) {
    const std::vector<hsize_t> chunk_dims(chunk.begin(), chunk.end());
    site.Check(H5Pset_chunk(props.get(), static_cast<int>(chunk_dims.size()), chunk_dims.data()),
               "cannot set chunking of " + what);
    site.Check(H5Pset_deflate(props.get(), kFramesGzipLevel), "cannot set gzip on " + what);
  }
  Hid space = Dataspace(dims, site);
  Hid dataset(site.Check(H5Dcreate2(group, name, Traits<T>::File(), space.get(), H5P_DEFAULT,
                                    props.get(), H5P_DEFAULT),
                         "cannot create " + what),
              H5Dclose);
  if (data.empty()) return;
  site.Check(
      H5Dwrite(dataset.get(), Traits<T>::Memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
      "cannot write " + what);
}

// Throws std::invalid_argument unless buffer `name` holds `expected` elements.
void CheckBufferSize(const std::string& path, const char* name, size_t actual, int64_t expected,
                     const std::string& formula) {
  if (static_cast<int64_t>(actual) == expected) return;
  throw std::invalid_argument("EpisodeWriter::Append(" + path + "): " + name + " has " +
                              std::to_string(actual) + " values, expected " + formula + " = " +
                              std::to_string(expected));
}

// Checks that every buffer of `episode` matches its length T and dimensions.
void CheckEpisodeBuffers(const std::string& path, const Episode& episode) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("EpisodeWriter::Append(" + path + "): " + what);
  };
  if (episode.obs_dim < 0 || episode.act_dim < 0 || episode.state_dim < 0 ||
      episode.frame_height < 0 || episode.frame_width < 0) {
    fail("negative dimension");
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
      fail("info key '" + key + "' is empty, contains '/' or is repeated");
    }
  }
  if (episode.frames.empty()) {
    if (episode.frame_height != 0 || episode.frame_width != 0) {
      fail("frame_height/frame_width must be 0 when frames is empty");
    }
    return;
  }
  if (episode.frame_height == 0 || episode.frame_width == 0) {
    fail("frames given but frame_height or frame_width is 0");
  }
  CheckBufferSize(path, "frames", episode.frames.size(),
                  (t + 1) * episode.frame_height * episode.frame_width * 3, "(T+1) x H x W x 3");
}

// Writes the attributes of an episode group (see docs/episode-format.md).
void WriteEpisodeAttributes(hid_t group, const std::string& label, const Episode& episode,
                            const Site& site) {
  WriteScalarAttribute<uint64_t>(group, label, "seed", episode.seed, site);
  WriteStringAttribute(group, label, "task", episode.task, site);
  WriteScalarAttribute<int64_t>(group, label, "length", episode.Length(), site);
  WriteScalarAttribute<double>(group, label, "return", episode.Return(), site);
  WriteStringsAttribute(group, label, "info_keys", episode.info_keys, /*scalar=*/false, site);
  for (const std::string& key : episode.info_keys) {
    WriteScalarAttribute<double>(group, label, "final_" + key, episode.FinalInfo(key), site);
    WriteScalarAttribute<uint8_t>(group, label, "any_" + key, episode.AnyInfo(key) ? 1 : 0, site);
  }
}

// Writes episode group `label` with its attributes and datasets.
void WriteEpisodeGroup(hid_t file, const std::string& label, const Episode& episode,
                       const Site& site) {
  Hid props = UntimedCreationProps(H5P_GROUP_CREATE, site);
  Hid group(site.Check(H5Gcreate2(file, label.c_str(), H5P_DEFAULT, props.get(), H5P_DEFAULT),
                       "cannot create group " + label),
            H5Gclose);
  const hid_t g = group.get();
  const int64_t t = episode.Length();
  const auto num_keys = static_cast<int64_t>(episode.info_keys.size());
  WriteEpisodeAttributes(g, label, episode, site);
  WriteDataset(g, label, "observations", {t + 1, episode.obs_dim}, episode.observations, site);
  WriteDataset(g, label, "actions", {t, episode.act_dim}, episode.actions, site);
  WriteDataset(g, label, "rewards", {t}, episode.rewards, site);
  WriteDataset(g, label, "terminations", {t}, episode.terminations, site);
  WriteDataset(g, label, "truncations", {t}, episode.truncations, site);
  WriteDataset(g, label, "states", {t + 1, episode.state_dim}, episode.states, site);
  WriteDataset(g, label, "rng_states", {t + 1, 4}, episode.rng_states, site);
  WriteDataset(g, label, "elapsed_steps", {t + 1}, episode.elapsed_steps, site);
  WriteDataset(g, label, "infos", {t, num_keys}, episode.infos, site);
  if (!episode.frames.empty()) {
    const int64_t h = episode.frame_height;
    const int64_t w = episode.frame_width;
    WriteDataset(g, label, "frames", {t + 1, h, w, 3}, episode.frames, site, {1, h, w, 3});
  }
}

// Flushes a closed file's data to disk so that the rename publishes complete contents.
void SyncFile(const std::string& path, const Site& site) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    site.Fail("cannot sync " + path + ": " + reason);
  }
  ::close(fd);
}

// ---------------------------------------------------------------------------------------
// Reading.

// An open attribute with its type and dataspace.
struct OpenedAttribute {
  Hid attribute;
  Hid type;
  Hid space;
  int rank = 0;
  int64_t num_elements = 0;
};

// Opens attribute `name` of `obj` and checks its type class; `what` names it in messages.
OpenedAttribute OpenAttribute(hid_t obj, const std::string& name, const std::string& what,
                              H5T_class_t type_class, const char* class_name, const Site& site) {
  if (site.Check(H5Aexists(obj, name.c_str()), "cannot read " + what) == 0) {
    site.Fail(what + " is missing");
  }
  OpenedAttribute opened;
  opened.attribute =
      Hid(site.Check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "cannot open " + what), H5Aclose);
  opened.type =
      Hid(site.Check(H5Aget_type(opened.attribute.get()), "cannot read " + what), H5Tclose);
  if (H5Tget_class(opened.type.get()) != type_class) {
    site.Fail(what + " has type " + DescribeType(opened.type.get()) + ", expected " + class_name);
  }
  opened.space =
      Hid(site.Check(H5Aget_space(opened.attribute.get()), "cannot read " + what), H5Sclose);
  opened.rank =
      site.Check(H5Sget_simple_extent_ndims(opened.space.get()), "cannot read shape of " + what);
  opened.num_elements =
      site.Check(H5Sget_simple_extent_npoints(opened.space.get()), "cannot read shape of " + what);
  return opened;
}

// Reads a scalar numeric attribute, converting to T (integer or float class required).
template <typename T>
T ReadScalarAttribute(hid_t obj, const std::string& name, const std::string& what,
                      const Site& site) {
  const TypeInfo info = Traits<T>::Info();
  const char* class_name = info.type_class == H5T_FLOAT ? "a float" : "an integer";
  OpenedAttribute opened = OpenAttribute(obj, name, what, info.type_class, class_name, site);
  if (opened.num_elements != 1) site.Fail(what + " is not a scalar");
  T value{};
  site.Check(H5Aread(opened.attribute.get(), Traits<T>::Memory(), &value), "cannot read " + what);
  return value;
}

// Reads every string of a fixed-length string attribute, dropping the NUL padding.
// Variable-length strings are refused: reading them from a corrupt file can crash HDF5.
std::vector<std::string> ReadStrings(const OpenedAttribute& opened, const std::string& what,
                                     const Site& site) {
  const hid_t type = opened.type.get();
  if (site.Check(H5Tis_variable_str(type), "cannot read " + what) > 0) {
    site.Fail(what + " is a variable-length string, expected fixed-length");
  }
  const auto count = static_cast<size_t>(opened.num_elements);
  std::vector<std::string> values;
  if (count == 0) return values;
  const size_t size = H5Tget_size(type);
  std::vector<char> buffer(count * size);
  site.Check(H5Aread(opened.attribute.get(), type, buffer.data()), "cannot read " + what);
  for (size_t i = 0; i < count; ++i) {
    const char* begin = buffer.data() + i * size;
    values.emplace_back(begin, strnlen(begin, size));
  }
  return values;
}

// Reads a scalar string attribute.
std::string ReadStringAttribute(hid_t obj, const std::string& name, const std::string& what,
                                const Site& site) {
  OpenedAttribute opened = OpenAttribute(obj, name, what, H5T_STRING, "a string", site);
  if (opened.num_elements != 1) site.Fail(what + " is not a scalar string");
  return ReadStrings(opened, what, site).front();
}

// Reads a 1-D string array attribute.
std::vector<std::string> ReadStringArrayAttribute(hid_t obj, const std::string& name,
                                                  const std::string& what, const Site& site) {
  OpenedAttribute opened = OpenAttribute(obj, name, what, H5T_STRING, "strings", site);
  if (opened.rank != 1) site.Fail(what + " is not a 1-D array of strings");
  return ReadStrings(opened, what, site);
}

// A dataset the layout requires: name, element type and shape (kAnyExtent = free).
struct DatasetSpec {
  const char* name;
  TypeInfo type;
  std::vector<int64_t> shape;
};

// The required datasets of an episode of `t` steps with `num_keys` info keys.
std::vector<DatasetSpec> RequiredDatasets(int64_t t, int64_t num_keys) {
  return {
      {"observations", Traits<double>::Info(), {t + 1, kAnyExtent}},
      {"actions", Traits<double>::Info(), {t, kAnyExtent}},
      {"rewards", Traits<double>::Info(), {t}},
      {"terminations", Traits<uint8_t>::Info(), {t}},
      {"truncations", Traits<uint8_t>::Info(), {t}},
      {"states", Traits<double>::Info(), {t + 1, kAnyExtent}},
      {"rng_states", Traits<uint64_t>::Info(), {t + 1, 4}},
      {"elapsed_steps", Traits<int64_t>::Info(), {t + 1}},
      {"infos", Traits<double>::Info(), {t, num_keys}},
  };
}

// The optional frames dataset of an episode of `t` steps.
DatasetSpec FramesDataset(int64_t t) {
  return {"frames", Traits<uint8_t>::Info(), {t + 1, kAnyExtent, kAnyExtent, 3}};
}

// True when `group` has a link called `name`.
bool HasLink(hid_t group, const std::string& label, const char* name, const Site& site) {
  const std::string what = label + "/" + name;
  return site.Check(H5Lexists(group, name, H5P_DEFAULT), "cannot look up " + what) > 0;
}

// Opens dataset `name` of `group`, failing with "<label>/<name> is missing" when absent.
Hid OpenDataset(hid_t group, const std::string& label, const char* name, const Site& site) {
  const std::string what = "dataset " + label + "/" + name;
  if (!HasLink(group, label, name, site)) site.Fail(what + " is missing");
  return Hid(site.Check(H5Dopen2(group, name, H5P_DEFAULT), "cannot open " + what), H5Dclose);
}

// Shape of an open dataset.
std::vector<int64_t> DatasetShape(hid_t dataset, const std::string& what, const Site& site) {
  Hid space(site.Check(H5Dget_space(dataset), "cannot read shape of " + what), H5Sclose);
  return Extents(space.get(), site, what);
}

// Checks presence, element type and shape of a dataset; returns its actual shape.
std::vector<int64_t> ValidateDataset(hid_t group, const std::string& label, const DatasetSpec& spec,
                                     int64_t t, const Site& site) {
  const std::string what = "dataset " + label + "/" + spec.name;
  Hid dataset = OpenDataset(group, label, spec.name, site);
  Hid type(site.Check(H5Dget_type(dataset.get()), "cannot read type of " + what), H5Tclose);
  const bool is_integer = spec.type.type_class == H5T_INTEGER;
  if (H5Tget_class(type.get()) != spec.type.type_class ||
      H5Tget_size(type.get()) != spec.type.size ||
      (is_integer && (H5Tget_sign(type.get()) != H5T_SGN_NONE) != spec.type.is_signed)) {
    site.Fail(what + " has dtype " + DescribeType(type.get()) + ", expected " + spec.type.name);
  }
  const std::vector<int64_t> shape = DatasetShape(dataset.get(), what, site);
  bool matches = shape.size() == spec.shape.size();
  for (size_t i = 0; matches && i < shape.size(); ++i) {
    matches = spec.shape[i] == kAnyExtent || spec.shape[i] == shape[i];
  }
  if (!matches) {
    site.Fail(what + " has shape " + FormatShape(shape) + ", expected " + FormatShape(spec.shape) +
              " (T = " + std::to_string(t) + " from attribute 'length')");
  }
  return shape;
}

// Paths (relative to `group`, in name order) of every dataset below `group`.
std::vector<std::string> DatasetPaths(hid_t group, const std::string& label, const Site& site) {
  std::vector<std::string> paths;
  auto collect = [](hid_t parent, const char* name, const H5L_info_t* info, void* data) -> herr_t {
    if (info->type != H5L_TYPE_HARD) return 0;
    const hid_t object = H5Oopen(parent, name, H5P_DEFAULT);
    if (object < 0) return -1;
    if (H5Iget_type(object) == H5I_DATASET) {
      static_cast<std::vector<std::string>*>(data)->push_back(name);
    }
    return H5Oclose(object);
  };
  site.Check(H5Lvisit(group, H5_INDEX_NAME, H5_ITER_INC, collect, &paths),
             "cannot list the datasets of " + label);
  return paths;
}

// Reads a whole dataset of `count` elements into `out`.
template <typename T>
void ReadDataset(hid_t group, const std::string& label, const char* name, int64_t count,
                 std::vector<T>* out, const Site& site) {
  Hid dataset = OpenDataset(group, label, name, site);
  out->assign(static_cast<size_t>(count), T{});
  if (count == 0) return;
  site.Check(
      H5Dread(dataset.get(), Traits<T>::Memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()),
      "cannot read dataset " + label + "/" + name + " (truncated or corrupt?)");
}

// Group name of episode k.
std::string EpisodeLabel(int64_t k) { return "episode_" + std::to_string(k); }

// Everything validated about one episode when the file is opened.
struct EpisodeMeta {
  std::string label;   // group name, "episode_<k>"
  int64_t length = 0;  // T
  Episode scalars;     // task, seed, dims, info keys, frame size; buffers empty
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;  // every dataset

  // Shape of a validated dataset (empty when the episode has no such dataset).
  std::vector<int64_t> Shape(const std::string& name) const {
    for (const auto& [dataset, shape] : shapes) {
      if (dataset == name) return shape;
    }
    return {};
  }
};

// Opens episode group `label`, failing when it is missing.
Hid OpenGroup(hid_t file, const std::string& label, const Site& site) {
  if (!HasLink(file, "", label.c_str(), site)) site.Fail("group " + label + " is missing");
  return Hid(site.Check(H5Gopen2(file, label.c_str(), H5P_DEFAULT), "cannot open " + label),
             H5Gclose);
}

// Reads the attributes of an episode group into the scalar fields of `meta`.
void ReadEpisodeAttributes(hid_t group, EpisodeMeta* meta, const Site& site) {
  auto what = [&](const char* name) {
    return "attribute '" + std::string(name) + "' of " + meta->label;
  };
  Episode& scalars = meta->scalars;
  scalars.seed = ReadScalarAttribute<uint64_t>(group, "seed", what("seed"), site);
  scalars.task = ReadStringAttribute(group, "task", what("task"), site);
  scalars.info_keys = ReadStringArrayAttribute(group, "info_keys", what("info_keys"), site);
  ReadScalarAttribute<double>(group, "return", what("return"), site);  // presence and type
  meta->length = ReadScalarAttribute<int64_t>(group, "length", what("length"), site);
  if (meta->length < 0) site.Fail(what("length") + " is negative");
}

// Validates episode group k (attributes, datasets, shapes) and returns what it learned.
EpisodeMeta ValidateEpisodeGroup(hid_t file, int64_t k, const Site& site) {
  EpisodeMeta meta;
  meta.label = EpisodeLabel(k);
  Hid group = OpenGroup(file, meta.label, site);
  ReadEpisodeAttributes(group.get(), &meta, site);
  const int64_t t = meta.length;
  std::vector<DatasetSpec> specs =
      RequiredDatasets(t, static_cast<int64_t>(meta.scalars.info_keys.size()));
  if (HasLink(group.get(), meta.label, "frames", site)) specs.push_back(FramesDataset(t));
  for (const DatasetSpec& spec : specs) {
    meta.shapes.emplace_back(spec.name, ValidateDataset(group.get(), meta.label, spec, t, site));
  }
  Episode& scalars = meta.scalars;
  scalars.obs_dim = meta.Shape("observations")[1];
  scalars.act_dim = meta.Shape("actions")[1];
  scalars.state_dim = meta.Shape("states")[1];
  const std::vector<int64_t> frames = meta.Shape("frames");
  if (!frames.empty()) {
    if (frames[1] == 0 || frames[2] == 0) {
      site.Fail("dataset " + meta.label + "/frames has empty frames " + FormatShape(frames));
    }
    scalars.frame_height = frames[1];
    scalars.frame_width = frames[2];
  }
  for (const std::string& path : DatasetPaths(group.get(), meta.label, site)) {
    const auto known = [&](const auto& entry) { return entry.first == path; };
    if (std::any_of(meta.shapes.begin(), meta.shapes.end(), known)) continue;
    Hid dataset = OpenDataset(group.get(), meta.label, path.c_str(), site);
    meta.shapes.emplace_back(
        path, DatasetShape(dataset.get(), "dataset " + meta.label + "/" + path, site));
  }
  return meta;
}

// Checks that `path` names an existing HDF5 file before HDF5 is asked to open it.
void CheckIsHdf5File(const std::string& path, const Site& site) {
  std::error_code error;
  if (!fs::exists(path, error)) site.Fail("no such file");
  if (fs::is_directory(path, error)) site.Fail("is a directory, not an episode file");
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 < 0) site.FailHdf5("cannot read the file");
  if (is_hdf5 == 0) site.Fail("not an HDF5 file (truncated or corrupt?)");
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
  header.task = ReadStringAttribute(file, "task", what("task"), site);
  header.creator = ReadStringAttribute(file, "creator", what("creator"), site);
  header.config_json = ReadStringAttribute(file, "config", what("config"), site);
  return header;
}

}  // namespace

// =======================================================================================
// EpisodeWriter

struct EpisodeWriter::Impl {
  explicit Impl(std::string final_path)
      : path(std::move(final_path)),
        temp_path(path + ".tmp-" + std::to_string(::getpid())),
        site(path, /*bad_input=*/false) {}
  // Runs under the HDF5 lock: an uncommitted file is closed and its temporary removed.
  ~Impl() {
    if (committed || !file_created) return;
    file.Close();
    std::remove(temp_path.c_str());
  }

  std::string path;       // final path
  std::string temp_path;  // "<path>.tmp-<pid>", renamed to `path` by Commit
  Site site;              // names `path` in errors
  Hid file;
  bool file_created = false;
  bool committed = false;
  bool failed = false;  // an Append or Commit failed half-way: the file is unusable
  int64_t num_episodes = 0;
  int64_t num_steps = 0;

  // Writes the totals, closes, syncs and renames the temporary file to `path`.
  void Publish() {
    WriteScalarAttribute<int64_t>(file.get(), "/", "total_episodes", num_episodes, site);
    WriteScalarAttribute<int64_t>(file.get(), "/", "total_steps", num_steps, site);
    site.Check(file.Close(), "cannot close temporary file " + temp_path);
    SyncFile(temp_path, site);
    std::error_code error;
    fs::rename(temp_path, path, error);
    if (error) {
      Site(path, /*bad_input=*/true)
          .Fail("cannot rename " + temp_path + " into place: " + error.message());
    }
  }
};

EpisodeWriter::EpisodeWriter(const std::string& path, const EpisodeFileHeader& header) {
  auto lock = LockHdf5();
  if (header.format_version != kEpisodeFormatVersion) {
    throw std::invalid_argument("EpisodeWriter(" + path + "): this build writes format_version " +
                                std::to_string(kEpisodeFormatVersion) + " only");
  }
  auto impl = std::make_unique<Impl>(path);
  const Site bad_path(path, /*bad_input=*/true);
  std::error_code error;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, error)) {
    bad_path.Fail("cannot create episode file: directory " + parent.string() + " does not exist");
  }
  if (fs::is_directory(path, error)) bad_path.Fail("is a directory");

  Hid file_props = UntimedCreationProps(H5P_FILE_CREATE, impl->site);
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
  WriteStringAttribute(file, "/", "task", header.task, site);
  WriteStringAttribute(file, "/", "creator", header.creator, site);
  WriteStringAttribute(file, "/", "config", header.config_json, site);
  impl_ = std::move(impl);
}

EpisodeWriter::~EpisodeWriter() {
  auto lock = LockHdf5();
  impl_.reset();
}

void EpisodeWriter::Append(const Episode& episode) {
  auto lock = LockHdf5();
  if (impl_->committed) throw std::logic_error("EpisodeWriter::Append after Commit");
  if (impl_->failed) throw std::logic_error("EpisodeWriter::Append after a failed write");
  CheckEpisodeBuffers(impl_->path, episode);
  try {
    WriteEpisodeGroup(impl_->file.get(), EpisodeLabel(impl_->num_episodes), episode, impl_->site);
  } catch (...) {
    impl_->failed = true;
    throw;
  }
  ++impl_->num_episodes;
  impl_->num_steps += episode.Length();
}

void EpisodeWriter::Commit() {
  auto lock = LockHdf5();
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
  auto lock = LockHdf5();
  auto impl = std::make_unique<Impl>(path);
  const Site& site = impl->site;
  CheckIsHdf5File(path, site);
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
  auto lock = LockHdf5();
  impl_.reset();
}

const EpisodeFileHeader& EpisodeReader::Header() const { return impl_->header; }

int64_t EpisodeReader::NumEpisodes() const { return static_cast<int64_t>(impl_->episodes.size()); }

Episode EpisodeReader::Read(int64_t k) const {
  auto lock = LockHdf5();
  const Site& site = impl_->site;
  const EpisodeMeta& meta = impl_->Meta(k);
  Episode episode = meta.scalars;
  Hid group = OpenGroup(impl_->file.get(), meta.label, site);
  const hid_t g = group.get();
  const std::string& label = meta.label;
  const int64_t t = meta.length;
  const auto num_keys = static_cast<int64_t>(episode.info_keys.size());
  ReadDataset(g, label, "observations", (t + 1) * episode.obs_dim, &episode.observations, site);
  ReadDataset(g, label, "actions", t * episode.act_dim, &episode.actions, site);
  ReadDataset(g, label, "rewards", t, &episode.rewards, site);
  ReadDataset(g, label, "terminations", t, &episode.terminations, site);
  ReadDataset(g, label, "truncations", t, &episode.truncations, site);
  ReadDataset(g, label, "states", (t + 1) * episode.state_dim, &episode.states, site);
  ReadDataset(g, label, "rng_states", (t + 1) * 4, &episode.rng_states, site);
  ReadDataset(g, label, "elapsed_steps", t + 1, &episode.elapsed_steps, site);
  ReadDataset(g, label, "infos", t * num_keys, &episode.infos, site);
  if (episode.frame_height > 0) {
    ReadDataset(g, label, "frames", (t + 1) * episode.frame_height * episode.frame_width * 3,
                &episode.frames, site);
  }
  return episode;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> EpisodeReader::DatasetShapes(
    int64_t k) const {
  auto lock = LockHdf5();
  return impl_->Meta(k).shapes;
}

}  // namespace darkmatter::sim
