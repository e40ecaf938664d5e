#include "agents/sac.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agents/sac_networks.h"
#include "sim/env_pool.h"
#include "sim/error.h"
#include "sim/rng.h"
#include "tasks/registry.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/device.h"

namespace darkmatter::agents {
namespace {

constexpr uint64_t kSampleStream = 0x736163736d706cULL;  // exploration, minibatches, noise

void Require(bool ok, const std::string& key, const std::string& value, const std::string& rule) {
  if (!ok) throw sim::BadInput("setting " + key + "=" + value + ": must be " + rule);
}

std::string Text(double value) { return std::to_string(value); }
std::string Text(int value) { return std::to_string(value); }

}  // namespace

void BindSacSettings(SacSettings* s, sim::SettingsBinder* b) {
  b->Bind("sac.num_envs", &s->num_envs, "parallel envs in the pool");
  b->Bind("sac.threads", &s->threads, "pool worker threads (results identical for any value)");
  b->Bind("sac.total_env_steps", &s->total_env_steps,
          "env steps to train for (rounded up to whole chunks)");
  b->Bind("sac.chunk_steps", &s->chunk_steps,
          "env steps per metrics line (rounded up to whole vector steps)");
  b->Bind("sac.buffer_size", &s->buffer_size, "replay capacity in transitions");
  b->Bind("sac.batch_size", &s->batch_size, "transitions per gradient update");
  b->Bind("sac.learning_starts", &s->learning_starts,
          "env steps of uniform random actions before learning");
  b->Bind("sac.utd", &s->utd, "gradient updates per env step (update-to-data ratio), > 0");
  b->Bind("sac.gamma", &s->gamma, "discount per control step, in (0, 1]");
  b->Bind("sac.tau", &s->tau, "Polyak step of the target critics, in (0, 1]");
  b->Bind("sac.lr", &s->lr, "Adam learning rate (actor, critics, temperature), > 0");
  b->Bind("sac.hidden", &s->hidden, "hidden units of actor and critic MLPs");
  b->Bind("sac.autotune", &s->autotune, "learn the entropy temperature");
  b->Bind("sac.alpha", &s->alpha, "temperature (fixed, or initial when autotuned), > 0");
  b->Bind("sac.target_entropy_scale", &s->target_entropy_scale,
          "target entropy = -this x action size");
  b->Bind("sac.seed", &s->seed, "init, sampling and env seeds");
  b->Bind("sac.checkpoint_every", &s->checkpoint_every, "chunks between checkpoints");
  b->Bind("sac.eval_episodes", &s->eval_episodes,
          "deterministic evaluation episodes at the end (test seeds; 0 = none)");
  b->Bind("sac.eval_every", &s->eval_every,
          "chunks between evaluations on sac.eval_episodes test seeds, logged (0 = none)");
}

void ValidateSacSettings(const SacSettings& s) {
  sim::RequireInRange("sac.num_envs", s.num_envs, 1, sim::kMaxEnvs);
  sim::RequireInRange("sac.threads", s.threads, 0, sim::kMaxThreads);
  Require(s.total_env_steps >= 1, "sac.total_env_steps", Text(s.total_env_steps), ">= 1");
  Require(s.chunk_steps >= 1, "sac.chunk_steps", Text(s.chunk_steps), ">= 1");
  sim::RequireInRange("sac.buffer_size", s.buffer_size, 1, sim::kMaxReplay);
  sim::RequireInRange("sac.batch_size", s.batch_size, 1, sim::kMaxBatch);
  Require(s.learning_starts >= 0, "sac.learning_starts", Text(s.learning_starts), ">= 0");
  Require(std::isfinite(s.utd) && s.utd > 0 && s.utd <= 64, "sac.utd", Text(s.utd),
          "in (0, 64]");
  Require(s.gamma > 0 && s.gamma <= 1, "sac.gamma", Text(s.gamma), "in (0, 1]");
  Require(s.tau > 0 && s.tau <= 1, "sac.tau", Text(s.tau), "in (0, 1]");
  Require(std::isfinite(s.lr) && s.lr > 0, "sac.lr", Text(s.lr), "finite and > 0");
  sim::RequireInRange("sac.hidden", s.hidden, 1, sim::kMaxWidth);
  Require(std::isfinite(s.alpha) && s.alpha > 0, "sac.alpha", Text(s.alpha), "finite and > 0");
  Require(std::isfinite(s.target_entropy_scale), "sac.target_entropy_scale",
          Text(s.target_entropy_scale), "finite");
  Require(s.checkpoint_every >= 1, "sac.checkpoint_every", Text(s.checkpoint_every), ">= 1");
  sim::RequireInRange("sac.eval_episodes", s.eval_episodes, 0, sim::kMaxSamples);
  Require(s.eval_every >= 0, "sac.eval_every", Text(s.eval_every), ">= 0");
}

bool SacResumeMayChange(const std::string& key) {
  return key == "sac.total_env_steps" || key == "sac.checkpoint_every" ||
         key == "sac.eval_episodes" || key == "sac.eval_every" || key == "sac.threads";
}

struct SacTrainer::Impl {
  Impl(const std::string& task, const sim::EnvSettings& env_settings, const SacSettings& s,
       const std::string& device_name)
      : settings(s),
        device(worldmodel::ResolveDevice(device_name)),
        pool([&] { return tasks::MakeEnv(task, env_settings); }, s.num_envs, s.threads),
        n(s.num_envs),
        obs_dim(pool.ObservationSpec().Size()),
        act_dim(pool.ActionSpec().Size()),
        state_size(pool.GetEnv(0).StateSize()),
        vector_steps((s.chunk_steps + s.num_envs - 1) / s.num_envs) {
    if (!sim::WantsState(env_settings) || sim::WantsPixels(env_settings)) {
      throw sim::BadInput("setting env.observation=" + env_settings.observation +
                          ": sac needs state observations");
    }
    torch::manual_seed(s.seed);
    SacNetworkOptions options;
    options.obs_dim = obs_dim;
    options.act_dim = act_dim;
    options.hidden = s.hidden;
    options.init_alpha = s.alpha;
    const auto& spec = pool.ActionSpec();
    state = SacState(options, spec.low, spec.high, s.buffer_size, n, state_size);
    nets = state->nets;
    nets->to(device);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(nets->ActorParameters(),
                        std::make_unique<torch::optim::AdamOptions>(s.lr));
    groups.emplace_back(nets->CriticParameters(),
                        std::make_unique<torch::optim::AdamOptions>(s.lr));
    groups.emplace_back(std::vector<torch::Tensor>{nets->log_alpha()},
                        std::make_unique<torch::optim::AdamOptions>(s.lr));
    optimizer = std::make_unique<torch::optim::Adam>(std::move(groups),
                                                     torch::optim::AdamOptions(s.lr));
    target_entropy = -s.target_entropy_scale * static_cast<double>(act_dim);
    for (int64_t j = 0; j < act_dim; ++j) {
      const double low = spec.low[j], high = spec.high[j];
      const bool finite = std::isfinite(low) && std::isfinite(high) && high > low;
      action_center.push_back(finite ? 0.5 * (low + high) : 0.0);
      action_scale.push_back(finite ? 0.5 * (high - low) : 1.0);
    }
    env_actions.resize(n * act_dim);
    actions.resize(n * act_dim);
    act_noise.resize(n * act_dim);
    batch_noise.resize(2 * s.batch_size * act_dim);
    batch_index.resize(s.batch_size);
    const auto& keys = pool.InfoKeys();
    const auto found = std::find(keys.begin(), keys.end(), "success");
    success_index = found == keys.end() ? -1 : static_cast<int64_t>(found - keys.begin());
    const sim::BatchView batch = pool.Reset(s.seed);
    current_obs.assign(batch.observations.begin(), batch.observations.end());
    previous_done.assign(n, 0);
    episode_return.assign(n, 0.0);
    episode_length.assign(n, 0);
    episode_success.assign(n, 0);
  }

