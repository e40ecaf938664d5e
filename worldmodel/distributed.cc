#include "worldmodel/distributed.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <tuple>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "sim/error.h"

namespace darkmatter::worldmodel {
namespace {

// The value of `name`, or nullptr when it is unset or empty.
const char* Env(const char* name) {
  const char* value = std::getenv(name);
  return (value == nullptr || *value == '\0') ? nullptr : value;
}

// Parses a whole decimal integer in [lo, hi]; throws BadInput naming the variable.
int ParseEnvInt(const char* name, const char* text, int lo, int hi) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || value < lo || value > hi ||
      std::isspace(static_cast<unsigned char>(text[0]))) {
    throw sim::BadInput("environment variable " + std::string(name) + "='" + text +
                        "' is not an integer in [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]");
  }
  return static_cast<int>(value);
}

// DARKMATTER_DIST_TIMEOUT in seconds, or `fallback` when unset; throws BadInput when it is
// not a positive finite number.
double EnvTimeout(double fallback) {
  const char* text = Env("DARKMATTER_DIST_TIMEOUT");
  if (text == nullptr) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value > 0) || !std::isfinite(value)) {
    throw sim::BadInput("environment variable DARKMATTER_DIST_TIMEOUT='" + std::string(text) +
                        "' is not a positive number of seconds");
  }
  return value;
}

// "2", "0.5": seconds for messages.
std::string Seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", s);
  return text;
}

// First line of an exception message (c10 messages carry long backtraces).
std::string FirstLine(const std::string& text) {
  const size_t eol = text.find('\n');
  return eol == std::string::npos ? text : text.substr(0, eol);
}

std::string Describe(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return FirstLine(c10_error->what_without_backtrace());
  }
  return FirstLine(e.what());
}

// Every parameter (trainable only, when `trainable`) and, when `buffers`, every buffer.
std::vector<torch::Tensor> Tensors(torch::nn::Module& module, bool trainable, bool buffers) {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters()) {
    if (!trainable || p.requires_grad()) out.push_back(p);
  }
  if (buffers) {
    for (const auto& b : module.buffers()) out.push_back(b);
  }
  return out;
}

}  // namespace

DistributedOptions DistributedOptions::FromEnvironment() {
  DistributedOptions o;
  const char* world = Env("WORLD_SIZE");
  const char* rank = Env("RANK");
  if (world == nullptr && rank == nullptr) {
    o.timeout_s = EnvTimeout(o.timeout_s);
    return o;
  }
  if (world == nullptr) {
    throw sim::BadInput("environment variable RANK='" + std::string(rank) +
                        "' is set but WORLD_SIZE is not");
  }
  if (rank == nullptr) {
    throw sim::BadInput("environment variable WORLD_SIZE='" + std::string(world) +
                        "' is set but RANK is not");
  }
  o.world_size = ParseEnvInt("WORLD_SIZE", world, 1, 1 << 16);
  o.rank = ParseEnvInt("RANK", rank, 0, o.world_size - 1);
  o.local_rank = o.rank;
  if (const char* local = Env("LOCAL_RANK")) {
    o.local_rank = ParseEnvInt("LOCAL_RANK", local, 0, o.world_size - 1);
  }
  const char* addr = Env("MASTER_ADDR");
  const char* port = Env("MASTER_PORT");
  if (o.world_size > 1 && addr == nullptr) {
    throw sim::BadInput(
        "environment variable MASTER_ADDR is not set (WORLD_SIZE=" + std::string(world) + ")");
  }
  if (o.world_size > 1 && port == nullptr) {
    throw sim::BadInput(
        "environment variable MASTER_PORT is not set (WORLD_SIZE=" + std::string(world) + ")");
  }
  if (addr != nullptr) o.master_addr = addr;
  if (port != nullptr) o.master_port = ParseEnvInt("MASTER_PORT", port, 1, 65535);
  o.timeout_s = EnvTimeout(o.timeout_s);
  return o;
}

