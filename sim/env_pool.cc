#include "sim/env_pool.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "sim/error.h"

namespace darkmatter::sim {

EnvPool::EnvPool(const EnvFactory& make_env, int num_envs, int num_threads) {
  if (num_envs < 1) throw BadInput("num_envs must be >= 1, got " + std::to_string(num_envs));
  if (num_threads < 0) throw BadInput("threads must be >= 0, got " + std::to_string(num_threads));
  for (int i = 0; i < num_envs; ++i) envs_.push_back(make_env());
  obs_dim_ = envs_[0]->ObservationSpec().Size();
  act_dim_ = envs_[0]->ActionSpec().Size();
  info_dim_ = static_cast<int64_t>(envs_[0]->InfoKeys().size());
  pixel_dim_ = envs_[0]->PixelSpec().Size();
  const size_t n = envs_.size();
  actions_.assign(n * act_dim_, 0.0);
  seeds_.assign(n, 0);
  observations_.assign(n * obs_dim_, 0.0);
  rewards_.assign(n, 0.0);
  terminated_.assign(n, 0);
  truncated_.assign(n, 0);
  infos_.assign(n * info_dim_, 0.0);
  pixels_.assign(n * pixel_dim_, 0);
  needs_reset_.assign(n, 1);
  in_flight_.assign(n, 0);
  pending_.Reserve(n);
  completed_.Reserve(n);
  identity_ids_.resize(n);
  std::iota(identity_ids_.begin(), identity_ids_.end(), 0);
  batch_ids_.resize(n);
  batch_observations_.resize(n * obs_dim_);
  batch_rewards_.resize(n);
  batch_infos_.resize(n * info_dim_);
  batch_pixels_.resize(n * pixel_dim_);
  batch_terminated_.resize(n);
  batch_truncated_.resize(n);

  int threads = num_threads == 0 ? static_cast<int>(std::thread::hardware_concurrency())
                                 : num_threads;
  threads = std::clamp(threads, 1, num_envs);
  for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { WorkerLoop(); });
}

EnvPool::~EnvPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void EnvPool::WorkerLoop() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      job = pending_.pop();
    }
    std::exception_ptr error;
    try {
      RunJob(job);
    } catch (...) {
      error = std::current_exception();
    }
    bool enough = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error && !error_) error_ = error;
      completed_.push(job.env_id);
      enough = completed_.size() >= wanted_;
    }
    if (enough) work_done_.notify_all();  // wake the caller only when its batch is complete
  }
}

void EnvPool::SetEnvState(int i, const EnvState& state) {
  envs_[i]->SetState(state);
  needs_reset_[i] = state.needs_reset;
}

void EnvPool::RunJob(const Job& job) {
  const int i = job.env_id;
  Env& env = *envs_[i];
  StepResult result;
  if (job.kind == JobKind::kReset) {
    result = env.Reset(seeds_[i]);
  } else if (needs_reset_[i]) {
    result = env.Reset(std::nullopt);  // next-step autoreset: the action is ignored
  } else {
    result = env.Step(std::span<const double>(actions_).subspan(i * act_dim_, act_dim_));
  }
  std::copy(result.observation.begin(), result.observation.end(),
            observations_.begin() + i * obs_dim_);
  std::copy(result.info.begin(), result.info.end(), infos_.begin() + i * info_dim_);
  std::copy(result.pixels.begin(), result.pixels.end(), pixels_.begin() + i * pixel_dim_);
  rewards_[i] = result.reward;
  terminated_[i] = result.terminated;
  truncated_[i] = result.truncated;
  needs_reset_[i] = result.terminated || result.truncated;
}

void EnvPool::Enqueue(std::span<const int> env_ids, JobKind kind) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const int i : env_ids) {
      in_flight_[i] = 1;
      pending_.push({i, kind});
    }
  }
  work_ready_.notify_all();
}

void EnvPool::WaitForCompleted(int count) {
  std::unique_lock<std::mutex> lock(mutex_);
  wanted_ = static_cast<size_t>(count);
  work_done_.wait(lock, [&] { return static_cast<int>(completed_.size()) >= count; });
}

