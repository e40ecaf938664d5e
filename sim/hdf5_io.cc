// Internal helpers over the HDF5 C API (see hdf5_io.h). Callers hold hdf5::Lock().
#include "sim/hdf5_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "sim/error.h"
#include "sim/utf8.h"

namespace darkmatter::sim::hdf5 {

namespace fs = std::filesystem;

std::unique_lock<std::mutex> Lock() {
  static std::mutex mutex;
  // Before HDF5's first call: no clean-up at exit. Every file is closed by its owner; after a
  // failed close (a full disk), HDF5 1.10's exit handler would re-close it and crash.
  static const bool no_atexit = (H5dont_atexit(), true);
  (void)no_atexit;
  std::unique_lock<std::mutex> lock(mutex);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  return lock;
}

std::string ErrorReason() {
  std::string reason;
  auto keep_last = [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
    if (error->desc != nullptr && error->desc[0] != '\0') {
      *static_cast<std::string*>(data) = error->desc;
    }
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_last, &reason);
  std::replace(reason.begin(), reason.end(), '\n', ' ');  // one line in the CLI's message
  return reason;
}

void Site::Fail(const std::string& what) const {
  const std::string message = path_ + ": " + what;
  if (bad_input_) throw BadInput(message);
  throw std::runtime_error(message);
}

void Site::FailHdf5(const std::string& what) const {
  const std::string reason = ErrorReason();
  Fail(reason.empty() ? what : what + " (HDF5: " + reason + ")");
}

// ---------------------------------------------------------------------------------------
// Element types, shapes, files.

Hid FixedStringType(size_t size, const Site& site) {
  Hid type(site.Check(H5Tcopy(H5T_C_S1), "cannot create string type"), H5Tclose);
  site.Check(H5Tset_size(type.get(), size), "cannot create string type");
  site.Check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "cannot create string type");
  site.Check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot create string type");
  return type;
}

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

std::string FormatShape(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += shape[i] == kAnyExtent ? "*" : std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t extent : shape) count *= extent;
  return count;
}

Hid Dataspace(const std::vector<int64_t>& dims, const Site& site) {
  if (dims.empty()) {
    return Hid(site.Check(H5Screate(H5S_SCALAR), "cannot create dataspace"), H5Sclose);
  }
  const std::vector<hsize_t> extents(dims.begin(), dims.end());
  return Hid(site.Check(H5Screate_simple(static_cast<int>(extents.size()), extents.data(), nullptr),
                        "cannot create dataspace"),
             H5Sclose);
}

std::vector<int64_t> Extents(hid_t space, const Site& site, const std::string& what) {
  const int rank = site.Check(H5Sget_simple_extent_ndims(space), "cannot read shape of " + what);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  site.Check(H5Sget_simple_extent_dims(space, dims.data(), nullptr),
             "cannot read shape of " + what);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

Hid UntimedCreationProps(hid_t cls, const Site& site) {
  Hid props(site.Check(H5Pcreate(cls), "cannot create property list"), H5Pclose);
  site.Check(H5Pset_obj_track_times(props.get(), 0), "cannot create property list");
  return props;
}

Hid CreateGroup(hid_t parent, const std::string& name, const std::string& what, const Site& site) {
  Hid props = UntimedCreationProps(H5P_GROUP_CREATE, site);
  return Hid(site.Check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, props.get(), H5P_DEFAULT),
                        "cannot create " + what),
             H5Gclose);
}

Hid OpenGroup(hid_t parent, const std::string& name, const std::string& what, const Site& site) {
  if (site.Check(H5Lexists(parent, name.c_str(), H5P_DEFAULT), "cannot look up " + name) <= 0) {
    site.Fail(what + " is missing");
  }
  return Hid(site.Check(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), "cannot open " + what),
             H5Gclose);
}

void SyncFile(const std::string& path, const Site& site) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    site.Fail("cannot sync " + path + ": " + reason);
  }
  ::close(fd);
}

void CheckIsHdf5File(const std::string& path, const Site& site) {
  std::error_code error;
  if (!fs::exists(path, error)) site.Fail("no such file");
  if (fs::is_directory(path, error)) site.Fail("is a directory, not an episode file");
  // Opening a FIFO would block forever and a device never ends: only regular files are read.
  if (!fs::is_regular_file(path, error)) site.Fail("is not a regular file (a device or FIFO?)");
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 < 0) site.FailHdf5("cannot read the file");
  if (is_hdf5 == 0) site.Fail("not an HDF5 file (truncated or corrupt?)");
}

// ---------------------------------------------------------------------------------------
// Writing.

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

void WriteStringAttribute(hid_t obj, const std::string& label, const std::string& name,
                          const std::string& value, const Site& site) {
  WriteStringsAttribute(obj, label, name, {value}, /*scalar=*/true, site);
}

