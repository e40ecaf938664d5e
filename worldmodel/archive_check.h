// Checks a checkpoint's zip container and pickles before LibTorch reads them. LibTorch 1.13
// allocates whatever sizes a damaged file claims (30 KB checkpoints found by fuzz_checkpoint made it
// allocate 4 GB and ask for 31 GB); these checks refuse such claims first. Torch-free.
#pragma once

#include <string>

namespace darkmatter::worldmodel {

// Returns "" when every zip entry's size fits the file (stored entries exactly, deflated
// ones within deflate's largest ratio), every length inside every stored .pkl entry fits
// the entry and every memo index it puts is below the entry's size (LibTorch sizes its memo
// to the largest index); otherwise what is wrong, in a few words.
std::string ArchiveProblem(const std::string& bytes);

}  // namespace darkmatter::worldmodel
