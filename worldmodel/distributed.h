// Data-parallel training over torch's c10d: rendezvous through a TCPStore hosted by rank 0,
// Gloo on CPU (NCCL for CUDA tensors when torch was built with it), gradients averaged in
// one flattened bucket, and a timeout so that a dead or hung peer makes the others fail
// with a clear error instead of hanging. No torch types in this header.
//
// Wiring in a training loop (every call is a no-op when world_size == 1):
//   DataParallel dp(DistributedOptions::FromEnvironment());
//   dp.BroadcastParameters(model);             // once, after building (or loading) the model
//   ... each step: loss.backward(); dp.AllReduceGradients(model); optimizer.step();
//   if (dp.is_main()) SaveCheckpoint(...);    // rank 0 writes; dp.Barrier() if others read it
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace darkmatter::worldmodel {

struct DistributedOptions {
  int rank = 0;                           // this process, in [0, world_size)
  int local_rank = 0;                     // this process on its machine (picks cuda:N)
  int world_size = 1;                     // processes taking part
  std::string master_addr = "127.0.0.1";  // host of rank 0's TCPStore
  int master_port = 29500;                // port of rank 0's TCPStore
  double timeout_s = 120;                 // rendezvous and per-collective timeout (seconds)

  // Reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (as torchrun and LaunchWorkers set
  // them), LOCAL_RANK (default: RANK) and DARKMATTER_DIST_TIMEOUT (seconds). Nothing set:
  // a single process (rank 0 of 1). Throws BadInput naming the variable and its value when
  // one is malformed or out of range, or when MASTER_ADDR/MASTER_PORT are missing for
  // world_size > 1.
  static DistributedOptions FromEnvironment();
};

// Throws BadInput naming the field of the first invalid value.
void ValidateDistributedOptions(const DistributedOptions& options);

// A collective failed or timed out (a peer exited or hung); the message names this rank.
class DistributedError : public std::runtime_error {
 public:
  explicit DistributedError(const std::string& message) : std::runtime_error(message) {}
};

// The indices in [0, n) that `rank` of `world_size` reads: rank, rank + world_size, ...
// (strided, so shard sizes differ by at most one). Throws BadInput when n < world_size
// (some rank would get no data) or rank is outside [0, world_size).
std::vector<int64_t> ShardIndices(int64_t n, int rank, int world_size);

// One process's membership of the group. All ranks must make the same calls in the same
// order with modules of identical structure (as DDP requires).
class DataParallel {
 public:
  // Joins the group: rank 0 hosts the store, every rank waits up to timeout_s for the rest.
  // world_size == 1 creates nothing. Throws BadInput on invalid options, DistributedError
  // when the rendezvous fails or times out.
  explicit DataParallel(const DistributedOptions& options);
  // Shortcut for DataParallel(DistributedOptions::FromEnvironment()).
  static std::unique_ptr<DataParallel> FromEnvironment();
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  // True on rank 0: the rank that writes checkpoints, metrics and run files.
  bool is_main() const { return options_.rank == 0; }
  bool enabled() const { return options_.world_size > 1; }
  const DistributedOptions& options() const { return options_; }

  // Copies rank 0's parameters and buffers into every rank's `module` (one bucket per dtype).
  void BroadcastParameters(torch::nn::Module& module);
  // Replaces every trainable parameter's gradient with its mean over the ranks, in one
  // flattened bucket per dtype. A missing gradient counts as zeros and is created, so all
  // ranks stay identical.
  void AllReduceGradients(torch::nn::Module& module);
  // Replaces each value with its mean over the ranks (e.g. metrics before logging).
  void AllReduceMean(std::vector<double>* values);
  // True when every rank's parameters and buffers equal rank 0's bit for bit.
  bool ParametersInSync(torch::nn::Module& module);
  // Returns when every rank has called it (or throws DistributedError after timeout_s).
  void Barrier();

 private:
  struct Impl;
  DistributedOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace darkmatter::worldmodel
