#include "agents/rollout.h"

#include <algorithm>
#include <vector>

#include "tasks/twin_set.h"

namespace darkmatter::agents {
namespace {

// Appends the env's current state and truth to the episode's buffers.
void AppendState(const sim::Env& env, sim::EnvState* scratch, sim::Episode* episode) {
  const int64_t truth_dim = episode->TruthDim();
  if (truth_dim > 0) {
    episode->truth.resize(episode->truth.size() + truth_dim);
    env.WriteTruth(std::span<double>(episode->truth).last(truth_dim));
  }
  env.GetState(scratch);
  episode->states.insert(episode->states.end(), scratch->physics.begin(), scratch->physics.end());
  episode->rng_states.insert(episode->rng_states.end(), scratch->rng.begin(), scratch->rng.end());
  episode->elapsed_steps.push_back(scratch->elapsed_steps);
}

}  // namespace

sim::Episode RecordEpisode(sim::Env& env, Agent& agent, uint64_t seed) {
  sim::Episode episode;
  episode.task = env.Name();
  episode.seed = seed;
  episode.obs_dim = env.ObservationSpec().Size();
  episode.act_dim = env.ActionSpec().Size();
  episode.state_dim = env.StateSize();
  episode.info_keys = env.InfoKeys();
  for (const sim::TruthField& field : env.TruthFields()) {
    episode.truth_names.push_back(field.name);
    episode.truth_shapes.push_back(field.shape);
  }
  const sim::BoxSpec& action_spec = env.ActionSpec();
  std::vector<double> action(episode.act_dim), applied(episode.act_dim);
  sim::EnvState scratch;

  const sim::BoxSpec& pixel_spec = env.PixelSpec();
  if (pixel_spec.Size() > 0) {
    episode.frame_height = pixel_spec.shape[0];
    episode.frame_width = pixel_spec.shape[1];
  }
  agent.Reset(seed, 0);
  sim::StepResult result = env.Reset(seed);
  episode.observations.assign(result.observation.begin(), result.observation.end());
  episode.frames.assign(result.pixels.begin(), result.pixels.end());
  AppendState(env, &scratch, &episode);
  while (true) {
    agent.Act(result.observation, action);
    sim::ClipAction(action_spec, action, applied);
    result = env.Step(applied);
    episode.actions.insert(episode.actions.end(), applied.begin(), applied.end());
    episode.observations.insert(episode.observations.end(), result.observation.begin(),
                                result.observation.end());
    episode.rewards.push_back(result.reward);
    episode.terminations.push_back(result.terminated);
    episode.truncations.push_back(result.truncated);
    episode.infos.insert(episode.infos.end(), result.info.begin(), result.info.end());
    episode.frames.insert(episode.frames.end(), result.pixels.begin(), result.pixels.end());
    AppendState(env, &scratch, &episode);
    if (result.terminated || result.truncated) break;
  }
  env.EpisodeLabels(&episode.scalars, &episode.strings);
  return episode;
}

std::vector<sim::Episode> RecordTwinSet(sim::Env& world_a, Agent& agent_a, sim::Env& world_b,
                                        Agent& agent_b, uint64_t seed, int64_t set_id) {
  return tasks::ComposeTwinSet(world_a, RecordEpisode(world_a, agent_a, seed),
                               RecordEpisode(world_b, agent_b, seed), set_id);
}

}  // namespace darkmatter::agents
