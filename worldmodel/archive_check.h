// Checks a checkpoint's zip container and pickles before LibTorch reads them. LibTorch 1.13
// allocates whatever sizes a damaged file claims (a 30 KB checkpoint made it allocate 4 GB,
// found by fuzz_checkpoint); these checks refuse such claims first. Torch-free.
#pragma once

#include <string>

namespace darkmatter::worldmodel {

// Returns "" when every zip entry's size fits the file (stored entries exactly, deflated
// ones within deflate's largest ratio) and every length inside every stored .pkl entry fits
// the entry; otherwise what is wrong, in a few words.
std::string ArchiveProblem(const std::string& bytes);

}  // namespace darkmatter::worldmodel
