// Dynamics for planners: scores a batch of action sequences in one call. Implemented by the
// true simulator (agents/oracle_dynamics.h) and by learned world models (latent rollouts
// toward an encoded goal, all candidates in one batched call). Torch-free on purpose.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include "sim/env.h"

namespace darkmatter::agents {

// What a Dynamics has done since it was made (or since ResetStats).
struct DynamicsStats {
  int64_t model_calls = 0;  // batched Evaluate calls
  int64_t candidates = 0;   // action sequences scored
  int64_t transitions = 0;  // candidate steps simulated or predicted (<= candidates x horizon)
};

class Dynamics {
 public:
  virtual ~Dynamics() = default;

  // Action space of the sequences: shape {act_dim}, bounds the planners clip to.
  virtual const sim::BoxSpec& ActionSpec() const = 0;
  // Scores `num_candidates` sequences of `horizon` actions from the current start (set by the
  // implementation, e.g. OracleDynamics::SetStart): `actions` is (N x H x act_dim), row-major;
  // writes one cost per sequence into `costs` (N), lower is better. A sequence whose episode
  // ends early stops accumulating cost there. Throws sim::BadInput on wrong sizes.
  virtual void Evaluate(std::span<const double> actions, int num_candidates, int horizon,
                        std::span<double> costs) = 0;

  // Sets the start of the next Evaluate calls from the live env and its current observation
  // (state vector; empty when the env observes pixels only). Called by PlannerAgent before
  // each plan; a Dynamics whose start is set another way keeps the default, which ignores it.
  virtual void StartFrom(const sim::Env& live, std::span<const double> observation) {}

  // Counters of model calls, candidates and transitions.
  const DynamicsStats& Stats() const { return stats_; }
  // Zeroes the counters.
  void ResetStats() { stats_ = {}; }

 protected:
  DynamicsStats stats_;  // implementations update it in Evaluate
};

// A sampling-based planner over a Dynamics (CEM, MPPI): receding horizon, warm-started.
class Planner {
 public:
  virtual ~Planner() = default;
  // Forgets the warm start and re-seeds the sampling stream from (settings seed, `seed`).
  virtual void Reset(uint64_t seed) = 0;
  // Plans from the dynamics' current start; returns the first action (act_dim), within the
  // action bounds, valid until the next call. Same seed and costs -> same actions.
  virtual std::span<const double> Plan(Dynamics& dynamics) = 0;
  // Lowest cost seen in the last Plan call (of any candidate, any iteration).
  virtual double LastBestCost() const = 0;
};

// Shared by the planners: the centre and half-width of each action bound, (act_dim) each;
// an infinite bound gives centre 0 and half-width 1.
inline void ActionScale(const sim::BoxSpec& spec, std::span<double> centre,
                        std::span<double> half) {
  for (size_t k = 0; k < centre.size(); ++k) {
    const double low = spec.low[k], high = spec.high[k];
    const bool finite = std::isfinite(low) && std::isfinite(high);
    centre[k] = finite ? 0.5 * (low + high) : 0.0;
    half[k] = finite ? 0.5 * (high - low) : 1.0;
  }
}

}  // namespace darkmatter::agents
