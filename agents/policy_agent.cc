#include "agents/policy_agent.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agents/gaussian_policy.h"
#include "agents/sac_agent.h"
#include "agents/tdmpc.h"
#include "sim/error.h"
#include "worldmodel/run_files.h"
#include "worldmodel/checkpoint.h"

namespace darkmatter::agents {

struct PolicyAgent::Impl {
  GaussianPolicy policy{nullptr};
  FeatureFn features;
  sim::BoxSpec action_spec;
  int64_t obs_dim = 0, act_dim = 0;
  int64_t relative = 0;     // actions 0..relative-1 are offsets from observations (bc)
  int64_t history = 1;      // inputs the policy sees per row (bc.history)
  torch::Tensor past;       // (B x history x in_dim) each row's latest inputs, newest first
  std::vector<bool> fresh;  // (B) row starts an episode: fill its history with this input
  std::vector<double> raw;  // (B x act_dim) before clipping

  // The policy's input for `input` (B x in_dim): itself, or with each row's history.
  torch::Tensor WithHistory(const torch::Tensor& input) {
    if (history == 1) return input;
    const int64_t batch = input.size(0);
    if (!past.defined() || past.size(0) != batch || past.scalar_type() != input.scalar_type()) {
      past = input.unsqueeze(1).expand({batch, history, input.size(1)}).clone();
      fresh.assign(batch, false);
    } else {
      past = torch::cat({input.unsqueeze(1), past.slice(1, 0, history - 1)}, 1);
    }
    if (fresh.size() < static_cast<size_t>(batch)) fresh.resize(batch, false);
    for (int64_t b = 0; b < batch; ++b) {
      if (!fresh[b]) continue;
      past[b].copy_(input[b].unsqueeze(0).expand({history, input.size(1)}));
      fresh[b] = false;
    }
    return past.reshape({batch, -1});
  }
};

PolicyAgent::PolicyAgent(const sim::BoxSpec& observation_spec, const sim::BoxSpec& action_spec,
                         int64_t hidden, const std::string& checkpoint, FeatureFn features,
                         int64_t feature_dim)
    : impl_(std::make_unique<Impl>()) {
  impl_->features = std::move(features);
  impl_->action_spec = action_spec;
  impl_->obs_dim = observation_spec.Size();
  impl_->act_dim = action_spec.Size();
  const auto info =
      nlohmann::json::parse(worldmodel::ReadCheckpointMetadata(checkpoint), nullptr, false);
  if (info.is_object()) {
    impl_->relative = info.value("relative_actions", int64_t{0});
    impl_->history = info.value("history", int64_t{1});
  }
  if (impl_->history < 1 || impl_->history > 64) {
    throw sim::BadInput("policy checkpoint '" + checkpoint + "': history " +
                        std::to_string(impl_->history) + " is not in [1, 64]");
  }
  GaussianPolicyOptions options;
  options.obs_dim = (impl_->features ? feature_dim : impl_->obs_dim) * impl_->history;
  options.act_dim = impl_->act_dim;
  options.hidden = hidden;
  impl_->policy = GaussianPolicy(options, action_spec.low, action_spec.high);
  worldmodel::LoadCheckpoint(checkpoint, *impl_->policy, nullptr);
  impl_->policy->eval();
  if (impl_->relative < 0 || impl_->relative > std::min(impl_->obs_dim, impl_->act_dim)) {
    throw sim::BadInput("policy checkpoint '" + checkpoint + "': relative_actions " +
                        std::to_string(impl_->relative) + " does not fit the env");
  }
}

PolicyAgent::~PolicyAgent() = default;

void PolicyAgent::Reset(uint64_t, int row) {
  if (row < 0) return;
  if (impl_->fresh.size() <= static_cast<size_t>(row)) impl_->fresh.resize(row + 1, false);
  impl_->fresh[row] = true;
}

void PolicyAgent::Act(std::span<const double> observations, std::span<double> actions) {
  Impl& m = *impl_;
  const int64_t batch = static_cast<int64_t>(observations.size()) / m.obs_dim;
  if (batch * m.obs_dim != static_cast<int64_t>(observations.size()) ||
      batch * m.act_dim != static_cast<int64_t>(actions.size())) {
    throw sim::BadInput("PolicyAgent::Act: " + std::to_string(observations.size()) +
                        " observation values and " + std::to_string(actions.size()) +
                        " action values do not match obs_dim " + std::to_string(m.obs_dim) +
                        " and act_dim " + std::to_string(m.act_dim));
  }
  torch::NoGradGuard no_grad;
  auto input = torch::from_blob(const_cast<double*>(observations.data()), {batch, m.obs_dim},
                                torch::kFloat64);
  if (m.features) input = m.features(input.to(torch::kFloat32));
  input = m.WithHistory(input);
  const auto mean = m.policy->ToEnv(m.policy->Mean(m.policy->Normalise(input)))
                        .to(torch::kFloat64)
                        .contiguous();
  m.raw.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + batch * m.act_dim);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < m.relative; ++i) m.raw[b * m.act_dim + i] += observations[b * m.obs_dim + i];
  }
  for (int64_t b = 0; b < batch; ++b) {
    sim::ClipAction(m.action_spec, std::span<const double>(m.raw).subspan(b * m.act_dim, m.act_dim),
                    actions.subspan(b * m.act_dim, m.act_dim));
  }
}

