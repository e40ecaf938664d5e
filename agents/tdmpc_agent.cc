// TdmpcPolicyAgent: TD-MPC planning (or its policy prior) with a trained checkpoint, for
// evaluation, rollout and the suite.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agents/tdmpc.h"
#include "agents/tdmpc_networks.h"
#include "agents/tdmpc_planner.h"
#include "sim/error.h"
#include "worldmodel/checkpoint.h"

namespace darkmatter::agents {

struct TdmpcPolicyAgent::Impl {
  TdmpcState state{nullptr};
  std::unique_ptr<Agent> planner;
};

TdmpcPolicyAgent::TdmpcPolicyAgent(const sim::BoxSpec& observation_spec,
                                   const sim::BoxSpec& action_spec, const std::string& checkpoint)
    : impl_(std::make_unique<Impl>()) {
  const auto info =
      nlohmann::json::parse(worldmodel::ReadCheckpointMetadata(checkpoint), nullptr, false);
  if (!info.is_object() || info.value("model", std::string()) != "tdmpc") {
    throw sim::BadInput("policy checkpoint '" + checkpoint + "' is not a tdmpc checkpoint");
  }
  auto size = [&](const char* key) {
    const int64_t value = info.value(key, int64_t{0});
    if (value < 1 || value > (int64_t{1} << 31)) {
      throw sim::BadInput("tdmpc checkpoint '" + checkpoint + "': metadata " + key + "=" +
                          std::to_string(value) + " is out of range");
    }
    return value;
  };
  TdmpcPlanSettings plan;
  try {
    plan.horizon = static_cast<int>(size("horizon"));
    plan.samples = static_cast<int>(size("samples"));
    plan.pi_samples = info.at("pi_samples").get<int>();
    plan.elites = static_cast<int>(size("elites"));
    plan.iterations = static_cast<int>(size("iterations"));
    plan.temperature = info.at("temperature").get<double>();
    plan.min_std = info.at("min_std").get<double>();
    plan.max_std = info.at("max_std").get<double>();
    plan.gamma = info.at("gamma").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw sim::BadInput("tdmpc checkpoint '" + checkpoint + "': planner metadata: " + e.what());
  }
  ValidateTdmpcPlanSettings(plan);
  const TdmpcNetworkOptions options{.obs_dim = observation_spec.Size(),
                                    .act_dim = action_spec.Size(),
                                    .latent = size("latent"),
                                    .hidden = size("hidden")};
  impl_->state = TdmpcState(options, action_spec.low, action_spec.high, size("buffer_size"),
                            size("state_size"), plan.horizon);
  worldmodel::LoadCheckpoint(checkpoint, *impl_->state, nullptr);
  impl_->state->eval();
  const std::string act = info.value("act", std::string("plan"));
  if (act != "plan" && act != "policy") {
    throw sim::BadInput("tdmpc checkpoint '" + checkpoint + "': metadata act='" + act +
                        "' is not plan or policy");
  }
  impl_->planner = MakeTdmpcPlanningAgent(impl_->state->nets, plan, action_spec,
                                          info.value("seed", uint64_t{0}), act == "plan");
}

TdmpcPolicyAgent::~TdmpcPolicyAgent() = default;

void TdmpcPolicyAgent::Reset(uint64_t seed, int row) { impl_->planner->Reset(seed, row); }

void TdmpcPolicyAgent::Act(std::span<const double> observations, std::span<double> actions) {
  impl_->planner->Act(observations, actions);
}

}  // namespace darkmatter::agents
