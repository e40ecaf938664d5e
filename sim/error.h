// Error types shared by every layer: BadInput maps to exit code 2 in the CLI.
#pragma once

#include <stdexcept>
#include <string>

namespace darkmatter::sim {

// Bad usage, a bad config key/value or a bad input file; the message names the culprit.
class BadInput : public std::runtime_error {
 public:
  explicit BadInput(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace darkmatter::sim
