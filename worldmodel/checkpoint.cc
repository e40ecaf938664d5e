#include "worldmodel/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

#include <torch/torch.h>

#include "sim/error.h"
#include "sim/file_checks.h"
#include "sim/hash.h"
#include "worldmodel/archive_check.h"
#include "worldmodel/run_files.h"

namespace darkmatter::worldmodel {
namespace {

// Every parameter and buffer by its dotted name, e.g. "encoder.0.weight".
std::map<std::string, torch::Tensor> NamedTensors(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : module.named_parameters(true)) tensors[item.key()] = item.value();
  for (const auto& item : module.named_buffers(true)) tensors[item.key()] = item.value();
  return tensors;
}

std::string ShapeText(at::IntArrayRef sizes) {
  std::string text = "(";
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? "x" : "") + std::to_string(sizes[i]);
  return text + ")";
}

std::string Join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// Mixes a tensor's name, shape and bytes (on the CPU) into `hasher`.
void AddTensor(const std::string& name, const at::Tensor& tensor, sim::Hasher* hasher) {
  hasher->Add(name.data(), name.size());
  const at::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
  for (int64_t size : cpu.sizes()) hasher->AddValue(size);
  hasher->Add(cpu.data_ptr(), cpu.numel() * cpu.element_size());
}

// Throws unless every element `tensor` views lies inside its storage: a damaged archive can
// give a tensor a shape, stride or offset larger than the bytes stored for it (found by
// fuzz_checkpoint: reading it was a heap overflow).
void RequireWithinStorage(const at::Tensor& tensor, const std::string& what) {
  if (tensor.numel() == 0) return;
  bool ok = tensor.has_storage() && tensor.storage_offset() >= 0;
  int64_t last = ok ? tensor.storage_offset() : 0;  // storage index of the last element viewed
  for (int64_t d = 0; ok && d < tensor.dim(); ++d) {
    int64_t extent = 0;
    ok = tensor.stride(d) >= 0 &&
         !__builtin_mul_overflow(tensor.size(d) - 1, tensor.stride(d), &extent) &&
         !__builtin_add_overflow(last, extent, &last);
  }
  int64_t end = 0;
  ok = ok && !__builtin_add_overflow(last, int64_t{1}, &end) &&
       !__builtin_mul_overflow(end, static_cast<int64_t>(tensor.element_size()), &end) &&
       end <= static_cast<int64_t>(tensor.storage().nbytes());
  if (!ok) throw std::runtime_error("tensor '" + what + "' does not fit its stored data");
}

// 16 hex digits of a hash.
std::string HexText(const sim::Hasher& hasher) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hasher.Value()));
  return text;
}

// The checksum over everything a checkpoint holds: names, dtypes, shapes and bytes of every
// tensor, the step, the metadata and the optimiser's serialised state. Any changed byte
// changes it (each FNV-1a step is a bijection), so a bit flip is refused, not loaded.
std::string ContentChecksum(const std::vector<std::string>& names,
                            const std::vector<at::Tensor>& tensors, int64_t step,
                            const std::string& metadata, const std::string& optimizer_bytes) {
  sim::Hasher hasher;
  for (size_t i = 0; i < names.size(); ++i) {
    hasher.AddValue(static_cast<int>(tensors[i].scalar_type()));
    AddTensor(names[i], tensors[i], &hasher);
  }
  hasher.AddValue(step);
  hasher.Add(metadata.data(), metadata.size());
  hasher.Add(optimizer_bytes.data(), optimizer_bytes.size());
  return HexText(hasher);
}

// The first line of a loader's error, without libtorch's C++ backtrace.
std::string FirstLine(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  return text.substr(0, std::min(text.find('\n'), size_t{200}));
}

// Everything a checkpoint file holds, read and verified (checksum, finite values).
struct StoredCheckpoint {
  std::vector<std::string> names;
  std::vector<at::Tensor> tensors;
  int64_t step = 0;
  std::string metadata;
  std::string optimizer_bytes;
};

// Reads `path` onto `device`; BadInput naming the file when it is unreadable, damaged
// (checksum), from before format 2, or holds NaN/inf values.
StoredCheckpoint ReadVerified(const std::string& path, torch::Device device) {
  if (!std::filesystem::exists(path)) {
    throw sim::BadInput("checkpoint '" + path + "' does not exist");
  }
  sim::RequireRegularFile(path, "checkpoint");
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (const std::string problem = ArchiveProblem(bytes); !problem.empty()) {
    throw sim::BadInput("checkpoint '" + path + "' is not a darkmatter checkpoint (" + problem +
                        ")");
  }
  StoredCheckpoint stored;
  std::string checksum;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    c10::IValue names, values, metadata, optimizer, stored_checksum;
    torch::Tensor step;
    archive.read("tensor_names", names);
    archive.read("tensor_values", values);
    archive.read("step", step);
    if (!archive.try_read("checksum", stored_checksum) ||
        !archive.try_read("optimizer_bytes", optimizer)) {
      throw sim::BadInput("checkpoint '" + path +
                          "' has no checksum (written before checkpoint format 2): retrain it");
    }
    if (archive.try_read("metadata", metadata)) stored.metadata = metadata.toStringRef();
    checksum = stored_checksum.toStringRef();
    const auto name_list = names.toList();
    stored.tensors = values.toTensorVector();
    if (name_list.size() != stored.tensors.size()) throw std::runtime_error("name/tensor count");
    for (size_t i = 0; i < name_list.size(); ++i) {
      stored.names.push_back(name_list.get(i).toStringRef());
      RequireWithinStorage(stored.tensors[i], stored.names.back());
    }
    RequireWithinStorage(step, "step");
    RequireWithinStorage(optimizer.toTensor(), "optimizer_bytes");
    if (step.numel() != 1 || step.scalar_type() != torch::kInt64) {
      throw std::runtime_error("step is not one integer");
    }
    stored.step = step.item<int64_t>();
    const at::Tensor bytes = optimizer.toTensor().to(torch::kCPU).contiguous();
    if (bytes.scalar_type() != torch::kUInt8) throw std::runtime_error("optimiser bytes");
    stored.optimizer_bytes.assign(static_cast<const char*>(bytes.data_ptr()), bytes.numel());
  } catch (const sim::BadInput&) {
    throw;
  } catch (const std::exception& e) {
    throw sim::BadInput("checkpoint '" + path + "' is not a darkmatter checkpoint (" +
                        FirstLine(e) + ")");
  }
  if (ContentChecksum(stored.names, stored.tensors, stored.step, stored.metadata,
                      stored.optimizer_bytes) != checksum) {
    throw sim::BadInput("checkpoint '" + path +
                        "' is damaged: its checksum does not match its contents");
  }
  for (size_t i = 0; i < stored.names.size(); ++i) {
    const at::Tensor& tensor = stored.tensors[i];
    if (tensor.is_floating_point() && !torch::isfinite(tensor).all().item<bool>()) {
      throw sim::BadInput("checkpoint '" + path + "': tensor '" + stored.names[i] +
                          "' holds NaN or infinite values");
    }
  }
  if (stored.step < 0) throw sim::BadInput("checkpoint '" + path + "': negative step");
  return stored;
}

}  // namespace

