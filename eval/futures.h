// Multiple futures on a branching scene (physics/pegs: a ball falls left or right of a peg,
// label `outcome` 0/1, P = 0.5/0.5): K sampled latent rollouts from the first C frames to the
// last frame, their best-of-K latent error against the deterministic (zero-noise) rollout,
// and a logistic probe (fitted on target-encoder features of true final frames) that reads
// each sample's predicted final latent as left/right; predicted outcome frequencies against
// the simulator's, with their total variation distance. Torch-free header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace darkmatter::eval {

struct FuturesSettings {
  std::vector<std::string> models;  // --model specs (stochastic; others give K equal samples)
  std::string data;                 // pegs file: rolled out and scored
  std::string train;                // file the outcome probe is fitted on ("" = the even
                                    // episodes of `data`, the odd ones are then scored)
  std::string label = "outcome";    // binary episode label of the branch taken
  int samples = 16;                 // K sampled futures per episode
  std::string input;                // untrained models: state | pixels ("" = pixels if frames)
  std::string device = "cpu";       // auto | cpu | cuda[:N]
  uint64_t seed = 0;                // torch seed (noise draws, untrained nets), validation split
};

// Runs the multiple-futures check. Throws BadInput naming the file or label when a file is
// missing or lacks the label, or the probe's training labels are all one class. JSON per
// model: best_of_k_error, mean_sample_error, deterministic_error (mean L1 over latent
// dimensions, final frame), predicted and simulated outcome frequencies, total variation
// distance, the probe's accuracy on true final frames.
nlohmann::json RunFutures(const FuturesSettings& settings);

}  // namespace darkmatter::eval
