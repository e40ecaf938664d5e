#include "agents/ppo.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agents/gaussian_policy.h"
#include "sim/env_pool.h"
#include "sim/error.h"
#include "sim/rng.h"
#include "tasks/registry.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/device.h"

namespace darkmatter::agents {
namespace {

constexpr uint64_t kSampleStream = 0x70706f73616d70ULL;  // action noise and shuffles
constexpr uint64_t kEnvStream = 0x7070656e76ULL;         // env seeds after a resume

void Require(bool ok, const std::string& key, const std::string& value, const std::string& rule) {
  if (!ok) throw sim::BadInput("setting " + key + "=" + value + ": must be " + rule);
}

std::string Text(double value) { return std::to_string(value); }

}  // namespace

void BindPpoSettings(PpoSettings* s, sim::SettingsBinder* b) {
  b->Bind("ppo.num_envs", &s->num_envs, "parallel envs in the pool");
  b->Bind("ppo.threads", &s->threads, "pool worker threads (results identical for any value)");
  b->Bind("ppo.rollout_steps", &s->rollout_steps, "steps per env per update");
  b->Bind("ppo.total_env_steps", &s->total_env_steps,
          "env steps to train for (rounded up to whole updates)");
  b->Bind("ppo.epochs", &s->epochs, "passes over each batch");
  b->Bind("ppo.minibatches", &s->minibatches, "minibatches per epoch");
  b->Bind("ppo.gamma", &s->gamma, "discount per control step, in (0, 1]");
  b->Bind("ppo.gae_lambda", &s->gae_lambda, "GAE lambda, in [0, 1]");
  b->Bind("ppo.clip", &s->clip, "ratio clip epsilon, > 0");
  b->Bind("ppo.lr", &s->lr, "Adam learning rate (initial, when annealed)");
  b->Bind("ppo.anneal_lr", &s->anneal_lr, "learning rate falls linearly to 0 over the budget");
  b->Bind("ppo.normalize_reward", &s->normalize_reward,
          "divide rewards by a running std of the discounted return");
  b->Bind("ppo.reward_clip", &s->reward_clip, "normalised rewards clipped to [-this, this], > 0");
  b->Bind("ppo.entropy_coef", &s->entropy_coef, "entropy bonus weight");
  b->Bind("ppo.value_coef", &s->value_coef, "value loss weight");
  b->Bind("ppo.max_grad_norm", &s->max_grad_norm, "global gradient norm clip");
  b->Bind("ppo.hidden", &s->hidden, "hidden units of policy and value MLPs");
  b->Bind("ppo.init_log_std", &s->init_log_std, "initial policy log std (normalised actions)");
  b->Bind("ppo.seed", &s->seed, "init, sampling, shuffling and env seeds");
  b->Bind("ppo.checkpoint_every", &s->checkpoint_every, "updates between checkpoints");
  b->Bind("ppo.eval_episodes", &s->eval_episodes,
          "deterministic evaluation episodes at the end (test seeds; 0 = none)");
}

void ValidatePpoSettings(const PpoSettings& s) {
  sim::RequireInRange("ppo.num_envs", s.num_envs, 1, sim::kMaxEnvs);
  sim::RequireInRange("ppo.threads", s.threads, 0, sim::kMaxThreads);
  sim::RequireInRange("ppo.rollout_steps", s.rollout_steps, 1, sim::kMaxWindow);
  Require(s.total_env_steps >= 1, "ppo.total_env_steps", std::to_string(s.total_env_steps),
          ">= 1");
  Require(s.epochs >= 1, "ppo.epochs", std::to_string(s.epochs), ">= 1");
  Require(s.minibatches >= 1 && s.minibatches <= int64_t{s.num_envs} * s.rollout_steps,
          "ppo.minibatches",
          std::to_string(s.minibatches), ">= 1 and <= num_envs x rollout_steps");
  Require(s.gamma > 0 && s.gamma <= 1, "ppo.gamma", Text(s.gamma), "in (0, 1]");
  Require(s.gae_lambda >= 0 && s.gae_lambda <= 1, "ppo.gae_lambda", Text(s.gae_lambda),
          "in [0, 1]");
  Require(s.clip > 0, "ppo.clip", Text(s.clip), "> 0");
  Require(s.lr > 0, "ppo.lr", Text(s.lr), "> 0");
  Require(s.reward_clip > 0, "ppo.reward_clip", Text(s.reward_clip), "> 0");
  Require(s.entropy_coef >= 0, "ppo.entropy_coef", Text(s.entropy_coef), ">= 0");
  Require(s.value_coef >= 0, "ppo.value_coef", Text(s.value_coef), ">= 0");
  Require(s.max_grad_norm > 0, "ppo.max_grad_norm", Text(s.max_grad_norm), "> 0");
  sim::RequireInRange("ppo.hidden", s.hidden, 1, sim::kMaxWidth);
  Require(std::isfinite(s.init_log_std), "ppo.init_log_std", Text(s.init_log_std), "finite");
  Require(s.checkpoint_every >= 1, "ppo.checkpoint_every", std::to_string(s.checkpoint_every),
          ">= 1");
  sim::RequireInRange("ppo.eval_episodes", s.eval_episodes, 0, sim::kMaxSamples);
}

struct PpoTrainer::Impl {
  Impl(const std::string& task, const sim::EnvSettings& env_settings, const PpoSettings& s,
       const std::string& device_name)
      : settings(s),
        device(worldmodel::ResolveDevice(device_name)),
        pool([&] { return tasks::MakeEnv(task, env_settings); }, s.num_envs, s.threads),
        n(s.num_envs),
        t_max(s.rollout_steps),
        obs_dim(pool.ObservationSpec().Size()),
        act_dim(pool.ActionSpec().Size()) {
    if (!sim::WantsState(env_settings) || sim::WantsPixels(env_settings)) {
      throw sim::BadInput("setting env.observation=" + env_settings.observation +
                          ": ppo needs state observations");
    }
    torch::manual_seed(s.seed);
    GaussianPolicyOptions options;
    options.obs_dim = obs_dim;
    options.act_dim = act_dim;
    options.hidden = s.hidden;
    options.init_log_std = s.init_log_std;
    policy = GaussianPolicy(options, pool.ActionSpec().low, pool.ActionSpec().high);
    policy->to(device);
    optimizer = std::make_unique<torch::optim::Adam>(
        policy->parameters(), torch::optim::AdamOptions(s.lr).eps(1e-5));
    obs.resize(t_max * n * obs_dim);
    actions.resize(t_max * n * act_dim);
    log_probs.resize(t_max * n);
    values.resize((t_max + 1) * n);
    rewards.resize(t_max * n);
    terminated.resize(t_max * n);
    truncated.resize(t_max * n);
    valid.resize(t_max * n);
    advantages.resize(t_max * n);
    env_actions.resize(n * act_dim);
    noise.resize(n * act_dim);
    episode_return.assign(n, 0.0);
    episode_length.assign(n, 0);
    const auto& keys = pool.InfoKeys();
    const auto found = std::find(keys.begin(), keys.end(), "success");
    success_index = found == keys.end() ? -1 : static_cast<int64_t>(found - keys.begin());
    total_updates = (static_cast<int64_t>(s.total_env_steps) + n * t_max - 1) / (n * t_max);
    ResetEnvs(s.seed);
  }