void ValidateDistributedOptions(const DistributedOptions& o) {
  if (o.world_size < 1) {
    throw sim::BadInput("distributed: world_size=" + std::to_string(o.world_size) +
                        " must be at least 1");
  }
  if (o.rank < 0 || o.rank >= o.world_size) {
    throw sim::BadInput("distributed: rank=" + std::to_string(o.rank) + " is outside [0, " +
                        std::to_string(o.world_size) + ")");
  }
  if (o.local_rank < 0) {
    throw sim::BadInput("distributed: local_rank=" + std::to_string(o.local_rank) + " is negative");
  }
  if (o.master_port < 1 || o.master_port > 65535) {
    throw sim::BadInput("distributed: master_port=" + std::to_string(o.master_port) +
                        " is outside [1, 65535]");
  }
  if (o.world_size > 1 && o.master_addr.empty()) {
    throw sim::BadInput("distributed: master_addr is empty");
  }
  if (!(o.timeout_s > 0) || !std::isfinite(o.timeout_s)) {
    throw sim::BadInput("distributed: timeout_s=" + std::to_string(o.timeout_s) +
                        " must be a positive number of seconds");
  }
}

std::vector<int64_t> ShardIndices(int64_t n, int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw sim::BadInput("distributed: rank=" + std::to_string(rank) + " is outside [0, " +
                        std::to_string(world_size) + ")");
  }
  if (n < world_size) {
    throw sim::BadInput("distributed: " + std::to_string(n) + " episodes cannot be shared by " +
                        std::to_string(world_size) + " processes (each needs at least one)");
  }
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>((n - rank + world_size - 1) / world_size));
  for (int64_t i = rank; i < n; i += world_size) out.push_back(i);
  return out;
}

namespace {

#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
// Runs one collective and waits for it; any failure or timeout becomes a DistributedError
// naming the operation, this rank and the time it took.
template <typename Start>
void RunCollective(const char* what, const DistributedOptions& o, std::chrono::milliseconds timeout,
                   Start start) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    auto work = start();
    work->wait(timeout);
  } catch (const std::exception& e) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char elapsed[32];
    std::snprintf(elapsed, sizeof(elapsed), "%.1f", s);
    throw DistributedError(std::string("distributed: ") + what + " failed on rank " +
                           std::to_string(o.rank) + " of " + std::to_string(o.world_size) +
                           " after " + elapsed + " s (timeout " + Seconds(o.timeout_s) +
                           " s; another rank probably exited or hung): " + Describe(e));
  }
}
#endif

enum Purpose { kGradients = 0, kParameters = 1 };

}  // namespace

struct DataParallel::Impl {
  DistributedOptions options;
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
#ifdef USE_C10D_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef USE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;

  // The NCCL group, created by the first collective on CUDA tensors (every rank reaches
  // that call at the same point of the program).
  c10d::ProcessGroupNCCL& Nccl() {
    if (!nccl) {
      setenv("NCCL_ASYNC_ERROR_HANDLING", "1", 0);  // fail on timeouts instead of hanging
      setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1", 0);
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = timeout;
      nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          c10::make_intrusive<c10d::PrefixStore>("nccl", store), options.rank, options.world_size,
          nccl_options);
    }
    return *nccl;
  }
