#include "worldmodel/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include <torch/torch.h>

#include "sim/error.h"
#include "sim/file_checks.h"
#include "sim/hash.h"

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

}  // namespace

void SaveCheckpoint(const std::string& path, const torch::nn::Module& module,
                    const torch::optim::Optimizer& optimizer, int64_t step,
                    const std::string& metadata) {
  c10::List<std::string> names;
  c10::List<at::Tensor> values;
  for (const auto& [name, tensor] : NamedTensors(module)) {
    names.push_back(name);
    values.push_back(tensor.detach().to(torch::kCPU));
  }
  torch::serialize::OutputArchive archive;
  archive.write("tensor_names", c10::IValue(names));
  archive.write("tensor_values", c10::IValue(values));
  archive.write("step", torch::tensor(step, torch::kInt64));
  archive.write("metadata", c10::IValue(metadata));
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  const std::string target = sim::ResolveOutputFile(path, "checkpoint");
  const std::string temp = target + ".tmp";
  archive.save_to(temp);
  std::filesystem::rename(temp, target);
}

int64_t LoadCheckpoint(const std::string& path, torch::nn::Module& module,
                       torch::optim::Optimizer* optimizer) {
  if (!std::filesystem::is_regular_file(path)) {
    throw sim::BadInput("checkpoint '" + path + "' does not exist");
  }
  torch::serialize::InputArchive archive;
  std::map<std::string, at::Tensor> stored;
  c10::IValue names, values;
  torch::Tensor step;
  try {
    const auto parameters = module.parameters(true);
    archive.load_from(
        path, parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device());
    archive.read("tensor_names", names);
    archive.read("tensor_values", values);
    archive.read("step", step);
    const auto name_list = names.toList();
    const auto tensor_list = values.toTensorVector();
    if (name_list.size() != tensor_list.size()) throw std::runtime_error("name/tensor count");
    for (size_t i = 0; i < name_list.size(); ++i) {
      stored[name_list.get(i).toStringRef()] = tensor_list[i];
    }
  } catch (const std::exception& e) {
    throw sim::BadInput("checkpoint '" + path + "' is not a darkmatter checkpoint (" +
                        std::string(e.what()).substr(0, 200) + ")");
  }
  auto expected = NamedTensors(module);
  std::vector<std::string> missing, extra, misshaped;
  for (const auto& [name, tensor] : expected) {
    auto it = stored.find(name);
    if (it == stored.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != tensor.sizes()) {
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
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : expected) tensor.copy_(stored.at(name));
  }
  if (optimizer != nullptr) {
    try {
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
    } catch (const c10::Error& e) {
      throw sim::BadInput("checkpoint '" + path + "': optimiser state does not match (" +
                          std::string(e.what_without_backtrace()).substr(0, 200) + ")");
    }
  }
  return step.item<int64_t>();
}

std::string ReadCheckpointMetadata(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw sim::BadInput("checkpoint '" + path + "' does not exist");
  }
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::Device(torch::kCPU));
    c10::IValue metadata;
    if (!archive.try_read("metadata", metadata)) return "";
    return metadata.toStringRef();
  } catch (const std::exception& e) {
    throw sim::BadInput("checkpoint '" + path + "' is not a darkmatter checkpoint (" +
                        std::string(e.what()).substr(0, 200) + ")");
  }
}

std::string ParameterHash(const torch::nn::Module& module) {
  sim::Hasher hasher;
  for (const auto& [name, tensor] : NamedTensors(module)) {
    hasher.Add(name.data(), name.size());
    auto cpu = tensor.detach().to(torch::kCPU).contiguous();
    for (int64_t size : cpu.sizes()) hasher.AddValue(size);
    hasher.Add(cpu.data_ptr(), cpu.numel() * cpu.element_size());
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hasher.Value()));
  return text;
}

}  // namespace darkmatter::worldmodel
