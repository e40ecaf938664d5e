#include "agents/expert_agent.h"

#include "sim/error.h"

namespace darkmatter::agents {

ExpertAgent::ExpertAgent(sim::Env& env) : env_(env) {
  if (!env.HasExpert()) throw sim::BadInput(env.Name() + " has no scripted expert");
}

void ExpertAgent::Act(std::span<const double> observations, std::span<double> actions) {
  env_.ExpertAction(actions);
}

}  // namespace darkmatter::agents
