#include "agents/tdmpc.h"

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

#include "agents/tdmpc_networks.h"
#include "agents/tdmpc_planner.h"
#include "sim/env_pool.h"
#include "sim/error.h"
#include "sim/rng.h"
#include "tasks/registry.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/device.h"

namespace darkmatter::agents {
namespace {

constexpr uint64_t kSampleStream = 0x74646d7073616dULL;  // exploration, sequences, noise
constexpr int kSequenceTries = 10000;                    // rejection draws per sequence

}  // namespace

struct TdmpcTrainer::Impl {
  Impl(const std::string& task, const sim::EnvSettings& env_settings, const TdmpcSettings& s,
       const std::string& device_name)
      : settings(s),
        plan(PlanSettingsOf(s)),
        device(worldmodel::ResolveDevice(device_name)),
        pool([&] { return tasks::MakeEnv(task, env_settings); }, 1, 0),
        obs_dim(pool.ObservationSpec().Size()),
        act_dim(pool.ActionSpec().Size()),
        state_size(pool.GetEnv(0).StateSize()) {
    if (!sim::WantsState(env_settings) || sim::WantsPixels(env_settings)) {
      throw sim::BadInput("setting env.observation=" + env_settings.observation +
                          ": tdmpc needs state observations");
    }
    torch::manual_seed(s.seed);
    const auto& spec = pool.ActionSpec();
    state = TdmpcState(Options(), spec.low, spec.high, s.buffer_size, state_size, s.horizon);
    nets = state->nets;
    nets->to(device);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(nets->ModelParameters(), std::make_unique<torch::optim::AdamOptions>(s.lr));
    groups.emplace_back(nets->PolicyParameters(), std::make_unique<torch::optim::AdamOptions>(s.lr));
    optimizer = std::make_unique<torch::optim::Adam>(std::move(groups), torch::optim::AdamOptions(s.lr));
    const auto& keys = pool.InfoKeys();
    const auto found = std::find(keys.begin(), keys.end(), "success");
    success_index = found == keys.end() ? -1 : static_cast<int64_t>(found - keys.begin());
    const sim::BatchView batch = pool.Reset(s.seed);
    current_obs.assign(batch.observations.begin(), batch.observations.end());
    action.resize(act_dim);
    env_action.resize(act_dim);
  }

  TdmpcNetworkOptions Options() const {
    return {.obs_dim = obs_dim, .act_dim = act_dim, .latent = settings.latent,
            .hidden = settings.hidden};
  }

  void ClearGrads(const std::vector<torch::Tensor>& params) {
    for (auto p : params) p.mutable_grad() = torch::Tensor();
  }

  void RequireFinite(double value, const char* name) const {
    if (!std::isfinite(value)) {
      throw std::runtime_error(std::string("tdmpc: ") + name + " is not finite (" +
                               std::to_string(value) + ") at env step " +
                               std::to_string(env_steps) +
                               "; training stopped before the optimiser step");
    }
  }

