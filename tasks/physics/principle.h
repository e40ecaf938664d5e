// The principles of intuitive physics that an impossible twin breaks.
#pragma once

#include <string>
#include <vector>

namespace darkmatter::tasks::physics {

enum class Principle {
  kNone,          // the possible twin
  kPermanence,    // an object vanishes while hidden
  kContinuity,    // an object jumps to another place without travelling
  kSolidity,      // an object passes through another
  kImmutability,  // an object changes shape, size or colour while hidden
  kGravity,       // an unsupported object hovers
};

// "none", "permanence", "continuity", "solidity", "immutability" or "gravity".
std::string PrincipleName(Principle principle);
// Inverse of PrincipleName; throws BadInput listing the names.
Principle ParsePrinciple(const std::string& name);

}  // namespace darkmatter::tasks::physics
