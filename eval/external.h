// What the protocols score besides the C++ models: scorers and features given by the caller
// (python/: Python callables). Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/episode.h"

namespace darkmatter::eval {

// A scorer from outside the C++ models (python/: a Python callable): the per-frame surprise of
// one episode, (T+1) finite values; frames before `context` are never scored.
struct ExternalScorer {
  std::string name;      // its label in the results (must differ from the models' names)
  int64_t context = 1;   // first frame it scores (>= 1)
  nlohmann::json describe = nlohmann::json::object();  // extra fields for its entry
  std::function<std::vector<double>(const sim::Episode&)> surprise;
};

// Frozen features from outside the C++ models (python/: a Python callable): the rows of one
// episode, (T+1) x dim row-major, written with *dim (P3 probes them at horizon 0; P2 gives
// them only the first K frames of each clip).
struct ExternalFeatures {
  std::string name;                                    // its label in the results
  nlohmann::json describe = nlohmann::json::object();  // extra fields for its entry
  std::function<std::vector<double>(const sim::Episode&, int64_t* dim)> features;
};

}  // namespace darkmatter::eval
