// P3 probes and label efficiency: ridge probes from a frozen model's embedding z_t (horizon
// 0) and from its prediction ẑ_{t+k} (rolled out k steps from the C context frames ending at
// frame t) to privileged truth fields; R² on a held-out file, against a "copy the last frame"
// baseline; and R² against the number of labelled frames, probe on the frozen model vs a
// `supervised` model trained from scratch on the same number of labels. Torch-free header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/external.h"

namespace darkmatter::eval {

struct ProbeSettings {
  std::vector<std::string> models;  // --model specs, compared side by side
  std::string train;                // file the probes (and supervised baselines) learn from
  std::string data;                 // held-out file the R² is measured on
  std::vector<std::string> fields = {"positions", "velocities"};  // truth fields probed
  std::vector<int> horizons = {0, 1, 4};                    // k: 0 = z_t, k > 0 = ẑ_{t+k}
  std::vector<int> labels = {10, 100, 1000, 10000};         // label budgets N (frames); empty =
                                                            // no label-efficiency curve
  std::string label_field;          // field of the label-efficiency curve ("" = first field)
  int supervised_steps = 500;       // optimiser steps of each supervised baseline; 0 = none
  std::string input;                // untrained models: state | pixels ("" = pixels if frames)
  std::string device = "cpu";       // auto | cpu | cuda[:N]
  uint64_t seed = 0;                // torch seed, label choice, validation split
  std::vector<ExternalFeatures> external;  // probed after the models (horizon 0 only); the
                                           // supervised baseline needs a model to copy
};

// Runs P3. Throws BadInput naming the file, field or value for a missing file, an unknown
// truth field, a negative horizon, a label budget < 1, or a model that cannot read the
// files. JSON: `r2` (model -> field -> horizon -> R²), `copy_last_frame` (field -> horizon ->
// R²), `label_efficiency` (model and "supervised" -> N -> R²), the data files, and a `probes`
// section in the results.json format.
nlohmann::json RunProbe(const ProbeSettings& settings);

}  // namespace darkmatter::eval
