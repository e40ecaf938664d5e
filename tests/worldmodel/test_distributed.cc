// Data-parallel training over c10d/Gloo and the --nproc launcher. Multi-process cases
// re-execute this test binary (LaunchWorkers on /proc/self/exe) to run one of the hidden
// "distributed child: ..." test cases as each rank; results come back through files in a
// temporary directory named by DM_DIST_TEST_OUT.
#include <stdlib.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sim/error.h"
#include "worldmodel/distributed.h"
#include "worldmodel/launcher.h"

// LibTorch's headers define glog's CHECK; Catch's CHECK must win, so Catch comes last.
#undef CHECK
#include <catch2/catch.hpp>

namespace fs = std::filesystem;
namespace sim = darkmatter::sim;
namespace wm = darkmatter::worldmodel;

namespace {

constexpr int kSteps = 5;
constexpr const char* kOutVar = "DM_DIST_TEST_OUT";

// Sets (or, with nullopt, unsets) variables for one scope and restores them afterwards.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::optional<std::string>>& values) {
    for (const char* name : {"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                             "DARKMATTER_DIST_TIMEOUT"}) {
      Set(name, std::nullopt);
    }
    for (const auto& [name, value] : values) Set(name, value);
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

 private:
  void Set(const std::string& name, const std::optional<std::string>& value) {
    if (saved_.count(name) == 0) {
      const char* old = std::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value) {
      setenv(name.c_str(), value->c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

std::string BadInputMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const sim::BadInput& e) {
    return e.what();
  }
  return "(no BadInput thrown)";
}

// The tiny model every rank trains: 4 -> 8 -> 2.
torch::nn::Sequential MakeMlp() {
  return torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 2));
}

// Fixed regression data: 8 rows of x (8 x 4) and y (8 x 2).
std::pair<torch::Tensor, torch::Tensor> FixedData() {
  torch::manual_seed(123);
  torch::Tensor x = torch::randn({8, 4});
  torch::Tensor y = torch::randn({8, 2});
  return {x, y};
}

// FNV-1a over the bytes of every parameter, in registration order.
std::string Digest(torch::nn::Module& module) {
  uint64_t h = 1469598103934665603ull;
  for (const auto& p : module.parameters()) {
    const torch::Tensor t = p.detach().to(torch::kCPU).contiguous();
    const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
    for (size_t i = 0; i < t.nbytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(h));
  return text;
}

// Every parameter value, flattened, one per line (%.9g keeps float32 exact).
std::string ParameterText(torch::nn::Module& module) {
  std::ostringstream out;
  for (const auto& p : module.parameters()) {
    const torch::Tensor t = p.detach().to(torch::kCPU).contiguous().reshape({-1});
    for (int64_t i = 0; i < t.numel(); ++i) {
      char v[32];
      std::snprintf(v, sizeof(v), "%.9g\n", t[i].item<float>());
      out << v;
    }
  }
  return out.str();
}

std::vector<double> ReadNumbers(const fs::path& path) {
  std::ifstream in(path);
  std::vector<double> out;
  double v;
  while (in >> v) out.push_back(v);
  return out;
}

void WriteFile(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path ChildOut() {
  const char* dir = std::getenv(kOutVar);
  REQUIRE(dir != nullptr);
  return dir;
}

fs::path MakeTempDir() {
  std::string pattern = (fs::temp_directory_path() / "dm-dist-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

// Runs the hidden test case `child` of this binary as `nproc` ranks.
wm::LaunchResult LaunchChildren(const std::string& child, const fs::path& out, int nproc,
                                double timeout_s) {
  wm::LaunchOptions launch;
  launch.nproc = nproc;
  launch.env[kOutVar] = out.string();
  launch.env["DARKMATTER_DIST_TIMEOUT"] = std::to_string(timeout_s);
  launch.kill_grace_s = 2;
  return wm::LaunchWorkers(launch, {child});
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Children (hidden: run only when a parent test launches them by name).

TEST_CASE("distributed child: train", "[.]") {
  torch::set_num_threads(1);
  wm::DataParallel dp(wm::DistributedOptions::FromEnvironment());
  const fs::path out = ChildOut();
  torch::manual_seed(1 + dp.rank());  // deliberately different: the broadcast must fix it
  torch::nn::Sequential model = MakeMlp();
  dp.BroadcastParameters(*model);
  REQUIRE(dp.ParametersInSync(*model));
  auto [x, y] = FixedData();
  const std::vector<int64_t> shard = wm::ShardIndices(x.size(0), dp.rank(), dp.world_size());
  const torch::Tensor index = torch::tensor(shard, torch::kLong);
  const torch::Tensor xs = x.index_select(0, index);
  const torch::Tensor ys = y.index_select(0, index);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
  for (int step = 0; step < kSteps; ++step) {
    optimizer.zero_grad();
    torch::Tensor loss = torch::mse_loss(model->forward(xs), ys);
    loss.backward();
    dp.AllReduceGradients(*model);
    optimizer.step();
    std::vector<double> metrics{loss.item<double>()};
    dp.AllReduceMean(&metrics);
    WriteFile(out / ("hash_r" + std::to_string(dp.rank()) + "_s" + std::to_string(step)),
              Digest(*model));
  }
  REQUIRE(dp.ParametersInSync(*model));
  WriteFile(out / ("params_r" + std::to_string(dp.rank())), ParameterText(*model));
  dp.Barrier();
}

// Rank 1 leaves after one step (exit status 0); rank 0 keeps stepping and must fail.
TEST_CASE("distributed child: peer exits", "[.]") {
  torch::set_num_threads(1);
  wm::DataParallel dp(wm::DistributedOptions::FromEnvironment());
  const fs::path out = ChildOut();
  torch::nn::Sequential model = MakeMlp();
  dp.BroadcastParameters(*model);
  auto [x, y] = FixedData();
  const bool hang = std::getenv("DM_DIST_TEST_HANG") != nullptr;
  for (int step = 0; step < 1000; ++step) {
    if (dp.rank() == 1 && step == 1) {
      if (hang) std::this_thread::sleep_for(std::chrono::seconds(120));
      std::_Exit(0);
    }
    model->zero_grad();
    torch::mse_loss(model->forward(x), y).backward();
    const auto t0 = std::chrono::steady_clock::now();
    try {
      dp.AllReduceGradients(*model);
    } catch (const wm::DistributedError& e) {
      WriteFile(out / "error", e.what());
      WriteFile(out / "error_seconds", std::to_string(Seconds(t0)));
      std::_Exit(3);
    }
  }
  std::_Exit(4);  // never failed: wrong
}

// Writes the rank variables it was given; rank 1 fails when DM_DIST_TEST_FAIL is set.
TEST_CASE("distributed child: environment", "[.]") {
  const fs::path out = ChildOut();
  const wm::DistributedOptions o = wm::DistributedOptions::FromEnvironment();
  WriteFile(out / ("env_r" + std::to_string(o.rank)),
            std::to_string(o.rank) + " " + std::to_string(o.local_rank) + " " +
                std::to_string(o.world_size) + " " + o.master_addr + " " +
                std::to_string(o.master_port));
  std::string args;
  for (const std::string& arg : wm::CommandLineArgs()) args += arg + "|";
  WriteFile(out / ("args_r" + std::to_string(o.rank)), args);
  if (std::getenv("DM_DIST_TEST_FAIL") != nullptr) {
    if (o.rank == 1) std::_Exit(7);
    std::this_thread::sleep_for(std::chrono::seconds(60));
  }
}

// ---------------------------------------------------------------------------------------
// Single-process tests.

TEST_CASE("FromEnvironment: nothing set is a single process", "[distributed]") {
  ScopedEnv env({});
  const wm::DistributedOptions o = wm::DistributedOptions::FromEnvironment();
  CHECK(o.rank == 0);
  CHECK(o.world_size == 1);
}

TEST_CASE("FromEnvironment reads torchrun's variables", "[distributed]") {
  ScopedEnv env({{"RANK", "3"},
                 {"LOCAL_RANK", "1"},
                 {"WORLD_SIZE", "4"},
                 {"MASTER_ADDR", "10.0.0.7"},
                 {"MASTER_PORT", "29511"},
                 {"DARKMATTER_DIST_TIMEOUT", "7.5"}});
  const wm::DistributedOptions o = wm::DistributedOptions::FromEnvironment();
  CHECK(o.rank == 3);
  CHECK(o.local_rank == 1);
  CHECK(o.world_size == 4);
  CHECK(o.master_addr == "10.0.0.7");
  CHECK(o.master_port == 29511);
  CHECK(o.timeout_s == 7.5);
}

TEST_CASE("FromEnvironment names the malformed variable", "[distributed]") {
  using Values = std::map<std::string, std::optional<std::string>>;
  const std::map<std::string, Values> cases = {
      {"WORLD_SIZE='two'", {{"RANK", "0"}, {"WORLD_SIZE", "two"}}},
      {"WORLD_SIZE='0'", {{"RANK", "0"}, {"WORLD_SIZE", "0"}}},
      {"RANK='2'",
       {{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}},
      {"RANK='-1'", {{"RANK", "-1"}, {"WORLD_SIZE", "2"}}},
      {"RANK='1x'", {{"RANK", "1x"}, {"WORLD_SIZE", "2"}}},
      {"MASTER_PORT='70000'",
       {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}},
      {"MASTER_PORT='80a'",
       {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "80a"}}},
      {"MASTER_ADDR is not set", {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}},
      {"MASTER_PORT is not set", {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}},
      {"WORLD_SIZE is not", {{"RANK", "0"}}},
      {"RANK is not", {{"WORLD_SIZE", "2"}}},
      {"DARKMATTER_DIST_TIMEOUT='-1'", {{"DARKMATTER_DIST_TIMEOUT", "-1"}}},
      {"DARKMATTER_DIST_TIMEOUT='soon'", {{"DARKMATTER_DIST_TIMEOUT", "soon"}}},
  };
  for (const auto& [expected, values] : cases) {
    ScopedEnv env(values);
    INFO(expected);
    CHECK_THAT(BadInputMessage([] { wm::DistributedOptions::FromEnvironment(); }),
               Catch::Contains(expected));
  }
}

TEST_CASE("ShardIndices splits episodes across ranks exactly once", "[distributed]") {
  CHECK(wm::ShardIndices(10, 0, 3) == std::vector<int64_t>{0, 3, 6, 9});
  CHECK(wm::ShardIndices(10, 2, 3) == std::vector<int64_t>{2, 5, 8});
  CHECK(wm::ShardIndices(5, 0, 1) == std::vector<int64_t>{0, 1, 2, 3, 4});
  std::vector<int> seen(101, 0);
  for (int r = 0; r < 7; ++r) {
    for (int64_t i : wm::ShardIndices(101, r, 7)) ++seen[i];
  }
  CHECK(std::count(seen.begin(), seen.end(), 1) == 101);
  CHECK_THAT(BadInputMessage([] { wm::ShardIndices(2, 0, 3); }), Catch::Contains("2 episodes"));
  CHECK_THAT(BadInputMessage([] { wm::ShardIndices(10, 3, 3); }), Catch::Contains("rank=3"));
}

TEST_CASE("A single process makes every collective a no-op", "[distributed]") {
  wm::DataParallel dp(wm::DistributedOptions{});
  CHECK_FALSE(dp.enabled());
  CHECK(dp.is_main());
  torch::nn::Sequential model = MakeMlp();
  const std::string before = Digest(*model);
  dp.BroadcastParameters(*model);
  dp.AllReduceGradients(*model);
  dp.Barrier();
  std::vector<double> v{1.5, 2.5};
  dp.AllReduceMean(&v);
  CHECK(v == std::vector<double>{1.5, 2.5});
  CHECK(dp.ParametersInSync(*model));
  CHECK(Digest(*model) == before);
}

TEST_CASE("Invalid options are refused by name", "[distributed]") {
  wm::DistributedOptions o;
  o.world_size = 2;
  o.rank = 2;
  CHECK_THAT(BadInputMessage([&] { wm::DataParallel dp(o); }), Catch::Contains("rank=2"));
  o.rank = 0;
  o.timeout_s = 0;
  CHECK_THAT(BadInputMessage([&] { wm::DataParallel dp(o); }), Catch::Contains("timeout_s"));
  wm::LaunchOptions launch;
  launch.nproc = 0;
  CHECK_THAT(BadInputMessage([&] { wm::LaunchWorkers(launch, {}); }), Catch::Contains("--nproc=0"));
}

TEST_CASE("A rendezvous that nobody joins fails within the timeout", "[distributed]") {
  wm::DistributedOptions o;
  o.world_size = 2;
  o.master_port = wm::FreePort();
  o.timeout_s = 2;
  const auto t0 = std::chrono::steady_clock::now();
  std::string message;
  try {
    wm::DataParallel dp(o);
  } catch (const wm::DistributedError& e) {
    message = e.what();
  }
  const double seconds = Seconds(t0);
  INFO(message);
  CHECK_THAT(message, Catch::Contains("rendezvous") && Catch::Contains("rank 0 of 2"));
  CHECK(seconds < 10);
}

// ---------------------------------------------------------------------------------------
// Multi-process tests.

TEST_CASE("The launcher sets the rank variables of every worker", "[distributed][launcher]") {
  const fs::path out = MakeTempDir();
  const wm::LaunchResult r = LaunchChildren("distributed child: environment", out, 3, 30);
  INFO(r.message);
  REQUIRE(r.exit_code == 0);
  CHECK(r.failed_rank == -1);
  const std::string port = ReadFile(out / "env_r0").substr(ReadFile(out / "env_r0").rfind(' ') + 1);
  for (int rank = 0; rank < 3; ++rank) {
    CHECK(ReadFile(out / ("env_r" + std::to_string(rank))) ==
          std::to_string(rank) + " " + std::to_string(rank) + " 3 127.0.0.1 " + port);
    CHECK(ReadFile(out / ("args_r" + std::to_string(rank))) == "distributed child: environment|");
  }
  fs::remove_all(out);
}

TEST_CASE("The launcher names a failed rank and terminates the others", "[distributed][launcher]") {
  const fs::path out = MakeTempDir();
  ScopedEnv env(std::map<std::string, std::optional<std::string>>{{"DM_DIST_TEST_FAIL", "1"}});
  const wm::LaunchResult r = LaunchChildren("distributed child: environment", out, 2, 30);
  unsetenv("DM_DIST_TEST_FAIL");
  INFO(r.message);
  CHECK(r.exit_code == 7);
  CHECK(r.failed_rank == 1);
  CHECK_THAT(r.message, Catch::Contains("rank 1 of 2 exited with status 7") &&
                            Catch::Contains("terminated the other ranks"));
  CHECK(r.seconds < 20);  // rank 0 would sleep for 60 s
  fs::remove_all(out);

  wm::LaunchOptions missing;
  missing.nproc = 2;
  missing.executable = "/nonexistent/darkmatter";
  const wm::LaunchResult m = wm::LaunchWorkers(missing, {});
  CHECK(m.exit_code == 127);
  CHECK_THAT(m.message, Catch::Contains("of 2 exited with status 127"));
}

TEST_CASE("Two ranks train in lockstep and match one process on the combined batch",
          "[distributed]") {
  const fs::path out = MakeTempDir();
  const wm::LaunchResult r = LaunchChildren("distributed child: train", out, 2, 30);
  INFO(r.message);
  REQUIRE(r.exit_code == 0);
  for (int step = 0; step < kSteps; ++step) {
    const std::string h0 = ReadFile(out / ("hash_r0_s" + std::to_string(step)));
    const std::string h1 = ReadFile(out / ("hash_r1_s" + std::to_string(step)));
    INFO("step " << step);
    CHECK(h0.size() == 16);
    CHECK(h0 == h1);
  }
  // Reference: rank 0's initial parameters, trained on all 8 rows in one process.
  torch::manual_seed(1);
  torch::nn::Sequential model = MakeMlp();
  auto [x, y] = FixedData();
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
  for (int step = 0; step < kSteps; ++step) {
    optimizer.zero_grad();
    torch::mse_loss(model->forward(x), y).backward();
    optimizer.step();
  }
  std::istringstream reference(ParameterText(*model));
  const std::vector<double> got = ReadNumbers(out / "params_r0");
  std::vector<double> want;
  for (double v; reference >> v;) want.push_back(v);
  REQUIRE(got.size() == want.size());
  REQUIRE(got.size() == 4 * 8 + 8 + 8 * 2 + 2);
  double max_diff = 0;
  for (size_t i = 0; i < got.size(); ++i) max_diff = std::max(max_diff, std::abs(got[i] - want[i]));
  CHECK(max_diff < 1e-5);
  // Training moved the parameters away from their start.
  torch::manual_seed(1);
  torch::nn::Sequential start = MakeMlp();
  CHECK(Digest(*start) != Digest(*model));
  fs::remove_all(out);
}

TEST_CASE("A rank that exits early makes the other fail, not hang", "[distributed]") {
  const fs::path out = MakeTempDir();
  const double timeout_s = 8;
  const wm::LaunchResult r = LaunchChildren("distributed child: peer exits", out, 2, timeout_s);
  INFO(r.message);
  CHECK(r.exit_code == 3);
  CHECK(r.failed_rank == 0);
  const std::string error = ReadFile(out / "error");
  INFO(error);
  CHECK_THAT(error, Catch::Contains("all-reduce of gradients failed on rank 0 of 2"));
  CHECK(std::stod(ReadFile(out / "error_seconds")) < timeout_s + 2);
  CHECK(r.seconds < 3 * timeout_s);
  fs::remove_all(out);
}

TEST_CASE("A rank that hangs makes the other fail after the timeout", "[distributed]") {
  const fs::path out = MakeTempDir();
  const double timeout_s = 3;
  ScopedEnv env(std::map<std::string, std::optional<std::string>>{{"DM_DIST_TEST_HANG", "1"}});
  const wm::LaunchResult r = LaunchChildren("distributed child: peer exits", out, 2, timeout_s);
  unsetenv("DM_DIST_TEST_HANG");
  INFO(r.message);
  CHECK(r.exit_code == 3);
  CHECK(r.failed_rank == 0);
  CHECK_THAT(r.message, Catch::Contains("terminated the other ranks"));
  const std::string error = ReadFile(out / "error");
  INFO(error);
  CHECK_THAT(error, Catch::Contains("all-reduce of gradients failed on rank 0 of 2") &&
                        Catch::Contains("timeout 3 s"));
  const double seconds = std::stod(ReadFile(out / "error_seconds"));
  CHECK(seconds >= timeout_s - 0.5);
  CHECK(seconds < timeout_s + 5);
  CHECK(r.seconds < 30);  // the hung rank sleeps for 120 s
  fs::remove_all(out);
}

TEST_CASE("launcher: the master host is the first of a Slurm node list", "[launcher][slurm]") {
  using darkmatter::worldmodel::FirstSlurmHost;
  CHECK(FirstSlurmHost("vm") == "vm");
  CHECK(FirstSlurmHost("node[07-09,12],gpu1") == "node07");
  CHECK(FirstSlurmHost("gpu1,node[07-09]") == "gpu1");
  CHECK(FirstSlurmHost("rack[3,5]-ib") == "rack3-ib");
  CHECK(FirstSlurmHost("n[001-004]") == "n001");
  CHECK_THROWS_AS(FirstSlurmHost("n[001"), darkmatter::sim::BadInput);
}
