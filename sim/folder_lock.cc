#include "sim/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sim/error.h"

namespace darkmatter::sim {

FolderLock::FolderLock(const std::string& dir, const std::string& what) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  const std::string path = (std::filesystem::path(dir) / ".lock").string();
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw BadInput("cannot lock folder '" + dir + "' (" + path + ": " + std::strerror(errno) + ")");
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    [[maybe_unused]] const ssize_t n = pread(fd_, holder, sizeof holder - 1, 0);
    close(fd_);
    fd_ = -1;
    throw BadInput("folder '" + dir + "' is in use by another " + what + " (process " +
                   std::string(holder[0] ? holder : "?") +
                   "); wait for it to finish or use another --out");
  }
  const std::string pid = std::to_string(::getpid());
  if (ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t n = pwrite(fd_, pid.data(), pid.size(), 0);
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) close(fd_);  // closing releases the flock
}

}  // namespace darkmatter::sim
