#include "agents/bc.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <torch/torch.h>

#include "agents/expert_agent.h"
#include "agents/gaussian_policy.h"
#include "agents/rollout.h"
#include "sim/error.h"
#include "sim/rng.h"
#include "tasks/manipulation/arm_env.h"
#include "tasks/registry.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/device.h"

namespace darkmatter::agents {
namespace {

constexpr uint64_t kShuffleStream = 0x6263736875ULL;
constexpr uint64_t kDemoNoiseStream = 0x62636e6f697365ULL;
constexpr double kMinInputStd = 0.01;   // floor of the input normaliser's std (obs units)
constexpr double kMinTargetStd = 1e-3;  // floor of the target scale (fraction of half-range)
constexpr int kMaxHistory = 16;         // bc.history at most

// The scripted expert with Gaussian action noise; remembers the clean action of each step.
class NoisyExpert final : public Agent {
 public:
  NoisyExpert(sim::Env& env, double noise) : env_(env), noise_(noise), rng_(0) {
    const sim::BoxSpec& spec = env.ActionSpec();
    for (size_t i = 0; i < spec.low.size(); ++i) {
      const double half = 0.5 * (spec.high[i] - spec.low[i]);
      sigma_.push_back(std::isfinite(half) ? noise * half : noise);
    }
  }
  void Reset(uint64_t seed, int row) override {
    rng_ = sim::Rng(sim::DeriveSeed(seed, kDemoNoiseStream));
    labels_.clear();
  }
  void Act(std::span<const double> observations, std::span<double> actions) override {
    env_.ExpertAction(actions);  // may advance the expert's phase (part of the env state)
    std::vector<double> clean(actions.size());
    sim::ClipAction(env_.ActionSpec(), actions, clean);
    labels_.insert(labels_.end(), clean.begin(), clean.end());
    if (noise_ > 0) {
      for (size_t i = 0; i < actions.size(); ++i) actions[i] = clean[i] + sigma_[i] * rng_.Normal();
    }
  }
  const std::vector<double>& Labels() const { return labels_; }  // (T x act_dim)

