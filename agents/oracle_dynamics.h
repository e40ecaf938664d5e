// OracleDynamics: the true simulator as a planner's Dynamics. Each candidate sequence is
// played from a saved start state (SetState + Step) on one of T cloned envs, in parallel;
// its cost is the negative sum of the task's rewards. Candidate i's cost is bit-identical
// for every thread count (each candidate starts from the same restored state).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "agents/dynamics.h"
#include "sim/env.h"

namespace darkmatter::agents {

// Settings of the oracle.
struct OracleSettings {
  int threads = 1;  // worker threads (cloned envs), the calling thread included; >= 1
};

class OracleDynamics final : public Dynamics {
 public:
  using EnvFactory = std::function<std::unique_ptr<sim::Env>()>;

  // Makes settings.threads envs with `make_env` (same task and settings as the live env).
  // Throws sim::BadInput when settings.threads < 1.
  OracleDynamics(const EnvFactory& make_env, const OracleSettings& settings = {});
  ~OracleDynamics() override;
  OracleDynamics(const OracleDynamics&) = delete;
  OracleDynamics& operator=(const OracleDynamics&) = delete;

  const sim::BoxSpec& ActionSpec() const override { return envs_[0]->ActionSpec(); }
  // Plays each candidate from the start state until the horizon or the episode's end;
  // cost = -(sum of rewards). Throws what an env throws (after every worker stopped).
  void Evaluate(std::span<const double> actions, int num_candidates, int horizon,
                std::span<double> costs) override;

  // Copies the start state (reusing storage).
  void SetStart(const sim::EnvState& state);
  // Captures the start state from a live env of the same task and settings.
  void StartFrom(const sim::Env& live, std::span<const double>) override {
    live.GetState(&start_);
  }
  // The start state.
  const sim::EnvState& Start() const { return start_; }
  // Number of worker threads (cloned envs).
  int NumThreads() const { return static_cast<int>(envs_.size()); }

 private:
  void WorkerLoop(int worker);
  // Scores candidates taken from next_ on envs_[worker] until none is left.
  void RunShare(int worker);

  std::vector<std::unique_ptr<sim::Env>> envs_;  // (T) one per worker; envs_[0] = caller's
  sim::EnvState start_;
  int64_t act_dim_ = 0;
  // The job of the current Evaluate call (read by workers between start and done).
  const double* actions_ = nullptr;  // (N x H x act_dim)
  double* costs_ = nullptr;          // (N)
  int num_candidates_ = 0, horizon_ = 0;
  std::atomic<int> next_{0};                // next candidate to take
  std::atomic<int64_t> transitions_{0};     // steps taken in this call
  std::vector<std::exception_ptr> errors_;  // (T) first error of each worker

  std::mutex mutex_;
  std::condition_variable start_cv_, done_cv_;
  uint64_t generation_ = 0;  // bumped by each Evaluate to wake the workers
  int active_ = 0;           // workers still running the current call
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // (T - 1) workers 1..T-1
};

}  // namespace darkmatter::agents
