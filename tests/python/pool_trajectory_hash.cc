// The C++ side of the Python pool test: steps sim::EnvPool with the test's deterministic
// actions and prints the FNV-1a hash of the trajectory (reset, then every step's
// observations, rewards, terminated and truncated flags, rows in env order).
// Usage: pool_trajectory_hash TASK NUM_ENVS THREADS SEED STEPS
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "sim/env_pool.h"
#include "sim/hash.h"
#include "tasks/registry.h"

namespace {

// The test's action for step t, env i, element j: (k - 10) / 25 with k = (7t + 13i + 5j) % 21,
// one rounding, so Python computes the same doubles.
double TestAction(int64_t t, int64_t i, int64_t j) {
  return static_cast<double>((7 * t + 13 * i + 5 * j) % 21 - 10) / 25.0;
}

void AddBatch(const darkmatter::sim::BatchView& b, bool with_step, darkmatter::sim::Hasher* h) {
  h->Add(b.observations);
  if (!with_step) return;
  h->Add(b.rewards);
  h->Add(b.terminated);
  h->Add(b.truncated);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s TASK NUM_ENVS THREADS SEED STEPS\n", argv[0]);
    return 2;
  }
  try {
    const std::string task = argv[1];
    const int num_envs = std::atoi(argv[2]), threads = std::atoi(argv[3]);
    const uint64_t seed = std::strtoull(argv[4], nullptr, 10);
    const int steps = std::atoi(argv[5]);
    darkmatter::sim::EnvPool pool([&] { return darkmatter::tasks::MakeEnv(task); }, num_envs,
                                  threads);
    const int64_t act_dim = pool.ActionSpec().Size();
    darkmatter::sim::Hasher hasher;
    AddBatch(pool.Reset(seed), false, &hasher);
    std::vector<double> actions(num_envs * act_dim);
    for (int t = 0; t < steps; ++t) {
      for (int i = 0; i < num_envs; ++i) {
        for (int64_t j = 0; j < act_dim; ++j) actions[i * act_dim + j] = TestAction(t, i, j);
      }
      AddBatch(pool.Step(actions), true, &hasher);
    }
    std::printf("%016llx\n", static_cast<unsigned long long>(hasher.Value()));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