#endif
  // Flat buffers reused between steps, keyed by (purpose, dtype, device).
  std::map<std::tuple<int, int, std::string>, torch::Tensor> buckets;

  // Copies `tensors` into flat buckets (one per dtype and device), runs `reduce(bucket)` on
  // each, then copies the buckets back. CUDA tensors get a CUDA bucket when NCCL is
  // available, otherwise a CPU one (Gloo).
  void Bucketed(int purpose, std::vector<torch::Tensor>& tensors,
                const std::function<void(torch::Tensor&)>& reduce) {
    torch::NoGradGuard no_grad;
    std::map<std::pair<int, std::string>, std::vector<size_t>> groups;
    for (size_t i = 0; i < tensors.size(); ++i) {
      bool on_cuda = false;
#ifdef USE_C10D_NCCL
      on_cuda = tensors[i].is_cuda();
#endif
      const torch::Device device = on_cuda ? tensors[i].device() : torch::Device(torch::kCPU);
      groups[{static_cast<int>(tensors[i].scalar_type()), device.str()}].push_back(i);
    }
    for (const auto& [key, indices] : groups) {
      int64_t numel = 0;
      for (size_t i : indices) numel += tensors[i].numel();
      torch::Tensor& bucket = buckets[{purpose, key.first, key.second}];
      if (!bucket.defined() || bucket.numel() != numel) {
        bucket = torch::empty({numel}, torch::TensorOptions()
                                           .dtype(static_cast<torch::ScalarType>(key.first))
                                           .device(torch::Device(key.second)));
      }
      int64_t offset = 0;
      for (size_t i : indices) {
        const int64_t n = tensors[i].numel();
        bucket.narrow(0, offset, n).view_as(tensors[i]).copy_(tensors[i]);
        offset += n;
      }
      reduce(bucket);
      offset = 0;
      for (size_t i : indices) {
        const int64_t n = tensors[i].numel();
        tensors[i].copy_(bucket.narrow(0, offset, n).view_as(tensors[i]));
        offset += n;
      }
    }
  }

  // Broadcasts `tensor` from rank 0 in place.
  void Broadcast(const char* what, torch::Tensor& tensor) {
    std::vector<at::Tensor> list{tensor};
    c10d::BroadcastOptions opts;
    opts.rootRank = 0;
    opts.timeout = timeout;
#ifdef USE_C10D_NCCL
    if (tensor.is_cuda()) {
      RunCollective(what, options, timeout, [&] { return Nccl().broadcast(list, opts); });
      return;
    }
#endif
#ifdef USE_C10D_GLOO
    RunCollective(what, options, timeout, [&] { return gloo->broadcast(list, opts); });
#endif
  }

  // Sums `tensor` over the ranks in place.
  void AllReduceSum(const char* what, torch::Tensor& tensor) {
    std::vector<at::Tensor> list{tensor};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    opts.timeout = timeout;
#ifdef USE_C10D_NCCL
    if (tensor.is_cuda()) {
      RunCollective(what, options, timeout, [&] { return Nccl().allreduce(list, opts); });
      return;
    }
#endif
#ifdef USE_C10D_GLOO
    RunCollective(what, options, timeout, [&] { return gloo->allreduce(list, opts); });
#endif
  }
};

