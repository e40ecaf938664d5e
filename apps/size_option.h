// Parsing "WxH" size options (--render, --size).
#pragma once

#include <string>
#include <utility>

#include "sim/error.h"

namespace darkmatter::apps {

// Parses "64x48" into {64, 48}; throws BadInput naming the option and value otherwise.
inline std::pair<int, int> ParseSize(const std::string& text, const std::string& option) {
  const size_t x = text.find('x');
  try {
    if (x != std::string::npos) {
      size_t used_w = 0, used_h = 0;
      const int width = std::stoi(text.substr(0, x), &used_w);
      const int height = std::stoi(text.substr(x + 1), &used_h);
      if (used_w == x && used_h == text.size() - x - 1 && width >= 1 && height >= 1 &&
          width <= 4096 && height <= 4096) {
        return {width, height};
      }
    }
  } catch (const std::exception&) {
  }
  throw sim::BadInput(option + " '" + text + "' is not a size WxH between 1x1 and 4096x4096");
}

}  // namespace darkmatter::apps