 private:
  sim::Env& env_;
  double noise_;
  sim::Rng rng_;
  std::vector<double> sigma_;   // (act_dim) noise std, env units
  std::vector<double> labels_;  // (T x act_dim) clean expert actions
};

void Require(bool ok, const std::string& key, const std::string& value, const std::string& rule) {
  if (!ok) throw sim::BadInput("setting " + key + "=" + value + ": must be " + rule);
}

}  // namespace

void BindBcSettings(BcSettings* s, sim::SettingsBinder* b) {
  b->Bind("bc.demos", &s->demos, "expert episodes to clone");
  b->Bind("bc.demo_seed", &s->demo_seed, "demo k is reset with demo_seed + k");
  b->Bind("bc.demo_file", &s->demo_file, "episode file to read demos from (\"\" = record them)");
  b->Bind("bc.demo_noise", &s->demo_noise,
          "recording noise std, fraction of each action's half-range (labels stay clean)");
  b->Bind("bc.epochs", &s->epochs, "passes over the demonstration pairs");
  b->Bind("bc.batch", &s->batch, "(observation, action) pairs per optimiser step");
  b->Bind("bc.lr", &s->lr, "Adam learning rate");
  b->Bind("bc.weight_decay", &s->weight_decay, "Adam L2 weight decay");
  b->Bind("bc.hidden", &s->hidden, "hidden units of the policy MLP");
  b->Bind("bc.history", &s->history,
          "observations the policy sees (current + history-1 before it, newest first)");
  b->Bind("bc.relative_actions", &s->relative_actions,
          "actions 0..N-1 learnt as offsets from observations 0..N-1 (-1 = auto)");
  b->Bind("bc.seed", &s->seed, "initialisation and shuffling seed");
  b->Bind("bc.checkpoint_every", &s->checkpoint_every, "epochs between checkpoints");
  b->Bind("bc.eval_episodes", &s->eval_episodes,
          "evaluation episodes at the end (test seeds; 0 = none)");
}

void ValidateBcSettings(const BcSettings& s) {
  sim::RequireInRange("bc.demos", s.demos, 1, sim::kMaxSamples);
  Require(s.epochs >= 1, "bc.epochs", std::to_string(s.epochs), ">= 1");
  sim::RequireInRange("bc.batch", s.batch, 1, sim::kMaxBatch);
  Require(s.lr > 0, "bc.lr", std::to_string(s.lr), "> 0");
  Require(s.weight_decay >= 0, "bc.weight_decay", std::to_string(s.weight_decay), ">= 0");
  Require(s.demo_noise >= 0 && s.demo_noise <= 1, "bc.demo_noise", std::to_string(s.demo_noise),
          "in [0, 1]");
  sim::RequireInRange("bc.hidden", s.hidden, 1, sim::kMaxWidth);
  Require(s.history >= 1 && s.history <= kMaxHistory, "bc.history", std::to_string(s.history),
          "in [1, " + std::to_string(kMaxHistory) + "]");
  Require(s.relative_actions >= -1, "bc.relative_actions", std::to_string(s.relative_actions),
          ">= -1");
  Require(s.checkpoint_every >= 1, "bc.checkpoint_every", std::to_string(s.checkpoint_every),
          ">= 1");
  sim::RequireInRange("bc.eval_episodes", s.eval_episodes, 0, sim::kMaxSamples);
}

std::vector<sim::Episode> RecordExpertDemos(const std::string& task,
                                            const sim::EnvSettings& env_settings, int count,
                                            uint64_t first_seed, double noise) {
  auto env = tasks::MakeEnv(task, env_settings);
  ExpertAgent check(*env);  // BadInput when the task has no expert
  NoisyExpert expert(*env, noise);
  std::vector<sim::Episode> demos;
  demos.reserve(count);
  for (int k = 0; k < count; ++k) {
    demos.push_back(RecordEpisode(*env, expert, first_seed + static_cast<uint64_t>(k)));
    if (noise > 0) demos.back().actions = expert.Labels();
  }
  return demos;
}

std::vector<int64_t> HistoryRows(const std::vector<int64_t>& episode_lengths, int history) {
  std::vector<int64_t> rows;
  int64_t start = 0;
  for (const int64_t length : episode_lengths) {
    for (int64_t t = start; t < start + length; ++t) {
      for (int j = 0; j < history; ++j) rows.push_back(std::max(start, t - j));
    }
    start += length;
  }
  return rows;
}

int RelativeActionCount(int setting, const sim::Env& env) {
  if (setting >= 0) return setting;
  return dynamic_cast<const tasks::manipulation::ArmEnv*>(&env) != nullptr
             ? tasks::manipulation::ArmEnv::kArmJoints
             : 0;
}

struct BcTrainer::Impl {
  BcSettings settings;
  torch::Device device{torch::kCPU};
  GaussianPolicy policy{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer;
  torch::Tensor inputs;       // (P x in_dim) normalised observations or features
  torch::Tensor targets;      // (P x act_dim) expert actions, normalised units
  torch::Tensor env_targets;  // (P x act_dim) learnt targets (actions or offsets), env units
  int relative = 0;           // actions 0..relative-1 are offsets from observations
  int64_t epochs = 0;

  double ActionMse() {
    torch::NoGradGuard no_grad;
    policy->eval();
    const auto predicted = policy->ToEnv(policy->Mean(inputs));
    return (predicted - env_targets).pow(2).mean().item<double>();
  }
};

BcTrainer::BcTrainer(const std::vector<sim::Episode>& demos, const sim::BoxSpec& action_spec,
                     const BcSettings& settings, const std::string& device, FeatureFn features,
                     int64_t feature_dim)
    : impl_(std::make_unique<Impl>()) {
  ValidateBcSettings(settings);
  if (demos.empty()) throw sim::BadInput("behaviour cloning needs at least one demonstration");
  const int64_t obs_dim = demos[0].obs_dim, act_dim = demos[0].act_dim;
  if (act_dim != action_spec.Size()) {
    throw sim::BadInput("demonstrations have " + std::to_string(act_dim) +
                        " action dimensions, the task " + std::to_string(action_spec.Size()));
  }
  std::vector<double> observations, actions;
  std::vector<int64_t> lengths;
  for (const sim::Episode& episode : demos) {
    if (episode.obs_dim != obs_dim || episode.act_dim != act_dim) {
      throw sim::BadInput("demonstration episodes of different shapes (task " + episode.task +
                          ", seed " + std::to_string(episode.seed) + ")");
    }
    observations.insert(observations.end(), episode.observations.begin(),
                        episode.observations.begin() + episode.Length() * obs_dim);
    actions.insert(actions.end(), episode.actions.begin(), episode.actions.end());
    lengths.push_back(episode.Length());
  }
  const int64_t pairs = static_cast<int64_t>(actions.size()) / act_dim;
  if (pairs == 0) throw sim::BadInput("demonstrations have no steps");
  Impl& m = *impl_;
  m.settings = settings;
  m.device = worldmodel::ResolveDevice(device);
  auto raw = torch::from_blob(observations.data(), {pairs, obs_dim}, torch::kFloat64)
                 .to(torch::kFloat32);
  torch::Tensor in = raw;
  if (features) {
    torch::NoGradGuard no_grad;
    in = features(raw.to(m.device)).detach().to(torch::kCPU, torch::kFloat32);
    if (in.dim() != 2 || in.size(0) != pairs || (feature_dim > 0 && in.size(1) != feature_dim)) {
      throw sim::BadInput("feature extractor returned a tensor of the wrong shape");
    }
  }
  if (settings.history > 1) {  // each row: its own and the history-1 earlier inputs
    in = in.index_select(0, torch::tensor(HistoryRows(lengths, settings.history), torch::kInt64))
             .reshape({pairs, settings.history * in.size(1)});
  }
  m.relative = settings.relative_actions;
  if (m.relative < 0) {
    try {
      m.relative = RelativeActionCount(-1, *tasks::MakeEnv(demos[0].task));
    } catch (const sim::BadInput&) {
      m.relative = 0;  // demonstrations of an unregistered task: absolute actions
    }
  }
  if (m.relative > act_dim || m.relative > obs_dim) {
    throw sim::BadInput("setting bc.relative_actions=" + std::to_string(m.relative) +
                        ": must be <= the action size " + std::to_string(act_dim) +
                        " and the observation size " + std::to_string(obs_dim));
  }
  // Targets: the labels, minus the observation for the first `relative` dimensions.
  auto labels = torch::from_blob(actions.data(), {pairs, act_dim}, torch::kFloat64).clone();
  if (m.relative > 0) {
    const auto rows = torch::from_blob(observations.data(), {pairs, obs_dim}, torch::kFloat64);
    labels.slice(1, 0, m.relative) -= rows.slice(1, 0, m.relative);
  }
  // Target scaling from the data (mean +- std), so that small offsets are not lost in the
  // bounds' scale; a constant dimension keeps a floor of kMinTargetStd x its half-range.
  const auto target_mean = labels.mean(0);
  const auto target_std = labels.std(0, /*unbiased=*/false);
  std::vector<double> low(act_dim), high(act_dim);
  for (int64_t i = 0; i < act_dim; ++i) {
    const double half = 0.5 * (action_spec.high[i] - action_spec.low[i]);
    const double floor = std::isfinite(half) && half > 0 ? kMinTargetStd * half : 1e-6;
    const double scale = std::max(target_std[i].item<double>(), floor);
    low[i] = target_mean[i].item<double>() - scale;
    high[i] = target_mean[i].item<double>() + scale;
  }
  torch::manual_seed(settings.seed);
  GaussianPolicyOptions options;
  options.obs_dim = in.size(1);
  options.act_dim = act_dim;
  options.hidden = settings.hidden;
  m.policy = GaussianPolicy(options, low, high);
  m.policy->FitNormaliser(in);
  for (auto& buffer : m.policy->named_buffers()) {
    // Near-constant inputs (e.g. a joint the expert never moves) would blow up off the data.
    if (buffer.key() == "obs_var") buffer.value().clamp_min_(kMinInputStd * kMinInputStd);
  }
  m.policy->to(m.device);
  m.optimizer = std::make_unique<torch::optim::Adam>(
      m.policy->parameters(), torch::optim::AdamOptions(settings.lr).weight_decay(settings.weight_decay));
  m.env_targets = labels.to(m.device, torch::kFloat32);
  m.targets = m.policy->FromEnv(m.env_targets);
  m.inputs = m.policy->Normalise(in.to(m.device));
}

BcTrainer::~BcTrainer() = default;

std::map<std::string, double> BcTrainer::TrainEpoch() {
  Impl& m = *impl_;
  const int64_t pairs = m.inputs.size(0);
  sim::Rng rng(sim::DeriveSeed(m.settings.seed ^ static_cast<uint64_t>(m.epochs), kShuffleStream));
  std::vector<int64_t> order(pairs);
  std::iota(order.begin(), order.end(), 0);
  for (int64_t k = pairs - 1; k > 0; --k) {
    std::swap(order[k], order[rng.Below(static_cast<uint64_t>(k + 1))]);
  }
  const auto order_tensor = torch::tensor(order, torch::kInt64).to(m.device);
  m.policy->train();
  double loss_sum = 0;
  int64_t steps = 0;
  for (int64_t begin = 0; begin < pairs; begin += m.settings.batch) {
    const auto idx = order_tensor.slice(0, begin, std::min<int64_t>(begin + m.settings.batch, pairs));
    const auto predicted = m.policy->Mean(m.inputs.index_select(0, idx));
    const auto loss = (predicted - m.targets.index_select(0, idx)).pow(2).mean();
    m.optimizer->zero_grad();
    loss.backward();
    m.optimizer->step();
    loss_sum += loss.item<double>();
    ++steps;
  }
  ++m.epochs;
  return {{"loss", loss_sum / std::max<int64_t>(steps, 1)},
          {"action_mse", m.ActionMse()},
          {"epoch", static_cast<double>(m.epochs)}};
}

double BcTrainer::ActionMse() { return impl_->ActionMse(); }
int64_t BcTrainer::Epochs() const { return impl_->epochs; }
int64_t BcTrainer::NumPairs() const { return impl_->inputs.size(0); }
int BcTrainer::RelativeActions() const { return impl_->relative; }

void BcTrainer::Save(const std::string& path) const {
  const auto& o = impl_->policy->options();
  const std::string metadata = "{\"model\": \"bc\", \"hidden\": " + std::to_string(o.hidden) +
                               ", \"obs_dim\": " + std::to_string(o.obs_dim) +
                               ", \"act_dim\": " + std::to_string(o.act_dim) +
                               ", \"relative_actions\": " + std::to_string(impl_->relative) +
                               ", \"history\": " + std::to_string(impl_->settings.history) + "}";
  worldmodel::SaveCheckpoint(path, *impl_->policy, *impl_->optimizer, impl_->epochs, metadata);
}

int64_t BcTrainer::Load(const std::string& path) {
  impl_->epochs = worldmodel::LoadCheckpoint(path, *impl_->policy, impl_->optimizer.get());
  return impl_->epochs;
}

std::string BcTrainer::ParameterHash() const { return worldmodel::ParameterHash(*impl_->policy); }

}  // namespace darkmatter::agents