  // Scales one raw reward of env i (a valid transition) by the running std of the discounted
  // return, after merging that env's return into the statistics (Welford, scalars).
  double ScaleReward(int64_t i, double reward, bool ended) {
    if (!settings.normalize_reward) return reward;
    discounted_return[i] = discounted_return[i] * settings.gamma + reward;
    reward_count += 1.0;
    const double delta = discounted_return[i] - reward_mean;
    reward_mean += delta / reward_count;
    reward_m2 += delta * (discounted_return[i] - reward_mean);
    if (ended) discounted_return[i] = 0.0;
    const double scaled = reward / RewardStd();
    return std::clamp(scaled, -settings.reward_clip, settings.reward_clip);
  }

  double RewardStd() const {
    const double var = reward_count > 1.0 ? reward_m2 / reward_count : 1.0;
    return std::sqrt(var + 1e-8);
  }

  void ResetEnvs(uint64_t seed) {
    const sim::BatchView batch = pool.Reset(seed);
    current_obs.assign(batch.observations.begin(), batch.observations.end());
    previous_done.assign(n, 0);
    discounted_return.assign(n, 0.0);
    episode_return.assign(n, 0.0);
    episode_length.assign(n, 0);
  }

  // Normalised observations (n x obs_dim) of the current raw observations (float, CPU).
  torch::Tensor CurrentObs(bool update_normaliser) {
    auto raw = torch::from_blob(current_obs.data(), {n, obs_dim}, torch::kFloat64).to(device);
    if (update_normaliser) policy->UpdateNormaliser(raw);
    return policy->Normalise(raw);
  }

