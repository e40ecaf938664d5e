#include "worldmodel/transitions.h"

#include "sim/error.h"

namespace darkmatter::worldmodel {

Transitions StackTransitions(const std::vector<sim::Episode>& episodes, torch::Device device) {
  if (episodes.empty()) throw sim::BadInput("no episodes to stack");
  const int64_t obs_dim = episodes[0].obs_dim, act_dim = episodes[0].act_dim;
  int64_t total = 0;
  for (const sim::Episode& episode : episodes) {
    if (episode.obs_dim != obs_dim || episode.act_dim != act_dim) {
      throw sim::BadInput("episodes have different observation or action sizes (task '" +
                          episode.task + "')");
    }
    total += episode.Length();
  }
  auto obs = torch::empty({total, obs_dim}, torch::kFloat64);
  auto act = torch::empty({total, act_dim}, torch::kFloat64);
  auto next = torch::empty({total, obs_dim}, torch::kFloat64);
  int64_t row = 0;
  for (const sim::Episode& episode : episodes) {
    const int64_t t = episode.Length();
    if (t == 0) continue;
    auto all_obs = torch::from_blob(const_cast<double*>(episode.observations.data()),
                                    {t + 1, obs_dim}, torch::kFloat64);
    auto actions = torch::from_blob(const_cast<double*>(episode.actions.data()), {t, act_dim},
                                    torch::kFloat64);
    obs.narrow(0, row, t).copy_(all_obs.narrow(0, 0, t));
    next.narrow(0, row, t).copy_(all_obs.narrow(0, 1, t));
    act.narrow(0, row, t).copy_(actions);
    row += t;
  }
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  return {obs.to(options), act.to(options), next.to(options)};
}

}  // namespace darkmatter::worldmodel