bool IsPolicyPath(const std::string& path) {
  const std::filesystem::path p(path);
  return (std::filesystem::is_directory(p) && std::filesystem::exists(p / "checkpoint.pt")) ||
         p.extension() == ".pt";
}

std::unique_ptr<Agent> LoadPolicyAgent(const std::string& path, const sim::Env& env) {
  std::filesystem::path checkpoint(path);
  if (std::filesystem::is_directory(checkpoint)) checkpoint /= "checkpoint.pt";
  if (!std::filesystem::is_regular_file(checkpoint)) {
    throw sim::BadInput("policy checkpoint '" + checkpoint.string() + "' does not exist");
  }
  // The policy's model and size travel in the checkpoint's metadata (run.json as fallback).
  nlohmann::json info = nlohmann::json::parse(worldmodel::ReadCheckpointMetadata(checkpoint.string()),
                                              nullptr, false);
  std::string model;
  int64_t hidden = 0;
  if (info.is_object() && info.contains("hidden")) {
    model = info.value("model", std::string());
    hidden = info.value("hidden", int64_t{0});
  } else {
    const auto run_file = checkpoint.parent_path() / "run.json";
    const auto run = worldmodel::ReadJsonFile(run_file);
    if (run.is_discarded() || !run.is_object()) {
      throw sim::BadInput("policy '" + path + "': the checkpoint names no policy and there is no "
                          "readable run.json next to it ('" + run_file.string() + "')");
    }
    model = run.value("model", std::string());
    try {
      hidden = std::stoll(run.at("settings").at(model + ".hidden").get<std::string>());
    } catch (const std::exception&) {
      throw sim::BadInput("policy '" + path + "': run.json has no settings." + model + ".hidden");
    }
  }
  if (model == "sac") {
    return std::make_unique<SacPolicyAgent>(env.ObservationSpec(), env.ActionSpec(),
                                            checkpoint.string());
  }
  if (model == "tdmpc") {
    return std::make_unique<TdmpcPolicyAgent>(env.ObservationSpec(), env.ActionSpec(),
                                              checkpoint.string());
  }
  if (model != "bc" && model != "ppo") {
    throw sim::BadInput("policy '" + path + "' is a '" + model +
                        "' checkpoint; only bc, ppo, sac and tdmpc policies can act");
  }
  return std::make_unique<PolicyAgent>(env.ObservationSpec(), env.ActionSpec(), hidden,
                                       checkpoint.string());
}

}  // namespace darkmatter::agents
