#include "sim/file_checks.h"

#include <filesystem>

#include "sim/error.h"

namespace darkmatter::sim {
namespace {

namespace fs = std::filesystem;

// What a non-regular file is, in words.
std::string Kind(const fs::file_status& status) {
  switch (status.type()) {
    case fs::file_type::directory: return "a folder";
    case fs::file_type::character: return "a character device";
    case fs::file_type::block: return "a block device";
    case fs::file_type::fifo: return "a FIFO";
    case fs::file_type::socket: return "a socket";
    default: return "not a regular file";
  }
}

}  // namespace

void RequireRegularFile(const std::string& path, const std::string& what) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) throw BadInput(what + " '" + path + "': no such file");
  if (!fs::is_regular_file(status)) {
    throw BadInput(what + " '" + path + "' is " + Kind(status) + ", not a regular file");
  }
}

std::string ResolveOutputFile(const std::string& path, const std::string& what) {
  std::error_code error;
  fs::path target(path);
  if (fs::is_symlink(fs::symlink_status(target, error))) {
    const fs::path resolved = fs::weakly_canonical(target, error);
    if (error) throw BadInput(what + " '" + path + "': cannot follow the symlink: " + error.message());
    target = resolved;
  }
  const fs::file_status status = fs::status(target, error);
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    throw BadInput(what + " '" + path + "' is " + Kind(status) +
                   "; refusing to replace it (outputs are regular files)");
  }
  return target.string();
}

}  // namespace darkmatter::sim
