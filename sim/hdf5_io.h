// Internal helpers over the HDF5 C API: global lock, handles, errors, attributes, datasets.
//
// HDF5 builds need not be thread-safe: callers hold hdf5::Lock() around every HDF5 call,
// including the ones made by destructors of Hid. Nothing here takes the lock itself.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace darkmatter::sim::hdf5 {

inline constexpr int64_t kAnyExtent = -1;  // a dataset dimension that is not prescribed

// Takes the global HDF5 lock and silences HDF5's own error printing (we throw instead).
std::unique_lock<std::mutex> Lock();

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
std::string ErrorReason();

// Names the file in error messages. Reading errors are BadInput (the file is bad);
// writing errors are std::runtime_error (the machine failed us).
class Site {
 public:
  Site(std::string path, bool bad_input) : path_(std::move(path)), bad_input_(bad_input) {}

  // Throws "<path>: <what>".
  [[noreturn]] void Fail(const std::string& what) const;
  // Throws "<path>: <what> (HDF5: <reason>)" for a failed HDF5 call.
  [[noreturn]] void FailHdf5(const std::string& what) const;
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
// Element types, shapes, files.

// How an element type is stored in the file and described in messages.
struct TypeInfo {
  H5T_class_t type_class;
  size_t size;       // bytes
  bool is_signed;    // integers only
  const char* name;  // numpy-style name for messages
};

// File type (little-endian), memory type and description of element type T.
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
Hid FixedStringType(size_t size, const Site& site);
// Numpy-style description of an HDF5 type, e.g. "float32", "int64", "string".
std::string DescribeType(hid_t type);
// "(3, 4)"; kAnyExtent prints as "*".
std::string FormatShape(const std::vector<int64_t>& shape);
// Product of the extents (number of elements; 1 for a scalar).
int64_t NumElements(const std::vector<int64_t>& shape);
// A dataspace: scalar when `dims` is empty, simple otherwise.
Hid Dataspace(const std::vector<int64_t>& dims, const Site& site);
// Extents of a dataspace.
std::vector<int64_t> Extents(hid_t space, const Site& site, const std::string& what);
// An object-creation property list of class `cls` that records no timestamps, so that
// identical contents give identical files.
Hid UntimedCreationProps(hid_t cls, const Site& site);
// Creates group `name` in `parent` without timestamps; `what` names it in messages.
Hid CreateGroup(hid_t parent, const std::string& name, const std::string& what, const Site& site);
// Opens group `name` of `parent`, failing with "<what> is missing" when it is absent.
Hid OpenGroup(hid_t parent, const std::string& name, const std::string& what, const Site& site);
// Flushes a closed file's data to disk so that a rename publishes complete contents.
void SyncFile(const std::string& path, const Site& site);
// Checks that `path` names an existing HDF5 file before HDF5 is asked to open it.
void CheckIsHdf5File(const std::string& path, const Site& site);

// ---------------------------------------------------------------------------------------
// Writing.

// Creates attribute `name` on `obj` (described as `label`) with the given shape (scalar
// when empty) and writes `buffer` (skipped when the attribute has no elements).
void WriteAttribute(hid_t obj, const std::string& label, const std::string& name, hid_t file_type,
                    hid_t memory_type, const std::vector<int64_t>& dims, const void* buffer,
                    const Site& site);

// Writes a scalar numeric attribute.
template <typename T>
void WriteScalarAttribute(hid_t obj, const std::string& label, const std::string& name, T value,
                          const Site& site) {
  WriteAttribute(obj, label, name, Traits<T>::File(), Traits<T>::Memory(), {}, &value, site);
}

// Writes a 1-D array of fixed-length strings (a scalar string when `scalar`), each padded
// with NULs to the longest one (at least 1 byte).
void WriteStringsAttribute(hid_t obj, const std::string& label, const std::string& name,
                           const std::vector<std::string>& values, bool scalar, const Site& site);
// Writes a scalar fixed-length string attribute.
void WriteStringAttribute(hid_t obj, const std::string& label, const std::string& name,
                          const std::string& value, const Site& site);

// How a dataset is stored: contiguous when `chunk` is empty, otherwise chunked with that
// chunk shape; then HDF5's own shuffle filter (when `shuffle`) and gzip (when
// `gzip_level` > 0), both readable by any HDF5 reader (h5py included).
struct Storage {
  std::vector<int64_t> chunk;  // chunk shape, same rank as the dataset; empty = contiguous
  int gzip_level = 0;          // 0 = no gzip, 1..9 = deflate level
  bool shuffle = false;        // byte shuffle before gzip (helps floats and wide integers)
};

// Chunked, shuffled, gzip-compressed storage for a dataset of shape `dims` with elements of
// `element_size` bytes: chunks of whole rows of about `chunk_bytes`. Contiguous (no
// compression) when the dataset is smaller than `min_bytes` or has a zero extent, where
// compression does not pay.
Storage CompressedRows(const std::vector<int64_t>& dims, size_t element_size, int gzip_level,
                       int64_t min_bytes = 4096, int64_t chunk_bytes = 256 * 1024);

// Creates dataset `name` in `group` (described as `label`) with shape `dims` and writes
// `count` elements from `data`, stored as `storage` says.
void WriteDatasetRaw(hid_t group, const std::string& label, const std::string& name,
                     hid_t file_type, hid_t memory_type, const std::vector<int64_t>& dims,
                     const void* data, size_t count, const Site& site, const Storage& storage);

// Typed WriteDatasetRaw: writes `data` (row-major) as dataset `name` of shape `dims`.
template <typename T>
void WriteDataset(hid_t group, const std::string& label, const std::string& name,
                  const std::vector<int64_t>& dims, const std::vector<T>& data, const Site& site,
                  const Storage& storage = {}) {
  WriteDatasetRaw(group, label, name, Traits<T>::File(), Traits<T>::Memory(), dims, data.data(),
                  data.size(), site, storage);
}

// Bytes a dataset takes in the file (after compression) and its raw size (elements x
// element size), as `darkmatter info` reports them.
struct DatasetBytes {
  int64_t stored = 0;
  int64_t raw = 0;
};
// Stored and raw bytes of dataset `name` of `group`.
DatasetBytes DatasetSize(hid_t group, const std::string& label, const std::string& name,
                         const Site& site);

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

// True when `obj` has an attribute called `name`; `what` names it in messages.
bool HasAttribute(hid_t obj, const std::string& name, const std::string& what, const Site& site);
// Opens attribute `name` of `obj` and checks its type class; `what` names it in messages.
OpenedAttribute OpenAttribute(hid_t obj, const std::string& name, const std::string& what,
                              H5T_class_t type_class, const char* class_name, const Site& site);

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
                                     const Site& site);