DataParallel::DataParallel(const DistributedOptions& options) : options_(options) {
  ValidateDistributedOptions(options_);
  if (!enabled()) return;
  impl_ = std::make_unique<Impl>();
  impl_->options = options_;
  impl_->timeout =
      std::chrono::milliseconds(static_cast<int64_t>(std::ceil(options_.timeout_s * 1000.0)));
  const std::string where = options_.master_addr + ":" + std::to_string(options_.master_port);
#ifndef USE_C10D_GLOO
  throw DistributedError(
      "distributed: this build has no Gloo backend (configure with "
      "libgloo-dev installed); cannot run world_size=" +
      std::to_string(options_.world_size));
#else
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(options_.master_port);
    store_options.isServer = options_.rank == 0;
    store_options.numWorkers = static_cast<size_t>(options_.world_size);
    store_options.waitWorkers = false;  // the gate below waits, with a clearer error
    store_options.timeout = impl_->timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(options_.master_addr, store_options);
    // Every rank checks in; the last one to arrive opens the gate for all.
    const int64_t joined = impl_->store->add("darkmatter/joined", 1);
    if (joined == options_.world_size)
      impl_->store->set("darkmatter/all_joined", std::vector<uint8_t>{1});
    try {
      impl_->store->wait({"darkmatter/all_joined"}, impl_->timeout);
    } catch (const std::exception& e) {
      const int64_t now = impl_->store->add("darkmatter/joined", 0);
      throw std::runtime_error("only " + std::to_string(now) + " of " +
                               std::to_string(options_.world_size) + " ranks joined");
    }
  } catch (const std::exception& e) {
    throw DistributedError("distributed: rendezvous at " + where + " failed on rank " +
                           std::to_string(options_.rank) + " of " +
                           std::to_string(options_.world_size) + " (timeout " +
                           Seconds(options_.timeout_s) + " s): " + Describe(e));
  }
  try {
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(impl_->timeout);
    const char* interface = Env("GLOO_SOCKET_IFNAME");
    if (interface != nullptr) {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else if (options_.master_addr == "127.0.0.1" || options_.master_addr == "localhost") {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("gloo", impl_->store), options_.rank,
        options_.world_size, gloo_options);
  } catch (const std::exception& e) {
    throw DistributedError("distributed: connecting the Gloo group (store " + where +
                           ") failed on rank " + std::to_string(options_.rank) + " of " +
                           std::to_string(options_.world_size) + " (timeout " +
                           Seconds(options_.timeout_s) + " s): " + Describe(e));
  }
#endif
}

std::unique_ptr<DataParallel> DataParallel::FromEnvironment() {
  return std::make_unique<DataParallel>(DistributedOptions::FromEnvironment());
}

DataParallel::~DataParallel() = default;

void DataParallel::BroadcastParameters(torch::nn::Module& module) {
  if (!enabled()) return;
  std::vector<torch::Tensor> tensors = Tensors(module, /*trainable=*/false, /*buffers=*/true);
  impl_->Bucketed(kParameters, tensors, [&](torch::Tensor& bucket) {
    impl_->Broadcast("broadcast of parameters", bucket);
  });
}

void DataParallel::AllReduceGradients(torch::nn::Module& module) {
  if (!enabled()) return;
  std::vector<torch::Tensor> grads;
  for (auto& p : Tensors(module, /*trainable=*/true, /*buffers=*/false)) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  const double scale = 1.0 / options_.world_size;
  impl_->Bucketed(kGradients, grads, [&](torch::Tensor& bucket) {
    impl_->AllReduceSum("all-reduce of gradients", bucket);
    bucket.mul_(scale);
  });
}

void DataParallel::AllReduceMean(std::vector<double>* values) {
  if (!enabled() || values->empty()) return;
  torch::Tensor t = torch::tensor(*values, torch::kFloat64);
  impl_->AllReduceSum("all-reduce of values", t);
  t.div_(options_.world_size);
  const double* data = t.data_ptr<double>();
  for (size_t i = 0; i < values->size(); ++i) (*values)[i] = data[i];
}

bool DataParallel::ParametersInSync(torch::nn::Module& module) {
  if (!enabled()) return true;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat;
  for (const auto& t : Tensors(module, /*trainable=*/false, /*buffers=*/true)) {
    flat.push_back(t.detach().to(torch::kCPU, torch::kFloat64).reshape({-1}));
  }
  if (flat.empty()) return true;
  const torch::Tensor mine = torch::cat(flat);
  torch::Tensor root = mine.clone();
  impl_->Broadcast("parameter check", root);
  std::vector<double> mismatches{torch::equal(mine, root) ? 0.0 : 1.0};
  AllReduceMean(&mismatches);
  return mismatches[0] == 0;
}

void DataParallel::Barrier() {
  if (!enabled()) return;
#ifdef USE_C10D_GLOO
  c10d::BarrierOptions opts;
  opts.timeout = impl_->timeout;
  RunCollective("barrier", options_, impl_->timeout, [&] { return impl_->gloo->barrier(opts); });
#endif
}

}  // namespace darkmatter::worldmodel