  std::map<std::string, double> Update() {
    const auto start = std::chrono::steady_clock::now();
    sim::Rng rng(sim::DeriveSeed(settings.seed ^ static_cast<uint64_t>(env_steps), kSampleStream));
    std::vector<double> finished_returns, finished_lengths, finished_successes;
    const double lr_now =
        settings.anneal_lr
            ? settings.lr * (1.0 - static_cast<double>(env_steps / (n * t_max)) /
                                       static_cast<double>(std::max<int64_t>(total_updates, 1)))
            : settings.lr;
    for (auto& group : optimizer->param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(std::max(lr_now, 0.0));
    }
    // Collect.
    {
      torch::NoGradGuard no_grad;
      for (int64_t t = 0; t < t_max; ++t) {
        const auto norm = CurrentObs(true);
        const auto mean = policy->Mean(norm);
        const auto value = policy->Value(norm).to(torch::kCPU).contiguous();
        for (auto& x : noise) x = static_cast<float>(rng.Normal());
        const auto eps = torch::from_blob(noise.data(), {n, act_dim}, torch::kFloat32).to(device);
        const auto action = mean + torch::exp(policy->log_std()) * eps;
        const auto log_prob = policy->LogProb(mean, action).to(torch::kCPU).contiguous();
        const auto env_action =
            policy->ToEnv(action).to(torch::kCPU, torch::kFloat64).contiguous();
        const auto norm_cpu = norm.to(torch::kCPU).contiguous();
        const auto action_cpu = action.to(torch::kCPU).contiguous();
        std::copy_n(norm_cpu.data_ptr<float>(), n * obs_dim, obs.begin() + t * n * obs_dim);
        std::copy_n(action_cpu.data_ptr<float>(), n * act_dim, actions.begin() + t * n * act_dim);
        std::copy_n(log_prob.data_ptr<float>(), n, log_probs.begin() + t * n);
        std::copy_n(value.data_ptr<float>(), n, values.begin() + t * n);
        std::copy_n(env_action.data_ptr<double>(), n * act_dim, env_actions.begin());
        const sim::BatchView batch = pool.Step(env_actions);
        for (int64_t i = 0; i < n; ++i) {
          const int64_t k = t * n + i;
          // After an episode ended, this step was the autoreset: not a transition.
          valid[k] = !previous_done[i];
          terminated[k] = batch.terminated[i];
          truncated[k] = batch.truncated[i];
          const bool ended = batch.terminated[i] || batch.truncated[i];
          rewards[k] = valid[k] ? ScaleReward(i, batch.rewards[i], ended) : 0.0;
          if (valid[k]) {
            episode_return[i] += batch.rewards[i];
            episode_length[i] += 1;
          }
          previous_done[i] = ended;
          if (previous_done[i]) {
            finished_returns.push_back(episode_return[i]);
            finished_lengths.push_back(static_cast<double>(episode_length[i]));
            finished_successes.push_back(
                success_index >= 0 && batch.infos[i * batch.info_dim + success_index] > 0.5
                    ? 1.0 : 0.0);
            episode_return[i] = 0.0;
            episode_length[i] = 0;
          }
        }
        current_obs.assign(batch.observations.begin(), batch.observations.end());
        env_steps += n;
      }
      const auto last_value = policy->Value(CurrentObs(false)).to(torch::kCPU).contiguous();
      std::copy_n(last_value.data_ptr<float>(), n, values.begin() + t_max * n);
    }
    // GAE. values[t + 1] is the value of the observation the step returned: for an ended
    // episode its final observation, which bootstraps a truncation.
    const double gamma = settings.gamma, lambda = settings.gae_lambda;
    std::vector<float> next_advantage(n, 0.0f);
    for (int64_t t = t_max - 1; t >= 0; --t) {
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = t * n + i;
        if (!valid[k]) {
          advantages[k] = 0.0f;
          next_advantage[i] = 0.0f;
          continue;
        }
        const double next_value = terminated[k] ? 0.0 : values[(t + 1) * n + i];
        const double delta = rewards[k] + gamma * next_value - values[k];
        const bool ended = terminated[k] || truncated[k];
        const double advantage = delta + (ended ? 0.0 : gamma * lambda * next_advantage[i]);
        advantages[k] = static_cast<float>(advantage);
        next_advantage[i] = advantages[k];
      }
    }
    std::vector<int64_t> indices;
    for (int64_t k = 0; k < t_max * n; ++k) {
      if (valid[k]) indices.push_back(k);
    }
    const int64_t total = static_cast<int64_t>(indices.size());
    const auto index_tensor = torch::tensor(indices, torch::kInt64);
    const auto all_obs = torch::from_blob(obs.data(), {t_max * n, obs_dim}, torch::kFloat32)
                             .index_select(0, index_tensor).to(device);
    const auto all_actions =
        torch::from_blob(actions.data(), {t_max * n, act_dim}, torch::kFloat32)
            .index_select(0, index_tensor).to(device);
    const auto all_log_probs = torch::from_blob(log_probs.data(), {t_max * n}, torch::kFloat32)
                                   .index_select(0, index_tensor).to(device);
    const auto all_values = torch::from_blob(values.data(), {t_max * n}, torch::kFloat32)
                                .index_select(0, index_tensor).to(device);
    const auto raw_advantages = torch::from_blob(advantages.data(), {t_max * n}, torch::kFloat32)
                                    .index_select(0, index_tensor).to(device);
    const auto all_returns = raw_advantages + all_values;
    const auto all_advantages =
        (raw_advantages - raw_advantages.mean()) / (raw_advantages.std(false) + 1e-8);

