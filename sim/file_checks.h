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

// The temporary file an atomic writer of `path` writes before renaming it into place:
// "<path>.tmp-<host>-<pid>" (the host keeps suite shards on a shared file system apart).
// First removes what killed writers of `path` left: temporaries of this host whose process
// is gone (also the older "<path>.tmp-<pid>" names).
std::string TemporaryPathFor(const std::string& path);

}  // namespace darkmatter::sim
