// Episode file sizes: stored against raw bytes per dataset (see episode_storage.h).
#include "sim/episode_storage.h"

#include <filesystem>

#include "sim/hdf5_io.h"

namespace darkmatter::sim {

EpisodeStorage MeasureEpisodeStorage(const std::string& path) {
  auto lock = hdf5::Lock();
  const hdf5::Site site(path, /*bad_input=*/true);
  hdf5::CheckIsHdf5File(path, site);
  EpisodeStorage storage;
  storage.file_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  hdf5::Hid file(site.Check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                            "cannot open HDF5 file (truncated or corrupt?)"),
                 H5Fclose);
  const auto episodes = hdf5::ReadScalarAttribute<int64_t>(
      file.get(), "total_episodes", "root attribute 'total_episodes'", site);
  for (int64_t k = 0; k < episodes; ++k) {
    const std::string label = "episode_" + std::to_string(k);
    hdf5::Hid group = hdf5::OpenGroup(file.get(), label, "group " + label, site);
    for (const std::string& name : hdf5::DatasetPaths(group.get(), label, site)) {
      const hdf5::DatasetBytes bytes = hdf5::DatasetSize(group.get(), label, name, site);
      StorageBytes& sum = storage.by_name[name];
      sum.stored += bytes.stored;
      sum.raw += bytes.raw;
      storage.datasets.stored += bytes.stored;
      storage.datasets.raw += bytes.raw;
    }
  }
  return storage;
}

}  // namespace darkmatter::sim
