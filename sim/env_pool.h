// EnvPool: N envs stepped by T worker threads into preallocated contiguous buffers, with
// synchronous Step, asynchronous Send/Recv, and Gymnasium's next-step autoreset.
// Env i is seeded seed + i with its own RNG, so results are bit-identical for every T.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "sim/env.h"

namespace darkmatter::sim {

// A batch of results; row r belongs to env env_ids[r]. Valid until the next pool call.
struct BatchView {
  std::span<const int> env_ids;          // (B)
  std::span<const double> observations;  // (B x obs_dim)
  std::span<const double> rewards;       // (B)
  std::span<const uint8_t> terminated;   // (B)
  std::span<const uint8_t> truncated;    // (B)
  std::span<const double> infos;         // (B x info_dim)
  std::span<const uint8_t> pixels;       // (B x pixel_dim) RGB frames; empty without pixels
  int64_t obs_dim = 0;                   // observation size
  int64_t info_dim = 0;                  // number of info values per env
  int64_t pixel_dim = 0;                 // H * W * 3, or 0

  // Number of rows B.
  int64_t Size() const { return static_cast<int64_t>(env_ids.size()); }
  // Observation row r.
  std::span<const double> Observation(int64_t r) const {
    return observations.subspan(r * obs_dim, obs_dim);
  }
};

class EnvPool {
 public:
  using EnvFactory = std::function<std::unique_ptr<Env>()>;

  // Creates num_envs envs with `make_env` and num_threads workers (0 = all cores,
  // clamped to [1, num_envs]).
  EnvPool(const EnvFactory& make_env, int num_envs, int num_threads);
  ~EnvPool();
  EnvPool(const EnvPool&) = delete;
  EnvPool& operator=(const EnvPool&) = delete;

  int NumEnvs() const { return static_cast<int>(envs_.size()); }
  int NumThreads() const { return static_cast<int>(workers_.size()); }
  const BoxSpec& ObservationSpec() const { return envs_[0]->ObservationSpec(); }
  const BoxSpec& ActionSpec() const { return envs_[0]->ActionSpec(); }
  const std::vector<std::string>& InfoKeys() const { return envs_[0]->InfoKeys(); }

  // Resets env i with seed + i (in parallel); rows in env order.
  BatchView Reset(uint64_t seed);
  // Steps every env with its row of `actions` (N x act_dim); rows in env order. An env whose
  // previous step ended its episode is reset instead (action ignored, reward 0, flags 0).
  BatchView Step(std::span<const double> actions);
  // Queues one step for each env in env_ids with the matching row of `actions`
  // (len(env_ids) x act_dim). Throws BadInput on bad actions or ids already in flight.
  void Send(std::span<const double> actions, std::span<const int> env_ids);
  // Waits until `batch_size` queued steps have finished; rows in completion order.
  BatchView Recv(int batch_size);
  // Env i, for inspection while no step is in flight.
  Env& GetEnv(int i) { return *envs_[i]; }
  // Restores env i to `state` while no step is in flight; its next Step autoresets when
  // state.needs_reset (as after an episode ended), so a saved collector resumes exactly.
  void SetEnvState(int i, const EnvState& state);

 private:
  enum class JobKind : uint8_t { kStep, kReset };
  struct Job {
    int env_id;
    JobKind kind;
  };

  // A first-in first-out queue over preallocated storage: at most one job per env is ever
  // queued, so the step loop never allocates.
  template <typename T>
  class FixedQueue {
   public:
    void Reserve(size_t capacity) { items_.resize(capacity); }
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    void push(const T& item) { items_[(head_ + size_++) % items_.size()] = item; }
    T pop() {
      const T item = items_[head_];
      head_ = (head_ + 1) % items_.size();
      --size_;
      return item;
    }

   private:
    std::vector<T> items_;
    size_t head_ = 0, size_ = 0;
  };

  void WorkerLoop();
  void RunJob(const Job& job);
  // Queues one job of `kind` for each env in `env_ids`.
  void Enqueue(std::span<const int> env_ids, JobKind kind);
  void WaitForCompleted(int count);
  // Waits for `count` completions, moves their ids to batch_ids_, rethrows a worker error.
  void Drain(int count);
  BatchView SlotView();

  std::vector<std::unique_ptr<Env>> envs_;
  int64_t obs_dim_, act_dim_, info_dim_, pixel_dim_;
  // Per-env slots, written by the worker that ran the env.
  std::vector<double> actions_;        // (N x act_dim)
  std::vector<uint64_t> seeds_;        // (N) seed for a pending kReset job
  std::vector<double> observations_;   // (N x obs_dim)
  std::vector<double> rewards_;        // (N)
  std::vector<uint8_t> terminated_;    // (N)
  std::vector<uint8_t> truncated_;     // (N)
  std::vector<double> infos_;          // (N x info_dim)
  std::vector<uint8_t> pixels_;        // (N x pixel_dim)
  std::vector<uint8_t> needs_reset_;   // (N) next step autoresets
  std::vector<uint8_t> in_flight_;     // (N) queued or running
  std::vector<int> identity_ids_;      // (N) 0..N-1
  // Gathered batch for Recv.
  std::vector<int> batch_ids_;
  std::vector<double> batch_observations_, batch_rewards_, batch_infos_;
  std::vector<uint8_t> batch_pixels_;
  std::vector<uint8_t> batch_terminated_, batch_truncated_;

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  FixedQueue<Job> pending_;   // capacity N
  FixedQueue<int> completed_;  // capacity N
  size_t wanted_ = 1;  // completions the caller waits for (workers notify when reached)
  std::exception_ptr error_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace darkmatter::sim