// Reads a scalar string attribute.
std::string ReadStringAttribute(hid_t obj, const std::string& name, const std::string& what,
                                const Site& site);
// Reads a 1-D string array attribute.
std::vector<std::string> ReadStringArrayAttribute(hid_t obj, const std::string& name,
                                                  const std::string& what, const Site& site);

// An expected dataset: name, element type and shape (kAnyExtent = free).
struct DatasetSpec {
  std::string name;
  TypeInfo type;
  std::vector<int64_t> shape;
};

// True when `group` (described as `label`) has a link called `name`.
bool HasLink(hid_t group, const std::string& label, const std::string& name, const Site& site);
// Opens dataset `name` of `group`, failing with "dataset <label>/<name> is missing" when absent.
Hid OpenDataset(hid_t group, const std::string& label, const std::string& name, const Site& site);
// Shape of an open dataset.
std::vector<int64_t> DatasetShape(hid_t dataset, const std::string& what, const Site& site);
// Checks presence, element type and shape of a dataset; returns its actual shape. `note`
// is appended to a shape mismatch message (e.g. where an expected extent came from).
std::vector<int64_t> ValidateDataset(hid_t group, const std::string& label, const DatasetSpec& spec,
                                     const std::string& note, const Site& site);
// Paths (relative to `group`, in name order) of every dataset below `group`.
std::vector<std::string> DatasetPaths(hid_t group, const std::string& label, const Site& site);

// Reads a whole dataset of `count` elements of `memory_type` into `out`.
void ReadDatasetRaw(hid_t group, const std::string& label, const std::string& name,
                    hid_t memory_type, int64_t count, void* out, const Site& site);

// Typed ReadDatasetRaw: reads a whole dataset of `count` elements into `out`.
template <typename T>
void ReadDataset(hid_t group, const std::string& label, const std::string& name, int64_t count,
                 std::vector<T>* out, const Site& site) {
  out->assign(static_cast<size_t>(count), T{});
  ReadDatasetRaw(group, label, name, Traits<T>::Memory(), count, out->data(), site);
}

}  // namespace darkmatter::sim::hdf5