Storage CompressedRows(const std::vector<int64_t>& dims, size_t element_size, int gzip_level,
                       int64_t min_bytes, int64_t chunk_bytes) {
  if (dims.empty() || gzip_level <= 0) return {};
  for (int64_t extent : dims) {
    if (extent <= 0) return {};
  }
  const int64_t bytes = NumElements(dims) * static_cast<int64_t>(element_size);
  if (bytes < min_bytes) return {};
  const int64_t row_bytes = bytes / dims[0];
  Storage storage;
  storage.chunk = dims;
  storage.chunk[0] = std::clamp<int64_t>(chunk_bytes / std::max<int64_t>(row_bytes, 1), 1, dims[0]);
  storage.gzip_level = gzip_level;
  storage.shuffle = element_size > 1;
  return storage;
}

void WriteDatasetRaw(hid_t group, const std::string& label, const std::string& name,
                     hid_t file_type, hid_t memory_type, const std::vector<int64_t>& dims,
                     const void* data, size_t count, const Site& site, const Storage& storage) {
  const std::string what = "dataset " + label + "/" + name;
  Hid props = UntimedCreationProps(H5P_DATASET_CREATE, site);
  if (!storage.chunk.empty()) {
    const std::vector<hsize_t> chunk_dims(storage.chunk.begin(), storage.chunk.end());
    site.Check(H5Pset_chunk(props.get(), static_cast<int>(chunk_dims.size()), chunk_dims.data()),
               "cannot set chunking of " + what);
  }
  if (storage.shuffle) {
    site.Check(H5Pset_shuffle(props.get()), "cannot set shuffle on " + what);
  }
  if (storage.gzip_level > 0) {
    site.Check(H5Pset_deflate(props.get(), static_cast<unsigned>(storage.gzip_level)),
               "cannot set gzip on " + what);
  }
  Hid space = Dataspace(dims, site);
  Hid dataset(site.Check(H5Dcreate2(group, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                    props.get(), H5P_DEFAULT),
                         "cannot create " + what),
              H5Dclose);
  if (count == 0) return;
  site.Check(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
             "cannot write " + what);
}

// ---------------------------------------------------------------------------------------
// Reading.

bool HasAttribute(hid_t obj, const std::string& name, const std::string& what, const Site& site) {
  return site.Check(H5Aexists(obj, name.c_str()), "cannot read " + what) > 0;
}

OpenedAttribute OpenAttribute(hid_t obj, const std::string& name, const std::string& what,
                              H5T_class_t type_class, const char* class_name, const Site& site) {
  if (!HasAttribute(obj, name, what, site)) site.Fail(what + " is missing");
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
    if (!IsValidUtf8(values.back())) site.Fail(what + " is not UTF-8 text");
  }
  return values;
}

std::string ReadStringAttribute(hid_t obj, const std::string& name, const std::string& what,
                                const Site& site) {
  OpenedAttribute opened = OpenAttribute(obj, name, what, H5T_STRING, "a string", site);
  if (opened.num_elements != 1) site.Fail(what + " is not a scalar string");
  return ReadStrings(opened, what, site).front();
}

std::vector<std::string> ReadStringArrayAttribute(hid_t obj, const std::string& name,
                                                  const std::string& what, const Site& site) {
  OpenedAttribute opened = OpenAttribute(obj, name, what, H5T_STRING, "strings", site);
  if (opened.rank != 1) site.Fail(what + " is not a 1-D array of strings");
  return ReadStrings(opened, what, site);
}

bool HasLink(hid_t group, const std::string& label, const std::string& name, const Site& site) {
  const std::string what = label + "/" + name;
  return site.Check(H5Lexists(group, name.c_str(), H5P_DEFAULT), "cannot look up " + what) > 0;
}

Hid OpenDataset(hid_t group, const std::string& label, const std::string& name, const Site& site) {
  const std::string what = "dataset " + label + "/" + name;
  if (!HasLink(group, label, name, site)) site.Fail(what + " is missing");
  return Hid(site.Check(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "cannot open " + what),
             H5Dclose);
}

std::vector<int64_t> DatasetShape(hid_t dataset, const std::string& what, const Site& site) {
  Hid space(site.Check(H5Dget_space(dataset), "cannot read shape of " + what), H5Sclose);
  return Extents(space.get(), site, what);
}

std::vector<int64_t> ValidateDataset(hid_t group, const std::string& label, const DatasetSpec& spec,
                                     const std::string& note, const Site& site) {
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
              note);
  }
  return shape;
}

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

DatasetBytes DatasetSize(hid_t group, const std::string& label, const std::string& name,
                         const Site& site) {
  const std::string what = "dataset " + label + "/" + name;
  Hid dataset = OpenDataset(group, label, name, site);
  Hid type(site.Check(H5Dget_type(dataset.get()), "cannot read type of " + what), H5Tclose);
  DatasetBytes bytes;
  bytes.raw = NumElements(DatasetShape(dataset.get(), what, site)) *
              static_cast<int64_t>(H5Tget_size(type.get()));
  bytes.stored = static_cast<int64_t>(H5Dget_storage_size(dataset.get()));
  return bytes;
}

void ReadDatasetRaw(hid_t group, const std::string& label, const std::string& name,
                    hid_t memory_type, int64_t count, void* out, const Site& site) {
  Hid dataset = OpenDataset(group, label, name, site);
  if (count == 0) return;
  site.Check(H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
             "cannot read dataset " + label + "/" + name + " (truncated or corrupt?)");
}

}  // namespace darkmatter::sim::hdf5
