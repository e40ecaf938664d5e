// Checks on paths from outside before anything opens or replaces them: an input must be a
// regular file (opening a FIFO blocks forever, a device never ends), and an output is never
// renamed over something that is not a regular file (as root, `--out /dev/null` would replace
// the system's /dev/null). Torch-free; used by every reader and atomic writer.
#pragma once

#include <string>

namespace darkmatter::sim {

// Throws BadInput naming `what` (e.g. "episode file") and `path` unless `path` is, or is a
// symlink to, a regular file.
void RequireRegularFile(const std::string& path, const std::string& what);

// The file an atomic writer for `path` publishes into: `path` itself when it does not exist
// or is a regular file; the file a symlink points at (so the link stays a link). Throws
// BadInput naming `what` and `path` when that is a device, FIFO, socket or folder: it is never
// replaced.
std::string ResolveOutputFile(const std::string& path, const std::string& what);

}  // namespace darkmatter::sim
