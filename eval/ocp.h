// P2 outcome readout (Physion's OCP): frozen features of the first K frames of a clip (the
// mean and the last of the K embeddings, concatenated) and a logistic regression of the
// episode label `red_touches_zone` trained on a readout file; accuracy with a bootstrap
// interval on a test file and optionally an out-of-distribution file. Torch-free header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/external.h"

namespace darkmatter::eval {

struct OcpSettings {
  std::vector<std::string> models;  // --model specs, compared side by side
  std::string train;                // readout file (the logistic regression is fitted here)
  std::string data;                 // test file
  std::string ood;                  // optional out-of-distribution file
  int frames = 8;                   // K: frames seen (from frame 0), >= 1
  std::string label = "red_touches_zone";  // binary episode label predicted
  std::string input;                // untrained models: state | pixels ("" = pixels if frames)
  std::string device = "cpu";       // auto | cpu | cuda[:N]
  int bootstrap = 1000;             // bootstrap replicates of each interval
  double confidence = 0.95;         // interval coverage, in (0, 1)
  uint64_t seed = 0;                // torch seed (untrained nets), validation split, bootstrap
  std::vector<ExternalFeatures> external;  // scored after the models, each from the first
                                           // K frames of a clip only
};

// Runs P2. Only possible clips are used (twins files: `possible` = 1). Throws BadInput naming
// the file or label when a file is missing, lacks the label, has clips shorter than K frames,
// or the readout labels are all one class. JSON: data files, per model `train`, `test`, `ood`
// accuracies with intervals, the majority-class baseline, and an `ocp` section in the
// results.json format.
nlohmann::json RunOcp(const OcpSettings& settings);

}  // namespace darkmatter::eval