BatchView EnvPool::SlotView() {
  return {identity_ids_, observations_, rewards_, terminated_, truncated_, infos_, pixels_,
          obs_dim_, info_dim_, pixel_dim_};
}

BatchView EnvPool::Reset(uint64_t seed) {
  for (int i = 0; i < NumEnvs(); ++i) {
    if (in_flight_[i]) throw std::logic_error("EnvPool::Reset while steps are in flight");
    seeds_[i] = seed + static_cast<uint64_t>(i);
  }
  Enqueue(identity_ids_, JobKind::kReset);
  Drain(NumEnvs());
  return SlotView();
}

BatchView EnvPool::Step(std::span<const double> actions) {
  Send(actions, identity_ids_);  // checks the size against all N envs
  Drain(NumEnvs());
  return SlotView();
}

void EnvPool::Send(std::span<const double> actions, std::span<const int> env_ids) {
  if (static_cast<int64_t>(actions.size()) != static_cast<int64_t>(env_ids.size()) * act_dim_) {
    throw BadInput("actions have " + std::to_string(actions.size()) + " values, expected " +
                   std::to_string(env_ids.size()) + " envs x " + std::to_string(act_dim_));
  }
  const BoxSpec& spec = ActionSpec();
  // Marks each env in flight as it passes the checks (so an id listed twice is caught), and
  // takes the marks back if any check fails: a rejected Send queues nothing.
  size_t marked = 0;
  auto reject = [&](const std::string& message) {
    for (size_t r = 0; r < marked; ++r) in_flight_[env_ids[r]] = 0;
    throw BadInput(message);
  };
  for (size_t r = 0; r < env_ids.size(); ++r) {
    const int i = env_ids[r];
    if (i < 0 || i >= NumEnvs()) reject("env id " + std::to_string(i) + " out of range");
    if (in_flight_[i]) {
      reject("env " + std::to_string(i) + " already has a step in flight (or is listed twice)");
    }
    try {
      ValidateAction(spec, actions.subspan(r * act_dim_, act_dim_));
    } catch (const BadInput& e) {
      reject("env " + std::to_string(i) + ": " + e.what());
    }
    in_flight_[i] = 1;
    ++marked;
  }
  for (size_t r = 0; r < env_ids.size(); ++r) {
    std::copy_n(actions.begin() + r * act_dim_, act_dim_,
                actions_.begin() + env_ids[r] * act_dim_);
  }
  Enqueue(env_ids, JobKind::kStep);
}

void EnvPool::Drain(int count) {
  WaitForCompleted(count);
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int r = 0; r < count; ++r) {
      batch_ids_[r] = completed_.pop();
      in_flight_[batch_ids_[r]] = 0;
    }
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

BatchView EnvPool::Recv(int batch_size) {
  if (batch_size < 1 || batch_size > NumEnvs()) {
    throw BadInput("batch_size must be in [1, " + std::to_string(NumEnvs()) + "]");
  }
  Drain(batch_size);
  for (int r = 0; r < batch_size; ++r) {
    const int i = batch_ids_[r];
    std::copy_n(observations_.begin() + i * obs_dim_, obs_dim_,
                batch_observations_.begin() + r * obs_dim_);
    std::copy_n(infos_.begin() + i * info_dim_, info_dim_, batch_infos_.begin() + r * info_dim_);
    std::copy_n(pixels_.begin() + i * pixel_dim_, pixel_dim_,
                batch_pixels_.begin() + r * pixel_dim_);
    batch_rewards_[r] = rewards_[i];
    batch_terminated_[r] = terminated_[i];
    batch_truncated_[r] = truncated_[i];
  }
  const size_t b = static_cast<size_t>(batch_size);
  return {std::span<const int>(batch_ids_).first(b),
          std::span<const double>(batch_observations_).first(b * obs_dim_),
          std::span<const double>(batch_rewards_).first(b),
          std::span<const uint8_t>(batch_terminated_).first(b),
          std::span<const uint8_t>(batch_truncated_).first(b),
          std::span<const double>(batch_infos_).first(b * info_dim_),
          std::span<const uint8_t>(batch_pixels_).first(b * pixel_dim_),
          obs_dim_, info_dim_, pixel_dim_};
}

}  // namespace darkmatter::sim