void SaveCheckpoint(const std::string& path, const torch::nn::Module& module,
                    const torch::optim::Optimizer& optimizer, int64_t step,
                    const std::string& metadata) {
  std::vector<std::string> names;
  std::vector<at::Tensor> tensors;
  c10::List<std::string> name_list;
  c10::List<at::Tensor> value_list;
  for (const auto& [name, tensor] : NamedTensors(module)) {
    names.push_back(name);
    tensors.push_back(tensor.detach().to(torch::kCPU));
    name_list.push_back(name);
    value_list.push_back(tensors.back());
  }
  std::ostringstream optimizer_stream;
  {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer.save(optimizer_archive);
    optimizer_archive.save_to(optimizer_stream);
  }
  const std::string optimizer_bytes = optimizer_stream.str();
  at::Tensor optimizer_tensor = torch::empty({static_cast<int64_t>(optimizer_bytes.size())},
                                             torch::kUInt8);
  std::memcpy(optimizer_tensor.data_ptr(), optimizer_bytes.data(), optimizer_bytes.size());
  torch::serialize::OutputArchive archive;
  archive.write("tensor_names", c10::IValue(name_list));
  archive.write("tensor_values", c10::IValue(value_list));
  archive.write("step", torch::tensor(step, torch::kInt64));
  archive.write("metadata", c10::IValue(metadata));
  archive.write("optimizer_bytes", optimizer_tensor);
  archive.write("checksum",
                c10::IValue(ContentChecksum(names, tensors, step, metadata, optimizer_bytes)));
  std::ostringstream file_bytes;
  archive.save_to(file_bytes);
  // Whole into a temporary file, then renamed: a full disk leaves the old checkpoint as it was.
  WriteTextAtomically(sim::ResolveOutputFile(path, "checkpoint"), file_bytes.str());
}

int64_t LoadCheckpoint(const std::string& path, torch::nn::Module& module,
                       torch::optim::Optimizer* optimizer) {
  const auto parameters = module.parameters(true);
  const StoredCheckpoint file = ReadVerified(
      path, parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device());
  std::map<std::string, at::Tensor> stored;
  for (size_t i = 0; i < file.names.size(); ++i) stored[file.names[i]] = file.tensors[i];
  auto expected = NamedTensors(module);
  std::vector<std::string> missing, extra, misshaped;
  for (const auto& [name, tensor] : expected) {
    auto it = stored.find(name);
    if (it == stored.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != tensor.sizes() ||
               it->second.scalar_type() != tensor.scalar_type()) {
      misshaped.push_back(name + " " + ShapeText(it->second.sizes()) + " in the file, " +
                          ShapeText(tensor.sizes()) + " in the model");
    }
  }
  for (const auto& [name, tensor] : stored) {
    if (!expected.count(name)) extra.push_back(name);
  }
  if (!missing.empty() || !extra.empty() || !misshaped.empty()) {
    std::string message = "checkpoint '" + path + "' does not match the model:";
    if (!missing.empty()) message += " missing tensors [" + Join(missing) + "];";
    if (!extra.empty()) message += " unexpected tensors [" + Join(extra) + "];";
    if (!misshaped.empty()) message += " mis-shaped tensors [" + Join(misshaped) + "];";
    message.pop_back();
    throw sim::BadInput(message);
  }
  if (optimizer != nullptr) {
    try {
      std::istringstream optimizer_stream(file.optimizer_bytes);
      torch::serialize::InputArchive optimizer_archive;
      optimizer_archive.load_from(optimizer_stream, torch::kCPU);
      optimizer->load(optimizer_archive);
    } catch (const std::exception& e) {
      throw sim::BadInput("checkpoint '" + path + "': optimiser state does not match (" +
                          FirstLine(e) + ")");
    }
  }
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : expected) tensor.copy_(stored.at(name));
  }
  return file.step;
}

std::string ReadCheckpointMetadata(const std::string& path) {
  return ReadVerified(path, torch::Device(torch::kCPU)).metadata;
}

std::string ParameterHash(const torch::nn::Module& module) {
  sim::Hasher hasher;
  for (const auto& [name, tensor] : NamedTensors(module)) AddTensor(name, tensor, &hasher);
  return HexText(hasher);
}

}  // namespace darkmatter::worldmodel
