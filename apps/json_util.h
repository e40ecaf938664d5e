// JSON helpers shared by the subcommands.
#pragma once

#include <limits>

#include <nlohmann/json.hpp>

#include "sim/env.h"

namespace darkmatter::apps {

// {"shape": [...], "shape_text": "(n,)", "dtype": ..., "low": [...], "high": [...]};
// infinite bounds become null (JSON has no infinity).
inline nlohmann::json SpecJson(const sim::BoxSpec& spec) {
  auto bounds = [](const std::vector<double>& values) {
    nlohmann::json list = nlohmann::json::array();
    for (double v : values) {
      list.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr));
    }
    return list;
  };
  return {{"shape", spec.shape}, {"shape_text", spec.ShapeString()}, {"dtype", spec.dtype},
          {"low", bounds(spec.low)}, {"high", bounds(spec.high)}};
}

}  // namespace darkmatter::apps
