// `bench train --nproc N`: data-parallel training throughput measured end to end — the same
// `darkmatter train` command on the same recorded data and global batch, with 1 and with N
// processes (one torch thread each), so the figure includes start-up, rendezvous, sharded
// data loading and the per-step all-reduce.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace darkmatter::apps {

struct ParallelTrainBenchOptions {
  int nproc = 2;               // processes of the parallel run
  int steps = 60;              // optimiser steps of each run
  int global_batch = 32;       // clips per step over all processes (divisible by nproc)
  std::string input = "both";  // pixels | state | both
};

// Per input kind: seconds and samples/s with 1 and N processes, speed-up and parallel
// efficiency (speed-up / N). Throws std::runtime_error naming the command when a run fails.
nlohmann::json MeasureParallelTraining(const ParallelTrainBenchOptions& options);

}  // namespace darkmatter::apps
