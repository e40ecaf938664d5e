#include "tasks/physics/principle.h"

#include <array>
#include <utility>

#include "sim/error.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr std::array<std::pair<Principle, const char*>, 6> kNames = {{
    {Principle::kNone, "none"},
    {Principle::kPermanence, "permanence"},
    {Principle::kContinuity, "continuity"},
    {Principle::kSolidity, "solidity"},
    {Principle::kImmutability, "immutability"},
    {Principle::kGravity, "gravity"},
}};

}  // namespace

std::string PrincipleName(Principle principle) {
  for (const auto& [value, name] : kNames) {
    if (value == principle) return name;
  }
  return "unknown";
}

Principle ParsePrinciple(const std::string& text) {
  std::string known;
  for (const auto& [value, name] : kNames) {
    if (text == name) return value;
    known += (known.empty() ? "" : ", ") + std::string(name);
  }
  throw sim::BadInput("unknown principle '" + text + "' (expected " + known + ")");
}

}  // namespace darkmatter::tasks::physics
