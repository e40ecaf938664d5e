// Helpers shared by the fuzz targets: fuzz input as files, the way users hand them over.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace darkmatter::fuzz {

// A folder private to this process in /dev/shm (else $TMPDIR or /tmp), created once.
const std::string& ScratchDir();

// Writes `size` bytes to ScratchDir()/`name` (replacing it) and returns the path.
std::string WriteScratchFile(const std::string& name, const uint8_t* data, size_t size);

// Splits the input at each occurrence of `separator` (e.g. "\n--\n"), at most `max_parts`.
std::vector<std::string> SplitInput(const uint8_t* data, size_t size, const std::string& separator,
                                    size_t max_parts);

}  // namespace darkmatter::fuzz
