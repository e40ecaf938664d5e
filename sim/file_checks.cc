#include "sim/file_checks.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
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

// This machine's name, as it appears in temporary file names ("-" replaced).
std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "host";
  std::string host(name);
  for (char& c : host) {
    if (c == '-' || c == '/') c = '_';
  }
  return host;
}

// True when `text` is a process id of this machine with no process behind it.
bool IsDeadProcess(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const pid_t pid = static_cast<pid_t>(std::stol(text));
  return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

std::string TemporaryPathFor(const std::string& path) {
  const std::string host = HostName();
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + ".tmp-";
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    std::string owner = name.substr(prefix.size());  // "<host>-<pid>" or an older "<pid>"
    const size_t dash = owner.rfind('-');
    if (dash != std::string::npos) {
      if (owner.substr(0, dash) != host) continue;  // another machine's writer: not ours to judge
      owner = owner.substr(dash + 1);
    }
    std::error_code ignored;
    if (IsDeadProcess(owner) && it->is_regular_file(ignored)) fs::remove(it->path(), ignored);
  }
  return path + ".tmp-" + host + "-" + std::to_string(::getpid());
}

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