    // Optimise.
    double policy_loss_sum = 0, value_loss_sum = 0, kl_sum = 0, clip_sum = 0;
    int64_t minibatch_count = 0;
    std::vector<int64_t> order(total);
    const int64_t minibatches = std::min<int64_t>(settings.minibatches, std::max<int64_t>(total, 1));
    for (int epoch = 0; epoch < settings.epochs && total > 0; ++epoch) {
      std::iota(order.begin(), order.end(), 0);
      for (int64_t k = total - 1; k > 0; --k) {
        std::swap(order[k], order[rng.Below(static_cast<uint64_t>(k + 1))]);
      }
      const auto order_tensor = torch::tensor(order, torch::kInt64).to(device);
      for (int64_t m = 0; m < minibatches; ++m) {
        const int64_t begin = m * total / minibatches, end = (m + 1) * total / minibatches;
        if (end <= begin) continue;
        const auto idx = order_tensor.slice(0, begin, end);
        const auto mb_obs = all_obs.index_select(0, idx);
        const auto mb_actions = all_actions.index_select(0, idx);
        const auto mb_old = all_log_probs.index_select(0, idx);
        const auto mb_adv = all_advantages.index_select(0, idx);
        const auto mb_ret = all_returns.index_select(0, idx);
        const auto mean = policy->Mean(mb_obs);
        const auto log_ratio = policy->LogProb(mean, mb_actions) - mb_old;
        const auto ratio = torch::exp(log_ratio);
        const auto surrogate = torch::min(
            ratio * mb_adv, torch::clamp(ratio, 1.0 - settings.clip, 1.0 + settings.clip) * mb_adv);
        const auto policy_loss = -surrogate.mean();
        const auto value_loss = 0.5 * (policy->Value(mb_obs) - mb_ret).pow(2).mean();
        const auto entropy = policy->Entropy();
        const auto loss =
            policy_loss + settings.value_coef * value_loss - settings.entropy_coef * entropy;
        optimizer->zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(policy->parameters(), settings.max_grad_norm);
        optimizer->step();
        {
          torch::NoGradGuard no_grad;
          policy_loss_sum += policy_loss.item<double>();
          value_loss_sum += value_loss.item<double>();
          kl_sum += ((ratio - 1.0) - log_ratio).mean().item<double>();
          clip_sum += ((ratio - 1.0).abs() > settings.clip).to(torch::kFloat32).mean().item<double>();
        }
        ++minibatch_count;
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto mean_of = [](const std::vector<double>& v) {
      return v.empty() ? std::numeric_limits<double>::quiet_NaN()
                       : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
    };
    double explained = std::numeric_limits<double>::quiet_NaN();
    if (total > 1) {
      torch::NoGradGuard no_grad;
      const double var_returns = all_returns.var().item<double>();
      if (var_returns > 0) {
        explained = 1.0 - (all_returns - all_values).var().item<double>() / var_returns;
      }
    }
    const double denominator = std::max<int64_t>(minibatch_count, 1);
    return {{"env_steps", static_cast<double>(env_steps)},
            {"episodes", static_cast<double>(finished_returns.size())},
            {"episode_return", mean_of(finished_returns)},
            {"episode_length", mean_of(finished_lengths)},
            {"episode_success", mean_of(finished_successes)},
            {"lr", lr_now},
            {"reward_std", settings.normalize_reward ? RewardStd() : 1.0},
            {"policy_loss", policy_loss_sum / denominator},
            {"value_loss", value_loss_sum / denominator},
            {"entropy", policy->Entropy().item<double>()},
            {"approx_kl", kl_sum / denominator},
            {"clip_fraction", clip_sum / denominator},
            {"explained_variance", explained},
            {"log_std", policy->log_std().mean().item<double>()},
            {"steps_per_s", static_cast<double>(n * t_max) / std::max(seconds, 1e-9)}};
  }

  PpoSettings settings;
  torch::Device device;
  sim::EnvPool pool;
  int64_t n, t_max, obs_dim, act_dim;
  GaussianPolicy policy{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer;
  int64_t env_steps = 0;
  int64_t total_updates = 1;   // updates in the budget (the annealing schedule)
  int64_t success_index = -1;  // column of info "success", -1 when the task has none
  // Reward normaliser: Welford statistics of the per-env discounted returns.
  double reward_count = 0.0, reward_mean = 0.0, reward_m2 = 0.0;
  std::vector<double> discounted_return;  // (N) running, reset when an episode ends
  // Rollout buffers, row k = t * n + i.
  std::vector<float> obs;          // (T x N x obs_dim) normalised as seen by the policy
  std::vector<float> actions;      // (T x N x act_dim) sampled, normalised units, unclipped
  std::vector<float> log_probs;    // (T x N)
  std::vector<float> values;       // ((T + 1) x N)
  std::vector<double> rewards;     // (T x N)
  std::vector<uint8_t> terminated, truncated, valid;  // (T x N)
  std::vector<float> advantages;   // (T x N)
  std::vector<double> env_actions; // (N x act_dim)
  std::vector<float> noise;        // (N x act_dim)
  std::vector<double> current_obs; // (N x obs_dim) raw
  std::vector<uint8_t> previous_done;  // (N) the next step autoresets
  std::vector<double> episode_return;  // (N) running
  std::vector<int64_t> episode_length; // (N) running
};

PpoTrainer::PpoTrainer(const std::string& task, const sim::EnvSettings& env_settings,
                       const PpoSettings& settings, const std::string& device) {
  ValidatePpoSettings(settings);
  impl_ = std::make_unique<Impl>(task, env_settings, settings, device);
}

PpoTrainer::~PpoTrainer() = default;

std::map<std::string, double> PpoTrainer::Update() { return impl_->Update(); }
int64_t PpoTrainer::EnvSteps() const { return impl_->env_steps; }
int64_t PpoTrainer::StepsPerUpdate() const { return impl_->n * impl_->t_max; }

void PpoTrainer::Save(const std::string& path) const {
  const auto& o = impl_->policy->options();
  char reward_stats[160];
  std::snprintf(reward_stats, sizeof(reward_stats),
                ", \"reward_count\": %.17g, \"reward_mean\": %.17g, \"reward_m2\": %.17g",
                impl_->reward_count, impl_->reward_mean, impl_->reward_m2);
  const std::string metadata = "{\"model\": \"ppo\", \"hidden\": " + std::to_string(o.hidden) +
                               ", \"obs_dim\": " + std::to_string(o.obs_dim) +
                               ", \"act_dim\": " + std::to_string(o.act_dim) + reward_stats +
                               "}";
  worldmodel::SaveCheckpoint(path, *impl_->policy, *impl_->optimizer, impl_->env_steps, metadata);
}

int64_t PpoTrainer::Load(const std::string& path) {
  impl_->env_steps = worldmodel::LoadCheckpoint(path, *impl_->policy, impl_->optimizer.get());
  // The reward normaliser (absent from checkpoints written before it existed: starts afresh).
  const auto info = nlohmann::json::parse(worldmodel::ReadCheckpointMetadata(path), nullptr, false);
  impl_->reward_count = impl_->reward_mean = impl_->reward_m2 = 0.0;
  if (info.is_object() && info.contains("reward_count")) {
    impl_->reward_count = info.value("reward_count", 0.0);
    impl_->reward_mean = info.value("reward_mean", 0.0);
    impl_->reward_m2 = info.value("reward_m2", 0.0);
  }
  impl_->ResetEnvs(sim::DeriveSeed(impl_->settings.seed ^ static_cast<uint64_t>(impl_->env_steps),
                                   kEnvStream));
  return impl_->env_steps;
}

std::string PpoTrainer::ParameterHash() const {
  return worldmodel::ParameterHash(*impl_->policy);
}

std::string PpoTrainer::Device() const { return impl_->device.str(); }

}  // namespace darkmatter::agents