  // Clears every gradient (undefined, so Adam skips parameters a loss did not reach).
  void ClearGrads() {
    for (auto& p : nets->parameters()) p.mutable_grad() = torch::Tensor();
  }

  static void RequireFinite(double value, const char* name, int64_t env_steps) {
    if (!std::isfinite(value)) {
      throw std::runtime_error(std::string("sac: ") + name + " is not finite (" +
                               std::to_string(value) + ") at env step " +
                               std::to_string(env_steps) + "; training stopped before the "
                               "optimiser step");
    }
  }

  // Fills `out` with standard normal floats from rng.
  static void FillNormal(sim::Rng& rng, float* out, int64_t count) {
    for (int64_t k = 0; k < count; ++k) out[k] = static_cast<float>(rng.Normal());
  }

  // One gradient update of critics, actor and temperature on a uniform minibatch.
  void GradientStep(sim::Rng& rng) {
    const int64_t size = state->replay->Size(), b = settings.batch_size;
    for (int64_t k = 0; k < b; ++k) batch_index[k] = static_cast<int64_t>(rng.Below(size));
    FillNormal(rng, batch_noise.data(), 2 * b * act_dim);
    const auto idx = torch::from_blob(batch_index.data(), {b}, torch::kInt64);
    const auto& replay = state->replay;
    const auto obs = replay->obs.index_select(0, idx).to(device);
    const auto next_obs = replay->next_obs.index_select(0, idx).to(device);
    const auto act = replay->actions.index_select(0, idx).to(device);
    const auto reward = replay->rewards.index_select(0, idx).to(device);
    const auto done = replay->terminated.index_select(0, idx).to(device);
    const auto noise_next =
        torch::from_blob(batch_noise.data(), {b, act_dim}, torch::kFloat32).to(device);
    const auto noise_pi =
        torch::from_blob(batch_noise.data() + b * act_dim, {b, act_dim}, torch::kFloat32)
            .to(device);
    const auto alpha = nets->log_alpha().exp().detach();
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const auto [next_action, next_log_prob] = nets->Sample(next_obs, noise_next);
      const auto next_q = torch::min(nets->TargetQ(0, next_obs, next_action),
                                     nets->TargetQ(1, next_obs, next_action)) -
                          alpha * next_log_prob;
      target = reward + (1.0 - done) * settings.gamma * next_q;
    }
    const auto q1 = nets->Q(0, obs, act), q2 = nets->Q(1, obs, act);
    const auto critic_loss = (q1 - target).pow(2).mean() + (q2 - target).pow(2).mean();
    const double critic_value = critic_loss.item<double>();
    RequireFinite(critic_value, "critic loss", env_steps);
    ClearGrads();
    critic_loss.backward();
    optimizer->step();

