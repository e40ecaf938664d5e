// Seed options (--seed): a plain non-negative integer, so "-1" is not read as 2^64-1 and a
// number too large for 64 bits is refused instead of clamped.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace darkmatter::apps {

// The validator of every --seed option.
inline CLI::Validator SeedValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty() || text.size() > 19 ||
            text.find_first_not_of("0123456789") != std::string::npos) {
          return "--seed '" + text + "' is not a non-negative integer below 10^19";
        }
        return "";
      },
      "UINT", "seed");
}

}  // namespace darkmatter::apps
