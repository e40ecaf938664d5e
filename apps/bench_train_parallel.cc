#include "apps/bench_train_parallel.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "sim/error.h"

namespace darkmatter::apps {
namespace {

std::string SelfExe() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

// Runs `command` quietly; throws naming it when it fails.
void RunQuiet(const std::string& command) {
  if (std::system((command + " > /dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("bench train --nproc: '" + command + "' failed");
  }
}

double Seconds(const std::string& command) {
  const auto start = std::chrono::steady_clock::now();
  RunQuiet(command);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

nlohmann::json MeasureParallelTraining(const ParallelTrainBenchOptions& o) {
  if (o.nproc < 2) throw sim::BadInput("--nproc " + std::to_string(o.nproc) + " must be >= 2");
  if (o.global_batch % o.nproc != 0) {
    throw sim::BadInput("--batch-size " + std::to_string(o.global_batch) +
                        " must be divisible by --nproc " + std::to_string(o.nproc));
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("darkmatter_bench_nproc_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // One torch thread per process and no spinning, so N processes use N cores.
  ::setenv("OMP_NUM_THREADS", "1", 1);
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  const std::string exe = SelfExe();
  nlohmann::json result = {{"nproc", o.nproc}, {"steps", o.steps},
                           {"global_batch", o.global_batch}, {"threads_per_process", 1}};
  std::vector<std::string> inputs;
  if (o.input != "state") inputs.push_back("pixels");
  if (o.input != "pixels") inputs.push_back("state");
  try {
    for (const std::string& input : inputs) {
      const bool pixels = input == "pixels";
      const std::string data = (dir / (input + ".h5")).string();
      RunQuiet(exe + " rollout --task physics/collide --episodes 40 --threads 2 "
                     "env.max_episode_steps=32 --out " + data +
               (pixels ? " --render 64x64 --camera main" : ""));
      double seconds[2] = {0, 0};
      for (int k = 0; k < 2; ++k) {
        const int n = k == 0 ? 1 : o.nproc;
        const std::string out = (dir / (input + "_run" + std::to_string(n))).string();
        seconds[k] = Seconds(exe + " train --model jepa --data " + data + " --out " + out +
                             " --device cpu --nproc " + std::to_string(n) +
                             (pixels ? " model.input=pixels" : "") +
                             " train.steps=" + std::to_string(o.steps) +
                             " train.batch_size=" + std::to_string(o.global_batch / n) +
                             " train.checkpoint_every=" + std::to_string(o.steps));
      }
      const double samples = static_cast<double>(o.steps) * o.global_batch;
      const double speedup = seconds[0] / seconds[1];
      result[input] = {{"seconds_1", seconds[0]},
                       {"seconds_n", seconds[1]},
                       {"samples_per_s_1", samples / seconds[0]},
                       {"samples_per_s_n", samples / seconds[1]},
                       {"speedup", speedup},
                       {"parallel_efficiency", speedup / o.nproc}};
    }
  } catch (...) {
    std::filesystem::remove_all(dir);
    throw;
  }
  std::filesystem::remove_all(dir);
  return result;
}

}  // namespace darkmatter::apps