    const auto [pi_action, log_prob] = nets->Sample(obs, noise_pi);
    const auto q_pi = torch::min(nets->Q(0, obs, pi_action), nets->Q(1, obs, pi_action));
    const auto actor_loss = (alpha * log_prob - q_pi).mean();
    const auto alpha_loss =
        settings.autotune ? -(nets->log_alpha() * (log_prob.detach() + target_entropy)).mean()
                          : torch::zeros({}, actor_loss.options());
    const double actor_value = actor_loss.item<double>();
    const double alpha_value = alpha_loss.item<double>();
    RequireFinite(actor_value, "actor loss", env_steps);
    RequireFinite(alpha_value, "temperature loss", env_steps);
    ClearGrads();
    (actor_loss + alpha_loss).backward();
    for (auto& p : nets->CriticParameters()) p.mutable_grad() = torch::Tensor();
    optimizer->step();
    nets->UpdateTargets(settings.tau);

    sums.critic_loss += critic_value;
    sums.actor_loss += actor_value;
    sums.alpha_loss += alpha_value;
    sums.alpha += alpha.item<double>();
    sums.entropy += -log_prob.detach().mean().item<double>();
    sums.q_mean += q1.detach().mean().item<double>();
    ++sums.count;
    ++updates;
  }

  // Actions for the current observations into `actions` (normalised) and env_actions.
  void ChooseActions(sim::Rng& rng) {
    if (env_steps < settings.learning_starts) {
      for (auto& a : actions) a = static_cast<float>(rng.Uniform(-1.0, 1.0));
    } else {
      torch::NoGradGuard no_grad;
      FillNormal(rng, act_noise.data(), n * act_dim);
      const auto obs = torch::from_blob(current_obs.data(), {n, obs_dim}, torch::kFloat64)
                           .to(device, torch::kFloat32);
      const auto noise =
          torch::from_blob(act_noise.data(), {n, act_dim}, torch::kFloat32).to(device);
      const auto action = nets->Sample(obs, noise).first.to(torch::kCPU).contiguous();
      std::copy_n(action.data_ptr<float>(), n * act_dim, actions.begin());
    }
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < act_dim; ++j) {
        env_actions[i * act_dim + j] = action_center[j] + action_scale[j] * actions[i * act_dim + j];
      }
    }
  }

  std::map<std::string, double> Update() {
    const auto start = std::chrono::steady_clock::now();
    sim::Rng rng(sim::DeriveSeed(settings.seed ^ static_cast<uint64_t>(env_steps), kSampleStream));
    std::vector<double> finished_returns, finished_lengths, finished_successes;
    sums = {};
    double update_seconds = 0.0;
    for (int64_t v = 0; v < vector_steps; ++v) {
      ChooseActions(rng);
      const sim::BatchView batch = pool.Step(env_actions);
      for (int64_t i = 0; i < n; ++i) {
        const bool ended = batch.terminated[i] || batch.truncated[i];
        if (!previous_done[i]) {  // else this step was the autoreset: not a transition
          state->replay->Add(std::span<const double>(current_obs).subspan(i * obs_dim, obs_dim),
                             std::span<const float>(actions).subspan(i * act_dim, act_dim),
                             batch.rewards[i], batch.Observation(i), batch.terminated[i]);
          episode_return[i] += batch.rewards[i];
          episode_length[i] += 1;
          if (success_index >= 0 && batch.infos[i * batch.info_dim + success_index] > 0.5) {
            episode_success[i] = 1;
          }
          if (ended) {
            finished_returns.push_back(episode_return[i]);
            finished_lengths.push_back(static_cast<double>(episode_length[i]));
            finished_successes.push_back(static_cast<double>(episode_success[i]));
            episode_return[i] = 0.0;
            episode_length[i] = 0;
            episode_success[i] = 0;
          }
        }
        previous_done[i] = ended;
      }
      current_obs.assign(batch.observations.begin(), batch.observations.end());
      env_steps += n;
      if (env_steps >= settings.learning_starts) {
        const auto update_start = std::chrono::steady_clock::now();
        update_credit += settings.utd * static_cast<double>(n);
        while (update_credit >= 1.0) {
          GradientStep(rng);
          update_credit -= 1.0;
        }
        update_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                         update_start).count();
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto mean_of = [&](const std::vector<double>& v) {
      return v.empty() ? nan : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
    };
    auto per_update = [&](double sum) { return sums.count > 0 ? sum / sums.count : nan; };
    return {{"env_steps", static_cast<double>(env_steps)},
            {"episodes", static_cast<double>(finished_returns.size())},
            {"episode_return", mean_of(finished_returns)},
            {"episode_length", mean_of(finished_lengths)},
            {"episode_success", mean_of(finished_successes)},
            {"updates", static_cast<double>(updates)},
            {"critic_loss", per_update(sums.critic_loss)},
            {"actor_loss", per_update(sums.actor_loss)},
            {"alpha", nets->log_alpha().exp().item<double>()},
            {"alpha_loss", per_update(sums.alpha_loss)},
            {"entropy", per_update(sums.entropy)},
            {"q_mean", per_update(sums.q_mean)},
            {"buffer_size", static_cast<double>(state->replay->Size())},
            {"steps_per_s", static_cast<double>(vector_steps * n) / std::max(seconds, 1e-9)},
            {"updates_per_s", sums.count > 0 ? sums.count / std::max(update_seconds, 1e-9) : nan}};
  }

  // Copies the collector's working state into the checkpointed buffers.
  void StoreCollector() {
    auto& c = state->collector;
    sim::EnvState env_state;
    for (int64_t i = 0; i < n; ++i) {
      pool.GetEnv(static_cast<int>(i)).GetState(&env_state);
      std::copy(env_state.physics.begin(), env_state.physics.end(),
                c->physics.data_ptr<double>() + i * state_size);
      std::memcpy(c->rng.data_ptr<int64_t>() + i * 4, env_state.rng.data(), sizeof(env_state.rng));
      c->elapsed.data_ptr<int64_t>()[i] = env_state.elapsed_steps;
      c->needs_reset.data_ptr<int64_t>()[i] = env_state.needs_reset ? 1 : 0;
      c->episode_return.data_ptr<double>()[i] = episode_return[i];
      c->episode_length.data_ptr<int64_t>()[i] = episode_length[i];
      c->episode_success.data_ptr<int64_t>()[i] = episode_success[i];
    }
    std::copy(current_obs.begin(), current_obs.end(), c->current_obs.data_ptr<double>());
    c->update_credit.fill_(update_credit);
    c->updates.fill_(updates);
  }

  // Restores envs and working state from the checkpointed buffers.
  void RestoreCollector() {
    auto& c = state->collector;
    sim::EnvState env_state;
    for (int64_t i = 0; i < n; ++i) {
      const double* physics = c->physics.data_ptr<double>() + i * state_size;
      env_state.physics.assign(physics, physics + state_size);
      std::memcpy(env_state.rng.data(), c->rng.data_ptr<int64_t>() + i * 4, sizeof(env_state.rng));
      env_state.elapsed_steps = c->elapsed.data_ptr<int64_t>()[i];
      env_state.needs_reset = c->needs_reset.data_ptr<int64_t>()[i] != 0;
      pool.SetEnvState(static_cast<int>(i), env_state);
      previous_done[i] = env_state.needs_reset;
      episode_return[i] = c->episode_return.data_ptr<double>()[i];
      episode_length[i] = c->episode_length.data_ptr<int64_t>()[i];
      episode_success[i] = c->episode_success.data_ptr<int64_t>()[i];
    }
    const double* obs = c->current_obs.data_ptr<double>();
    current_obs.assign(obs, obs + n * obs_dim);
    update_credit = c->update_credit.item<double>();
    updates = c->updates.item<int64_t>();
  }

  std::string Metadata() const {
    return nlohmann::json{{"model", "sac"},
                          {"hidden", settings.hidden},
                          {"obs_dim", obs_dim},
                          {"act_dim", act_dim},
                          {"buffer_size", settings.buffer_size},
                          {"num_envs", n},
                          {"state_size", state_size}}
        .dump();
  }

  struct Sums {
    double critic_loss = 0, actor_loss = 0, alpha_loss = 0, alpha = 0, entropy = 0, q_mean = 0;
    int64_t count = 0;
  };

  SacSettings settings;
  torch::Device device;
  sim::EnvPool pool;
  int64_t n, obs_dim, act_dim, state_size, vector_steps;
  SacState state{nullptr};
  SacNetworks nets{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer;
  double target_entropy = 0.0;
  int64_t env_steps = 0;
  int64_t updates = 0;           // gradient updates so far
  double update_credit = 0.0;    // gradient updates owed (fractional utd)
  int64_t success_index = -1;    // column of info "success", -1 when the task has none
  Sums sums;                     // of the current chunk's updates
  std::vector<double> action_center, action_scale;  // (act_dim) env = center + scale x a
  std::vector<float> actions;        // (N x act_dim) normalised, as stored in the buffer
  std::vector<double> env_actions;   // (N x act_dim) env units
  std::vector<float> act_noise;      // (N x act_dim)
  std::vector<float> batch_noise;    // (2 x batch x act_dim)
  std::vector<int64_t> batch_index;  // (batch)
  std::vector<double> current_obs;   // (N x obs_dim) raw
  std::vector<uint8_t> previous_done;    // (N) the next step autoresets
  std::vector<double> episode_return;    // (N) running
  std::vector<int64_t> episode_length;   // (N) running
  std::vector<int64_t> episode_success;  // (N) running
};

SacTrainer::SacTrainer(const std::string& task, const sim::EnvSettings& env_settings,
                       const SacSettings& settings, const std::string& device) {
  ValidateSacSettings(settings);
  impl_ = std::make_unique<Impl>(task, env_settings, settings, device);
}

SacTrainer::~SacTrainer() = default;

std::map<std::string, double> SacTrainer::Update() { return impl_->Update(); }
int64_t SacTrainer::EnvSteps() const { return impl_->env_steps; }
int64_t SacTrainer::StepsPerUpdate() const { return impl_->vector_steps * impl_->n; }

void SacTrainer::Save(const std::string& path) const {
  impl_->StoreCollector();
  worldmodel::SaveCheckpoint(path, *impl_->state, *impl_->optimizer, impl_->env_steps,
                             impl_->Metadata());
}

int64_t SacTrainer::Load(const std::string& path) {
  const auto info = nlohmann::json::parse(worldmodel::ReadCheckpointMetadata(path), nullptr, false);
  const std::string model = info.is_object() ? info.value("model", std::string()) : "";
  if (model != "sac") {
    throw sim::BadInput("checkpoint '" + path + "' is " +
                        (model.empty() ? std::string("not a sac checkpoint")
                                       : "a '" + model + "' checkpoint, not sac"));
  }
  impl_->env_steps = worldmodel::LoadCheckpoint(path, *impl_->state, impl_->optimizer.get());
  impl_->RestoreCollector();
  return impl_->env_steps;
}

void SacTrainer::Act(std::span<const double> observations, std::span<double> actions) {
  Impl& m = *impl_;
  const int64_t batch = static_cast<int64_t>(observations.size()) / m.obs_dim;
  torch::NoGradGuard no_grad;
  const auto obs = torch::from_blob(const_cast<double*>(observations.data()), {batch, m.obs_dim},
                                    torch::kFloat64)
                       .to(m.device, torch::kFloat32);
  const auto env_actions =
      m.nets->ToEnv(m.nets->MeanAction(obs)).to(torch::kCPU, torch::kFloat64).contiguous();
  const auto& spec = m.pool.ActionSpec();
  const double* raw = env_actions.data_ptr<double>();
  for (int64_t b = 0; b < batch; ++b) {
    sim::ClipAction(spec, std::span<const double>(raw + b * m.act_dim, m.act_dim),
                    actions.subspan(b * m.act_dim, m.act_dim));
  }
}

std::string SacTrainer::ParameterHash() const {
  return worldmodel::ParameterHash(*impl_->nets);
}

std::string SacTrainer::Device() const { return impl_->device.str(); }

}  // namespace darkmatter::agents
