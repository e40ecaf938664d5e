// An exclusive claim on a folder for one process (flock on DIR/.lock): two suites writing one
// output folder would run the same cells side by side and trip over each other's files.
#pragma once

#include <string>

namespace darkmatter::sim {

// Holds DIR/.lock locked while it lives; the lock also ends when the process dies (kill -9
// included), so a stale lock never blocks a rerun.
class FolderLock {
 public:
  // Creates `dir` if needed and locks it. Throws BadInput naming `dir` and the holder's process
  // id when another process holds it (`what` names the job, e.g. "suite").
  FolderLock(const std::string& dir, const std::string& what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace darkmatter::sim
