#include "agents/oracle_dynamics.h"

#include <string>

#include "sim/error.h"

namespace darkmatter::agents {

OracleDynamics::OracleDynamics(const EnvFactory& make_env, const OracleSettings& settings) {
  if (settings.threads < 1) {
    throw sim::BadInput("plan.threads=" + std::to_string(settings.threads) + ": must be >= 1");
  }
  for (int w = 0; w < settings.threads; ++w) envs_.push_back(make_env());
  act_dim_ = envs_[0]->ActionSpec().Size();
  start_.physics.reserve(envs_[0]->StateSize());
  errors_.resize(settings.threads);
  for (int w = 1; w < settings.threads; ++w) threads_.emplace_back([this, w] { WorkerLoop(w); });
}

OracleDynamics::~OracleDynamics() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void OracleDynamics::SetStart(const sim::EnvState& state) {
  start_.physics.assign(state.physics.begin(), state.physics.end());
  start_.rng = state.rng;
  start_.elapsed_steps = state.elapsed_steps;
  start_.needs_reset = state.needs_reset;
}

void OracleDynamics::Evaluate(std::span<const double> actions, int num_candidates, int horizon,
                              std::span<double> costs) {
  if (num_candidates < 1 || horizon < 1 ||
      static_cast<int64_t>(actions.size()) !=
          static_cast<int64_t>(num_candidates) * horizon * act_dim_ ||
      static_cast<int64_t>(costs.size()) != num_candidates) {
    throw sim::BadInput("OracleDynamics::Evaluate: " + std::to_string(num_candidates) +
                        " candidates x horizon " + std::to_string(horizon) + " x act_dim " +
                        std::to_string(act_dim_) + " does not match " +
                        std::to_string(actions.size()) + " actions and " +
                        std::to_string(costs.size()) + " costs");
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    actions_ = actions.data();
    costs_ = costs.data();
    num_candidates_ = num_candidates;
    horizon_ = horizon;
    next_.store(0);
    transitions_.store(0);
    active_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  errors_[0] = nullptr;
  try {
    RunShare(0);
  } catch (...) {
    errors_[0] = std::current_exception();
    next_.store(num_candidates);  // the others stop after their current candidate
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [this] { return active_ == 0; });
  }
  stats_.model_calls += 1;
  stats_.candidates += num_candidates;
  stats_.transitions += transitions_.load();
  for (std::exception_ptr& error : errors_) {
    if (error) {
      std::exception_ptr first = error;
      for (std::exception_ptr& e : errors_) e = nullptr;
      std::rethrow_exception(first);
    }
  }
}

void OracleDynamics::WorkerLoop(int worker) {
  uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    try {
      RunShare(worker);
    } catch (...) {
      errors_[worker] = std::current_exception();
      next_.store(num_candidates_);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_cv_.notify_one();
    }
  }
}

void OracleDynamics::RunShare(int worker) {
  sim::Env& env = *envs_[worker];
  const int64_t stride = static_cast<int64_t>(horizon_) * act_dim_;
  int64_t steps = 0;
  for (int i; (i = next_.fetch_add(1)) < num_candidates_;) {
    env.SetState(start_);
    const double* sequence = actions_ + i * stride;
    double cost = 0.0;
    for (int t = 0; t < horizon_; ++t) {
      const sim::StepResult result =
          env.Step(std::span<const double>(sequence + t * act_dim_, act_dim_));
      cost -= result.reward;
      ++steps;
      if (result.terminated || result.truncated) break;
    }
    costs_[i] = cost;
  }
  transitions_.fetch_add(steps);
}

}  // namespace darkmatter::agents
