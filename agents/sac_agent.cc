#include "agents/sac_agent.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agents/sac_networks.h"
#include "sim/error.h"
#include "worldmodel/checkpoint.h"

namespace darkmatter::agents {

struct SacPolicyAgent::Impl {
  SacState state{nullptr};
  sim::BoxSpec action_spec;
  int64_t obs_dim = 0, act_dim = 0;
  std::vector<double> raw;  // (B x act_dim) before clipping
};

SacPolicyAgent::SacPolicyAgent(const sim::BoxSpec& observation_spec,
                               const sim::BoxSpec& action_spec, const std::string& checkpoint)
    : impl_(std::make_unique<Impl>()) {
  impl_->action_spec = action_spec;
  impl_->obs_dim = observation_spec.Size();
  impl_->act_dim = action_spec.Size();
  const auto info =
      nlohmann::json::parse(worldmodel::ReadCheckpointMetadata(checkpoint), nullptr, false);
  if (!info.is_object() || info.value("model", std::string()) != "sac") {
    throw sim::BadInput("policy checkpoint '" + checkpoint + "' is not a sac checkpoint");
  }
  auto size = [&](const char* key) {
    const int64_t value = info.value(key, int64_t{0});
    if (value < 1 || value > (int64_t{1} << 31)) {
      throw sim::BadInput("sac checkpoint '" + checkpoint + "': metadata " + key + "=" +
                          std::to_string(value) + " is out of range");
    }
    return value;
  };
  SacNetworkOptions options;
  options.obs_dim = impl_->obs_dim;
  options.act_dim = impl_->act_dim;
  options.hidden = size("hidden");
  impl_->state = SacState(options, action_spec.low, action_spec.high, size("buffer_size"),
                          size("num_envs"), size("state_size"));
  worldmodel::LoadCheckpoint(checkpoint, *impl_->state, nullptr);
  impl_->state->eval();
}

SacPolicyAgent::~SacPolicyAgent() = default;

void SacPolicyAgent::Act(std::span<const double> observations, std::span<double> actions) {
  Impl& m = *impl_;
  const int64_t batch = static_cast<int64_t>(observations.size()) / m.obs_dim;
  if (batch * m.obs_dim != static_cast<int64_t>(observations.size()) ||
      batch * m.act_dim != static_cast<int64_t>(actions.size())) {
    throw sim::BadInput("SacPolicyAgent::Act: " + std::to_string(observations.size()) +
                        " observation values and " + std::to_string(actions.size()) +
                        " action values do not match obs_dim " + std::to_string(m.obs_dim) +
                        " and act_dim " + std::to_string(m.act_dim));
  }
  torch::NoGradGuard no_grad;
  const auto input = torch::from_blob(const_cast<double*>(observations.data()),
                                      {batch, m.obs_dim}, torch::kFloat64)
                         .to(torch::kFloat32);
  auto& nets = m.state->nets;
  const auto env_actions = nets->ToEnv(nets->MeanAction(input)).to(torch::kFloat64).contiguous();
  m.raw.assign(env_actions.data_ptr<double>(), env_actions.data_ptr<double>() + batch * m.act_dim);
  for (int64_t b = 0; b < batch; ++b) {
    sim::ClipAction(m.action_spec, std::span<const double>(m.raw).subspan(b * m.act_dim, m.act_dim),
                    actions.subspan(b * m.act_dim, m.act_dim));
  }
}

}  // namespace darkmatter::agents