  // Rows (H x B, time-major) of B sequences of H consecutive steps of one episode each.
  torch::Tensor SampleSequences(sim::Rng& rng) {
    const int64_t h = settings.horizon, b = settings.batch_size;
    const int64_t starts = state->replay->Size() - h + 1;
    if (starts < 1) {
      throw std::runtime_error("tdmpc: the replay holds " + std::to_string(state->replay->Size()) +
                               " transitions, fewer than tdmpc.horizon=" + std::to_string(h) +
                               " (raise tdmpc.seed_steps)");
    }
    std::vector<int64_t> rows(h * b);
    for (int64_t j = 0; j < b; ++j) {
      int64_t c = -1;
      for (int tries = 0; tries < kSequenceTries && c < 0; ++tries) {
        const auto candidate = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(starts)));
        if (state->replay->IsSequence(candidate, h)) c = candidate;
      }
      if (c < 0) {
        throw std::runtime_error("tdmpc: no run of " + std::to_string(h) +
                                 " steps within one episode in the replay (episodes shorter "
                                 "than tdmpc.horizon?)");
      }
      for (int64_t t = 0; t < h; ++t) rows[t * b + j] = state->replay->Row(c + t);
    }
    return torch::from_blob(rows.data(), {h * b}, torch::kInt64).clone();
  }

  // One update of the model (consistency, reward, TD) and of the policy prior.
  void GradientStep(sim::Rng& rng) {
    const int64_t h = settings.horizon, b = settings.batch_size, latent = settings.latent;
    const auto rows = SampleSequences(rng);
    const auto& replay = state->replay;
    auto gather = [&](const torch::Tensor& t) { return t.index_select(0, rows).to(device); };
    const auto obs = gather(replay->obs).view({h, b, obs_dim});
    const auto next_obs = gather(replay->next_obs).view({h * b, obs_dim});
    const auto act = gather(replay->actions).view({h, b, act_dim});
    const auto reward = gather(replay->rewards).view({h, b});
    const auto done = gather(replay->terminated).view({h, b});
    const auto noise_td = TdmpcNormals(rng, {h * b, act_dim}, device);
    const auto noise_pi = TdmpcNormals(rng, {h * b, act_dim}, device);
    torch::Tensor next_z, td;
    {
      torch::NoGradGuard no_grad;
      next_z = nets->Encode(next_obs);
      const auto next_action = nets->Sample(next_z, noise_td).first;
      const auto next_q = torch::min(nets->TargetQ(0, next_z, next_action),
                                     nets->TargetQ(1, next_z, next_action));
      td = reward + settings.gamma * (1.0 - done) * next_q.view({h, b});
      next_z = next_z.view({h, b, latent});
    }
    torch::Tensor z = nets->Encode(obs[0]);
    auto consistency = torch::zeros({}, z.options()), reward_loss = consistency,
         value_loss = consistency, termination_loss = consistency;
    std::vector<torch::Tensor> latents;
    double weight = 1.0;
    for (int64_t t = 0; t < h; ++t) {
      latents.push_back(z);
      reward_loss = reward_loss + weight * (nets->Reward(z, act[t]) - reward[t]).pow(2).mean();
      termination_loss = termination_loss +
                         weight * torch::binary_cross_entropy_with_logits(
                                      nets->Termination(z, act[t]), done[t]);
      value_loss = value_loss + weight * ((nets->Q(0, z, act[t]) - td[t]).pow(2).mean() +
                                          (nets->Q(1, z, act[t]) - td[t]).pow(2).mean());
      z = nets->Next(z, act[t]);
      consistency = consistency + weight * (z - next_z[t]).pow(2).mean();
      weight *= settings.rho;
    }
    const auto model_loss = (settings.consistency_coef * consistency +
                             settings.reward_coef * reward_loss +
                             settings.value_coef * value_loss +
                             settings.termination_coef * termination_loss) /
                            static_cast<double>(h);
    const double model_value = model_loss.item<double>();
    RequireFinite(model_value, "model loss");
    const auto model_params = nets->ModelParameters(), policy_params = nets->PolicyParameters();
    ClearGrads(model_params);
    ClearGrads(policy_params);
    model_loss.backward();
    torch::nn::utils::clip_grad_norm_(model_params, settings.grad_clip);
    optimizer->step();

    // Policy prior: maximise Q (scaled by its running size) plus a little entropy.
    const auto zs = torch::cat(latents, 0).detach();
    const auto [pi_action, log_prob] = nets->Sample(zs, noise_pi);
    const auto q = 0.5 * (nets->Q(0, zs, pi_action) + nets->Q(1, zs, pi_action));
    {
      torch::NoGradGuard no_grad;
      const auto size = q.detach().abs().mean().clamp_min(1e-3);
      nets->q_scale.copy_(updates == 0 ? size : (1.0 - settings.tau) * nets->q_scale +
                                                    settings.tau * size);
    }
    auto rho_weights = torch::ones({h, 1}, q.options());
    for (int64_t t = 1; t < h; ++t) rho_weights[t] = rho_weights[t - 1] * settings.rho;
    const auto per_row = (settings.entropy_coef * log_prob - q / nets->q_scale).view({h, b});
    const auto policy_loss = (per_row * rho_weights).mean();
    const double policy_value = policy_loss.item<double>();
    RequireFinite(policy_value, "policy loss");
    ClearGrads(model_params);
    ClearGrads(policy_params);
    policy_loss.backward();
    ClearGrads(model_params);
    torch::nn::utils::clip_grad_norm_(policy_params, settings.grad_clip);
    optimizer->step();
    nets->UpdateTargets(settings.tau);

    sums.consistency += consistency.item<double>();
    sums.reward += reward_loss.item<double>();
    sums.value += value_loss.item<double>();
    sums.termination += termination_loss.item<double>();
    sums.policy += policy_value;
    sums.q_mean += q.detach().mean().item<double>();
    ++sums.count;
    ++updates;
  }

  void ChooseAction(sim::Rng& rng) {
    if (env_steps < settings.seed_steps) {
      for (auto& a : action) a = static_cast<float>(rng.Uniform(-1.0, 1.0));
    } else {
      const auto start = std::chrono::steady_clock::now();
      const auto obs = torch::from_blob(current_obs.data(), {1, obs_dim}, torch::kFloat64)
                           .to(device, torch::kFloat32);
      if (settings.act == "plan") {
        TdmpcPlan(*nets, obs, plan, state->plan_mean, episode_length > 0, true, rng, action);
      } else {
        torch::NoGradGuard no_grad;
        const auto noise = TdmpcNormals(rng, {1, act_dim}, device);
        const auto a = nets->Sample(nets->Encode(obs), noise).first.to(torch::kCPU).contiguous();
        std::copy_n(a.data_ptr<float>(), act_dim, action.begin());
      }
      plan_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++plans;
    }
    const auto env = nets->ToEnv(torch::from_blob(action.data(), {act_dim}, torch::kFloat32)
                                     .to(device)).to(torch::kCPU, torch::kFloat64).contiguous();
    std::copy_n(env.data_ptr<double>(), act_dim, env_action.begin());
  }

  std::map<std::string, double> Update() {
    const auto start = std::chrono::steady_clock::now();
    sim::Rng rng(sim::DeriveSeed(settings.seed ^ static_cast<uint64_t>(env_steps), kSampleStream));
    std::vector<double> returns, lengths, successes;
    sums = {};
    plan_seconds = 0.0;
    plans = 0;
    double update_seconds = 0.0;
    for (int64_t v = 0; v < settings.chunk_steps; ++v) {
      ChooseAction(rng);
      const sim::BatchView batch = pool.Step(env_action);
      const bool ended = batch.terminated[0] || batch.truncated[0];
      if (!previous_done) {  // else this step was the autoreset: not a transition
        state->replay->Add(current_obs, action, batch.rewards[0], batch.Observation(0),
                           batch.terminated[0], episode_length == 0);
        episode_return += batch.rewards[0];
        episode_length += 1;
        if (success_index >= 0 && batch.infos[success_index] > 0.5) episode_success = 1;
        if (ended) {
          returns.push_back(episode_return);
          lengths.push_back(static_cast<double>(episode_length));
          successes.push_back(static_cast<double>(episode_success));
          episode_return = 0.0;
          episode_length = 0;
          episode_success = 0;
        }
      }
      previous_done = ended;
      current_obs.assign(batch.observations.begin(), batch.observations.end());
      ++env_steps;
      if (env_steps >= settings.seed_steps) {
        const auto update_start = std::chrono::steady_clock::now();
        // At the end of the seed steps the model catches up on them at once (TD-MPC2).
        update_credit += env_steps == settings.seed_steps ? settings.seed_steps : settings.utd;
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
            {"episodes", static_cast<double>(returns.size())},
            {"episode_return", mean_of(returns)},
            {"episode_length", mean_of(lengths)},
            {"episode_success", mean_of(successes)},
            {"updates", static_cast<double>(updates)},
            {"consistency_loss", per_update(sums.consistency)},
            {"reward_loss", per_update(sums.reward)},
            {"value_loss", per_update(sums.value)},
            {"termination_loss", per_update(sums.termination)},
            {"policy_loss", per_update(sums.policy)},
            {"q_mean", per_update(sums.q_mean)},
            {"q_scale", nets->q_scale.item<double>()},
            {"buffer_size", static_cast<double>(state->replay->Size())},
            {"steps_per_s", settings.chunk_steps / std::max(seconds, 1e-9)},
            {"updates_per_s", sums.count > 0 ? sums.count / std::max(update_seconds, 1e-9) : nan},
            {"plan_ms", plans > 0 ? 1e3 * plan_seconds / plans : nan}};
  }

  // Copies the collector's working state into the checkpointed buffers (and back).
  void StoreCollector() {
    auto& c = state->collector;
    sim::EnvState env_state;
    pool.GetEnv(0).GetState(&env_state);
    std::copy(env_state.physics.begin(), env_state.physics.end(), c->physics.data_ptr<double>());
    std::memcpy(c->rng.data_ptr<int64_t>(), env_state.rng.data(), sizeof(env_state.rng));
    c->elapsed.data_ptr<int64_t>()[0] = env_state.elapsed_steps;
    c->needs_reset.data_ptr<int64_t>()[0] = env_state.needs_reset ? 1 : 0;
    c->episode_return.data_ptr<double>()[0] = episode_return;
    c->episode_length.data_ptr<int64_t>()[0] = episode_length;
    c->episode_success.data_ptr<int64_t>()[0] = episode_success;
    std::copy(current_obs.begin(), current_obs.end(), c->current_obs.data_ptr<double>());
    c->update_credit.fill_(update_credit);
    c->updates.fill_(updates);
  }

  void RestoreCollector() {
    auto& c = state->collector;
    sim::EnvState env_state;
    const double* physics = c->physics.data_ptr<double>();
    env_state.physics.assign(physics, physics + state_size);
    std::memcpy(env_state.rng.data(), c->rng.data_ptr<int64_t>(), sizeof(env_state.rng));
    env_state.elapsed_steps = c->elapsed.data_ptr<int64_t>()[0];
    env_state.needs_reset = c->needs_reset.data_ptr<int64_t>()[0] != 0;
    pool.SetEnvState(0, env_state);
    previous_done = env_state.needs_reset;
    episode_return = c->episode_return.data_ptr<double>()[0];
    episode_length = c->episode_length.data_ptr<int64_t>()[0];
    episode_success = c->episode_success.data_ptr<int64_t>()[0];
    const double* obs = c->current_obs.data_ptr<double>();
    current_obs.assign(obs, obs + obs_dim);
    update_credit = c->update_credit.item<double>();
    updates = c->updates.item<int64_t>();
  }

  std::string Metadata() const {
    return nlohmann::json{{"model", "tdmpc"}, {"latent", settings.latent},
                          {"hidden", settings.hidden}, {"obs_dim", obs_dim},
                          {"act_dim", act_dim}, {"buffer_size", settings.buffer_size},
                          {"state_size", state_size}, {"horizon", plan.horizon},
                          {"samples", plan.samples}, {"pi_samples", plan.pi_samples},
                          {"elites", plan.elites}, {"iterations", plan.iterations},
                          {"temperature", plan.temperature}, {"min_std", plan.min_std},
                          {"max_std", plan.max_std}, {"gamma", plan.gamma},
                          {"act", settings.act}, {"seed", settings.seed}}
        .dump();
  }

  struct Sums {
    double consistency = 0, reward = 0, value = 0, termination = 0, policy = 0, q_mean = 0;
    int64_t count = 0;
  };

  TdmpcSettings settings;
  TdmpcPlanSettings plan;
  torch::Device device;
  sim::EnvPool pool;
  int64_t obs_dim, act_dim, state_size;
  TdmpcState state{nullptr};
  TdmpcNetworks nets{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer;
  int64_t env_steps = 0, updates = 0, success_index = -1;
  double update_credit = 0.0;
  Sums sums;
  double plan_seconds = 0.0;
  int64_t plans = 0;
  std::vector<float> action;       // (act_dim) normalised, as stored in the replay
  std::vector<double> env_action;  // (act_dim) env units
  std::vector<double> current_obs; // (obs_dim) raw
  bool previous_done = false;      // the next step autoresets
  double episode_return = 0.0;
  int64_t episode_length = 0, episode_success = 0;
};

TdmpcTrainer::TdmpcTrainer(const std::string& task, const sim::EnvSettings& env_settings,
                           const TdmpcSettings& settings, const std::string& device) {
  ValidateTdmpcSettings(settings);
  impl_ = std::make_unique<Impl>(task, env_settings, settings, device);
}

TdmpcTrainer::~TdmpcTrainer() = default;

std::map<std::string, double> TdmpcTrainer::Update() { return impl_->Update(); }
int64_t TdmpcTrainer::EnvSteps() const { return impl_->env_steps; }
int64_t TdmpcTrainer::StepsPerUpdate() const { return impl_->settings.chunk_steps; }

void TdmpcTrainer::Save(const std::string& path) const {
  impl_->StoreCollector();
  worldmodel::SaveCheckpoint(path, *impl_->state, *impl_->optimizer, impl_->env_steps,
                             impl_->Metadata());
}

int64_t TdmpcTrainer::Load(const std::string& path) {
  const auto info = nlohmann::json::parse(worldmodel::ReadCheckpointMetadata(path), nullptr, false);
  const std::string model = info.is_object() ? info.value("model", std::string()) : "";
  if (model != "tdmpc") {
    throw sim::BadInput("checkpoint '" + path + "' is " +
                        (model.empty() ? std::string("not a tdmpc checkpoint")
                                       : "a '" + model + "' checkpoint, not tdmpc"));
  }
  impl_->env_steps = worldmodel::LoadCheckpoint(path, *impl_->state, impl_->optimizer.get());
  impl_->RestoreCollector();
  return impl_->env_steps;
}

std::unique_ptr<Agent> TdmpcTrainer::PlanningAgent() {
  return MakeTdmpcPlanningAgent(impl_->nets, impl_->plan, impl_->pool.ActionSpec(),
                                impl_->settings.seed, impl_->settings.act == "plan");
}

std::string TdmpcTrainer::ParameterHash() const { return worldmodel::ParameterHash(*impl_->nets); }
std::string TdmpcTrainer::Device() const { return impl_->device.str(); }

}  // namespace darkmatter::agents
