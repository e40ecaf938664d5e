// darkmatter bench train: training steps/s of the `jepa` world model (default settings) on
// 64x64 pixels and on state, in LibTorch (this binary, the model of worldmodel/) and in the
// same model written in Debian's python3-torch (scripts/bench_train_reference.py), measured
// interleaved in one run with the same batch, initial weights and thread count.
//
// The Python side runs as one child process per input kind that answers "run W S" on stdin.
// Before timing, both sides must agree on every parameter name and shape, the parameter
// counts and the initial loss (else exit 1). A --python that cannot be run, or that cannot
// import torch, is bad input (exit 2, naming --python and the package).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "apps/bench_train_parallel.h"
#include "apps/bench_util.h"
#include "apps/commands.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "worldmodel/clips.h"
#include "worldmodel/trainer.h"
#include "worldmodel/world_model.h"

#ifndef DARKMATTER_SCRIPTS_DIR
#define DARKMATTER_SCRIPTS_DIR "scripts"
#endif

namespace darkmatter::apps {
namespace {

// Synthetic batches are shaped like manipulation/push: 33 state dimensions, 6 actions.
constexpr int64_t kObsDim = 33;
constexpr int64_t kActDim = 6;
constexpr int64_t kFrameSize = 64;

struct BenchTrainOptions {
  int steps = 10;                        // timed steps per measurement
  int batch_size = 32;                   // clips per step
  int threads = 0;                       // torch threads on both sides; 0 = all cores
  int warmup = 2;                        // untimed steps before each measurement
  int rounds = 6;                        // C++/Python measurement pairs, alternating order
  std::string input = "both";            // spatial | pixels | state | both (all three)
  std::string python = "/usr/bin/python3";
  std::string script = DARKMATTER_SCRIPTS_DIR "/bench_train_reference.py";
  bool json = false;
  int nproc = 1;                         // > 1: data-parallel throughput of `train --nproc`
};

// A scratch directory removed with its contents.
struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    path = std::filesystem::temp_directory_path() /
           ("darkmatter_bench_train_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// The model options `train --model jepa` uses by default (TrainSettings defaults).
// Kind "spatial" is the spatial pixel jepa (feature map + conv predictor), "pixels" the
// global-vector pixel jepa, "state" the state jepa.
worldmodel::ModelOptions DefaultJepaOptions(const std::string& kind) {
  const worldmodel::TrainSettings s;
  const std::string input = kind == "spatial" ? "pixels" : kind;
  worldmodel::ModelOptions o;
  o.model = "jepa";
  o.input = input;
  o.encoder = kind == "spatial" ? "spatial" : "global";
  o.map = s.map;
  o.map_channels = s.map_channels;
  o.obs_dim = input == "state" ? kObsDim : 0;
  o.frame_size = kFrameSize;
  o.act_dim = kActDim;
  o.latent_dim = s.latent_dim;
  o.hidden = s.hidden;
  o.channels = s.channels;
  o.context = s.context;
  o.horizon = s.horizon;
  o.ema = s.ema;
  o.variance_weight = s.variance_weight;
  o.covariance_weight = s.covariance_weight;
  o.mask_ratio = 0.0;
  if (kind == "spatial") o.latent_dim = o.map * o.map * o.map_channels;
  return o;
}

// One batch of B clips of L = C + M steps: random frames in [0, 1] or states with a
// per-dimension offset and scale, and actions in [-1, 1].
worldmodel::ClipBatch SyntheticBatch(const worldmodel::ModelOptions& o, int64_t batch_size) {
  const int64_t l = o.context + o.horizon;
  worldmodel::ClipBatch batch;
  if (o.input == "pixels") {
    batch.observations = torch::rand({batch_size, l, 3, o.frame_size, o.frame_size});
  } else {
    auto offset = torch::randn({o.obs_dim}) * 2.0;
    auto scale = torch::rand({o.obs_dim}) * 3.0 + 0.1;
    batch.observations = torch::randn({batch_size, l, o.obs_dim}) * scale + offset;
  }
  batch.actions = torch::rand({batch_size, l - 1, o.act_dim}) * 2.0 - 1.0;
  return batch;
}

// Writes every parameter and buffer (in one float32 file, with names and shapes in
// manifest.json) and the batch, for the Python side to load.
void ExportForPython(worldmodel::WorldModelImpl& model, const worldmodel::ClipBatch& batch,
                     const std::filesystem::path& dir) {
  nlohmann::json tensors = nlohmann::json::array();
  std::ofstream values(dir / "tensors.bin", std::ios::binary);
  int64_t numel = 0;
  auto write = [](std::ofstream& out, const torch::Tensor& t) {
    auto c = t.detach().to(torch::kFloat32).contiguous();
    out.write(reinterpret_cast<const char*>(c.data_ptr<float>()),
              static_cast<std::streamsize>(c.numel() * sizeof(float)));
  };
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    tensors.push_back({{"name", name}, {"shape", t.sizes().vec()}});
    numel += t.numel();
    write(values, t);
  };
  for (const auto& p : model.named_parameters()) add(p.key(), p.value());
  for (const auto& b : model.named_buffers()) add(b.key(), b.value());
  std::ofstream obs(dir / "observations.bin", std::ios::binary);
  write(obs, batch.observations);
  std::ofstream act(dir / "actions.bin", std::ios::binary);
  write(act, batch.actions);
  const nlohmann::json manifest = {{"tensors", tensors},
                                   {"numel", numel},
                                   {"observations", batch.observations.sizes().vec()},
                                   {"actions", batch.actions.sizes().vec()}};
  std::ofstream(dir / "manifest.json") << manifest.dump();
}

// The reference script as a child process, spoken to by lines on its stdin and stdout.
class PythonReference {
 public:
  PythonReference(const std::string& python, const std::vector<std::string>& args,
                  const std::filesystem::path& stderr_file)
      : python_(python), stderr_file_(stderr_file) {
    int to_child[2], from_child[2];
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) {
      throw std::runtime_error("bench train: cannot create pipes");
    }
    const int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(python.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("bench train: fork failed");
    if (pid_ == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      if (err >= 0) ::dup2(err, 2);
      ::close(to_child[1]);
      ::close(from_child[0]);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    if (err >= 0) ::close(err);
    in_ = ::fdopen(to_child[1], "w");
    out_ = ::fdopen(from_child[0], "r");
  }
  ~PythonReference() {
    if (in_) {
      std::fputs("quit\n", in_);
      std::fclose(in_);
    }
    if (out_) std::fclose(out_);
    int status = 0;
    if (pid_ > 0) ::waitpid(pid_, &status, 0);
  }

  // The next JSON line of the child; throws (naming --python and its stderr) when it ends.
  nlohmann::json ReadJson() {
    std::string line;
    int c;
    while ((c = std::fgetc(out_)) != EOF && c != '\n') line.push_back(static_cast<char>(c));
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (line.empty() || j.is_discarded() || !j.is_object()) Fail(line);
    return j;
  }
  // Sends one command line.
  void Send(const std::string& command) {
    std::fputs((command + "\n").c_str(), in_);
    std::fflush(in_);
  }

 private:
  [[noreturn]] void Fail(const std::string& line) {
    std::ifstream in(stderr_file_);
    std::stringstream err;
    err << in.rdbuf();
    std::string text = err.str();
    if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
    if (text.find("No module named 'torch'") != std::string::npos) {
      throw sim::BadInput("--python " + python_ +
                          ": cannot import torch (install Debian's python3-torch)");
    }
    if (text.empty() && line.empty()) {
      throw sim::BadInput("--python " + python_ + ": could not be run");
    }
    throw std::runtime_error("bench train: the Python reference (" + python_ +
                             ") failed: " + line + "\n" + text);
  }

  std::string python_;
  std::filesystem::path stderr_file_;
  pid_t pid_ = -1;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
};

struct KindResult {
  double cpp = 0.0, python = 0.0;         // best steps/s
  std::vector<double> cpp_rounds, python_rounds;  // steps/s of each round
  double median_ratio = 0.0;              // median over rounds of C++/Python steps/s
  double cpp_cpu_ms = 0.0, python_cpu_ms = 0.0;  // process CPU ms per step (all rounds)
  int64_t parameters = 0, trainable = 0;
  double initial_loss = 0.0, python_initial_loss = 0.0;
};

// One optimiser step exactly as worldmodel::Train does it.
void TrainStep(worldmodel::WorldModelImpl& model, torch::optim::Optimizer& optimizer,
               const worldmodel::ClipBatch& batch) {
  worldmodel::ModelLoss loss = model.Loss(batch);
  optimizer.zero_grad();
  loss.total.backward();
  optimizer.step();
  model.AfterOptimizerStep();
}

// CPU seconds used by this process (all its threads).
double ProcessCpuSeconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// `v` with every digit, for the command line of the Python side.
std::string Fmt(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

KindResult BenchKind(const std::string& kind, const BenchTrainOptions& o,
                     const std::filesystem::path& scratch) {
  const worldmodel::TrainSettings settings;
  const worldmodel::ModelOptions mo = DefaultJepaOptions(kind);
  torch::manual_seed(0);
  auto model = worldmodel::MakeWorldModel(mo);
  const worldmodel::ClipBatch batch = SyntheticBatch(mo, o.batch_size);
  if (kind == "state") {
    auto flat = batch.observations.reshape({-1, mo.obs_dim});
    model->SetNormalisation(flat.mean(0), flat.std(0).clamp_min(1e-6));
  }
  model->train();
  KindResult r;
  std::vector<torch::Tensor> trainable;
  for (const auto& p : model->parameters()) {
    r.parameters += p.numel();
    if (p.requires_grad()) {
      r.trainable += p.numel();
      trainable.push_back(p);
    }
  }
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(settings.lr));

  const auto dir = scratch / kind;
  std::filesystem::create_directories(dir);
  ExportForPython(*model, batch, dir);
  r.initial_loss = model->Loss(batch).metrics.at("total");

  PythonReference py(
      o.python,
      {o.script, "--input", kind, "--data", dir.string(), "--threads", std::to_string(o.threads),
       "--obs-dim", std::to_string(mo.obs_dim), "--act-dim", std::to_string(mo.act_dim),
       "--frame-size", std::to_string(mo.frame_size), "--latent-dim",
       std::to_string(mo.latent_dim), "--hidden", std::to_string(mo.hidden), "--channels",
       std::to_string(mo.channels), "--context", std::to_string(mo.context), "--horizon",
       std::to_string(mo.horizon), "--ema", Fmt(mo.ema), "--variance-weight",
       Fmt(mo.variance_weight), "--covariance-weight", Fmt(mo.covariance_weight), "--lr",
       Fmt(settings.lr), "--map", std::to_string(mo.map), "--map-channels",
       std::to_string(mo.map_channels)},
      dir / "python.stderr");
  const nlohmann::json hello = py.ReadJson();
  if (hello.contains("error")) {
    throw std::runtime_error("bench train (" + kind + "): the models differ: " +
                             hello["error"].get<std::string>());
  }
  const int64_t py_parameters = hello.value("parameters", int64_t{-1});
  const int64_t py_trainable = hello.value("trainable", int64_t{-1});
  if (py_parameters != r.parameters || py_trainable != r.trainable) {
    throw std::runtime_error("bench train (" + kind + "): parameter counts differ: C++ " +
                             std::to_string(r.parameters) + " (" + std::to_string(r.trainable) +
                             " trainable), Python " + std::to_string(py_parameters) + " (" +
                             std::to_string(py_trainable) + " trainable)");
  }
  r.python_initial_loss = hello["initial"].value("total", std::nan(""));
  if (!(std::abs(r.python_initial_loss - r.initial_loss) <=
        1e-4 * std::max(1.0, std::abs(r.initial_loss)))) {
    throw std::runtime_error("bench train (" + kind + "): the initial loss differs: C++ " +
                             Fmt(r.initial_loss) + ", Python " + Fmt(r.python_initial_loss));
  }

  double cpp_cpu = 0.0, python_cpu = 0.0;
  auto run_cpp = [&] {
    for (int i = 0; i < o.warmup; ++i) TrainStep(*model, optimizer, batch);
    const double cpu_start = ProcessCpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < o.steps; ++i) TrainStep(*model, optimizer, batch);
    r.cpp_rounds.push_back(o.steps / SecondsSince(start));
    cpp_cpu += ProcessCpuSeconds() - cpu_start;
  };
  auto run_python = [&] {
    py.Send("run " + std::to_string(o.warmup) + " " + std::to_string(o.steps));
    const nlohmann::json answer = py.ReadJson();
    r.python_rounds.push_back(answer.value("steps_per_s", 0.0));
    python_cpu += answer.value("cpu_seconds", 0.0);
  };
  // Interleaved, the order alternating so that neither side always runs first.
  for (int round = 0; round < o.rounds; ++round) {
    if (round % 2 == 0) {
      run_cpp();
      run_python();
    } else {
      run_python();
      run_cpp();
    }
  }
  r.cpp = *std::max_element(r.cpp_rounds.begin(), r.cpp_rounds.end());
  r.python = *std::max_element(r.python_rounds.begin(), r.python_rounds.end());
  std::vector<double> ratios;
  for (int i = 0; i < o.rounds; ++i) ratios.push_back(r.cpp_rounds[i] / r.python_rounds[i]);
  std::sort(ratios.begin(), ratios.end());
  r.median_ratio = ratios.size() % 2 ? ratios[ratios.size() / 2]
                                     : 0.5 * (ratios[ratios.size() / 2 - 1] + ratios[ratios.size() / 2]);
  r.cpp_cpu_ms = 1e3 * cpp_cpu / (static_cast<double>(o.steps) * o.rounds);
  r.python_cpu_ms = 1e3 * python_cpu / (static_cast<double>(o.steps) * o.rounds);
  return r;
}

void RunBenchTrain(BenchTrainOptions o) {
  if (o.steps < 1) throw sim::BadInput("--steps must be >= 1 (got " + std::to_string(o.steps) + ")");
  if (o.batch_size < 2) {
    throw sim::BadInput("--batch-size must be >= 2 (got " + std::to_string(o.batch_size) + ")");
  }
  if (o.threads < 0) {
    throw sim::BadInput("--threads must be >= 1, or 0 for all cores (got " +
                        std::to_string(o.threads) + ")");
  }
  if (o.warmup < 0) throw sim::BadInput("--warmup must be >= 0 (got " + std::to_string(o.warmup) + ")");
  if (o.rounds < 1) throw sim::BadInput("--rounds must be >= 1 (got " + std::to_string(o.rounds) + ")");
  if (o.nproc != 1) {
    if (o.input != "both" && o.input != "pixels" && o.input != "state") {
      throw sim::BadInput("--input " + o.input + ": must be pixels, state or both");
    }
    // Data-parallel scaling instead of the C++/Python comparison.
    const auto r = MeasureParallelTraining({.nproc = o.nproc, .steps = std::max(o.steps, 60),
                                            .global_batch = o.batch_size, .input = o.input});
    if (o.json) {
      std::printf("%s\n", r.dump(2).c_str());
      return;
    }
    std::printf("bench train --nproc %d: jepa, %d steps, global batch %d, 1 torch thread per "
                "process (wall time of `darkmatter train`, start-up included)\n",
                o.nproc, r["steps"].get<int>(), o.batch_size);
    for (const char* kind : {"pixels", "state"}) {
      if (!r.contains(kind)) continue;
      const auto& k = r[kind];
      std::printf("  %-6s 1 process %7.2f s (%8.1f samples/s)   %d processes %7.2f s (%8.1f "
                  "samples/s)   speed-up %.2f   efficiency %.2f\n",
                  kind, k["seconds_1"].get<double>(), k["samples_per_s_1"].get<double>(), o.nproc,
                  k["seconds_n"].get<double>(), k["samples_per_s_n"].get<double>(),
                  k["speedup"].get<double>(), k["parallel_efficiency"].get<double>());
    }
    return;
  }
  std::vector<std::string> kinds;
  if (o.input == "both") {
    kinds = {"spatial", "pixels", "state"};
  } else if (o.input == "pixels" || o.input == "state" || o.input == "spatial") {
    kinds = {o.input};
  } else {
    throw sim::BadInput("--input " + o.input + ": must be spatial, pixels, state or both");
  }
  if (o.python.find('/') != std::string::npos && ::access(o.python.c_str(), X_OK) != 0) {
    throw sim::BadInput("--python " + o.python + ": no such executable");
  }
  if (!std::filesystem::is_regular_file(o.script)) {
    throw sim::BadInput("reference script " + o.script + " not found");
  }
  if (o.threads == 0) o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(o.threads);
  ::signal(SIGPIPE, SIG_IGN);  // a dead child is reported by ReadJson, not by a signal

  ScratchDir scratch;
  nlohmann::json result = {{"threads", o.threads}, {"batch_size", o.batch_size},
                           {"steps", o.steps},     {"warmup", o.warmup},
                           {"rounds", o.rounds},   {"python", o.python},
                           {"obs_dim", kObsDim},   {"act_dim", kActDim},
                           {"frame_size", kFrameSize}};
  // libgomp's OMP_WAIT_POLICY (both processes share the environment): on a busy machine
  // "passive" is several times faster with more than one thread.
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  result["omp_wait_policy"] = wait_policy ? wait_policy : "";
  std::vector<std::pair<std::string, KindResult>> results;
  for (const auto& kind : kinds) {
    const KindResult r = BenchKind(kind, o, scratch.path);
    results.emplace_back(kind, r);
    result[kind] = {{"cpp_steps_per_s", r.cpp},
                    {"python_steps_per_s", r.python},
                    {"ratio_vs_python", r.cpp / r.python},
                    {"median_round_ratio", r.median_ratio},
                    {"cpp_cpu_ms_per_step", r.cpp_cpu_ms},
                    {"python_cpu_ms_per_step", r.python_cpu_ms},
                    {"cpp_rounds", r.cpp_rounds},
                    {"python_rounds", r.python_rounds},
                    {"parameters", r.parameters},
                    {"trainable_parameters", r.trainable},
                    {"initial_loss", r.initial_loss},
                    {"python_initial_loss", r.python_initial_loss}};
  }
  if (o.json) {
    std::printf("%s\n", result.dump(2).c_str());
    return;
  }
  std::printf("bench train: jepa, default model settings, batch %d, %d timed steps after %d "
              "warm-up, best of %d interleaved rounds, %d threads\n",
              o.batch_size, o.steps, o.warmup, o.rounds, o.threads);
  std::printf("  %-7s %10s %12s %14s %7s %13s %14s %14s\n", "input", "parameters",
              "C++ steps/s", "Python steps/s", "ratio", "median ratio", "C++ CPU ms/st",
              "Py CPU ms/st");
  for (const auto& [kind, r] : results) {
    std::printf("  %-7s %10lld %12.2f %14.2f %7.3f %13.3f %14.1f %14.1f\n", kind.c_str(),
                static_cast<long long>(r.parameters), r.cpp, r.python, r.cpp / r.python,
                r.median_ratio, r.cpp_cpu_ms, r.python_cpu_ms);
  }
}

}  // namespace

void AddBenchTrainCommand(CLI::App& bench) {
  auto* cmd = bench.add_subcommand(
      "train", "jepa training steps/s in LibTorch against the same model in python3-torch");
  auto o = std::make_shared<BenchTrainOptions>();
  cmd->add_option("--steps", o->steps, "Timed training steps per measurement")
      ->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Clips per step")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Torch threads on both sides (0: all cores)")
      ->check(CLI::Range(0, sim::kMaxThreads))
      ->capture_default_str();
  cmd->add_option("--input", o->input, "spatial (the spatial pixel jepa), pixels (global-vector pixel jepa, 3x64x64 frames), state (33 dims) or both (all three)")
      ->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed steps before each measurement")
      ->capture_default_str();
  cmd->add_option("--rounds", o->rounds, "C++/Python measurement pairs (alternating order); best is kept")
      ->capture_default_str();
  cmd->add_option("--python", o->python, "Python with Debian's python3-torch")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_option("--nproc", o->nproc,
                  "> 1: data-parallel scaling of `train --nproc N` against one process (same "
                  "data and global batch) instead of the comparison with Python")
      ->capture_default_str();
  cmd->callback([o] { RunBenchTrain(*o); });
}

}  // namespace darkmatter::apps
