#include "agents/train_agent.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "agents/policy_agent.h"
#include "agents/rollout.h"
#include "agents/sac_agent.h"
#include "sim/episode_file.h"
#include "sim/error.h"
#include "tasks/registry.h"
#include "worldmodel/run_files.h"

namespace darkmatter::agents {
namespace {

using worldmodel::MetricsJson;
using worldmodel::TruncateMetrics;
using worldmodel::WriteJsonAtomically;

nlohmann::json EvaluationJson(const AgentEvaluation& e) {
  return {{"episodes", e.episodes},
          {"first_seed", kTestSeedBase},
          {"mean_return", e.mean_return},
          {"success_rate", e.success_rate},
          {"mean_length", e.mean_length}};
}

// Demonstrations for bc: read from bc.demo_file (the first bc.demos episodes) or recorded
// with the task's expert on seeds bc.demo_seed + k.
std::vector<sim::Episode> LoadDemos(const AgentTrainRequest& r, const sim::Env& env) {
  const BcSettings& s = r.bc;
  if (s.demo_file.empty()) {
    if (!env.HasExpert()) {
      throw sim::BadInput("task '" + r.task +
                          "' has no scripted expert to record demonstrations (give "
                          "bc.demo_file=FILE.h5)");
    }
    if (s.demo_seed + static_cast<uint64_t>(s.demos) > kTestSeedBase) {
      throw sim::BadInput("setting bc.demo_seed=" + std::to_string(s.demo_seed) +
                          ": demonstration seeds must stay below the test seeds (" +
                          std::to_string(kTestSeedBase) + ")");
    }
    return RecordExpertDemos(r.task, r.env, s.demos, s.demo_seed, s.demo_noise);
  }
  if (s.demo_noise > 0) {
    throw sim::BadInput("setting bc.demo_noise=" + std::to_string(s.demo_noise) +
                        ": noise applies only to recorded demonstrations, not bc.demo_file");
  }
  if (!std::filesystem::is_regular_file(s.demo_file)) {
    throw sim::BadInput("demonstration file '" + s.demo_file + "' does not exist");
  }
  sim::EpisodeReader reader(s.demo_file);
  if (reader.Header().task != r.task) {
    throw sim::BadInput("demonstration file '" + s.demo_file + "' holds task '" +
                        reader.Header().task + "', not '" + r.task + "'");
  }
  if (reader.NumEpisodes() < s.demos) {
    throw sim::BadInput("setting bc.demos=" + std::to_string(s.demos) + ": '" + s.demo_file +
                        "' has only " + std::to_string(reader.NumEpisodes()) + " episodes");
  }
  std::vector<sim::Episode> demos;
  for (int k = 0; k < s.demos; ++k) demos.push_back(reader.Read(k));
  if (demos[0].obs_dim != env.ObservationSpec().Size() ||
      demos[0].act_dim != env.ActionSpec().Size()) {
    throw sim::BadInput("demonstration file '" + s.demo_file +
                        "' has observation/action sizes that do not match the task");
  }
  return demos;
}

// A sac run resumed with other settings than it was started with is refused, naming every
// sac.* and env.* key whose value differs (the budget and cadence keys may change).
void RequireSameSacSettings(const nlohmann::json& previous, const AgentTrainRequest& r) {
  if (!previous.contains("settings") || !previous["settings"].is_object()) return;
  const auto& before = previous["settings"];
  std::string differing;
  for (const auto& [key, value] : r.settings_text) {
    if ((key.rfind("sac.", 0) != 0 && key.rfind("env.", 0) != 0) || SacResumeMayChange(key)) {
      continue;
    }
    const std::string old_value =
        before.contains(key) && before[key].is_string() ? before[key].get<std::string>() : "";
    if (before.contains(key) && old_value != value) {
      differing += (differing.empty() ? "" : ", ") + key + " (" + old_value + " -> " + value + ")";
    }
  }
  if (!differing.empty()) {
    throw sim::BadInput("--resume: '" + r.out + "' was trained with other settings: " +
                        differing);
  }
}

// The training SAC's deterministic policy as an Agent, for evaluations during training.
class SacTrainerAgent final : public Agent {
 public:
  explicit SacTrainerAgent(SacTrainer* trainer) : trainer_(trainer) {}
  void Reset(uint64_t seed, int row) override {}
  void Act(std::span<const double> observations, std::span<double> actions) override {
    trainer_->Act(observations, actions);
  }

 private:
  SacTrainer* trainer_;
};

}  // namespace

const std::vector<std::string>& TrainableAgents() {
  static const std::vector<std::string> models = {"bc", "ppo", "sac"};
  return models;
}

void BindAgentSettings(const std::string& model, AgentTrainRequest* request,
                       sim::SettingsBinder* binder) {
  sim::BindEnvSettings(&request->env, binder);
  if (model == "bc") {
    BindBcSettings(&request->bc, binder);
  } else if (model == "ppo") {
    BindPpoSettings(&request->ppo, binder);
  } else if (model == "sac") {
    BindSacSettings(&request->sac, binder);
  } else {
    throw sim::BadInput("unknown agent model '" + model + "' (agent models: bc, ppo, sac)");
  }
}

AgentEvaluation EvaluateAgent(sim::Env& env, Agent& agent, uint64_t first_seed, int episodes) {
  AgentEvaluation e;
  e.episodes = episodes;
  if (episodes <= 0) return e;
  for (int k = 0; k < episodes; ++k) {
    const sim::Episode episode = RecordEpisode(env, agent, first_seed + static_cast<uint64_t>(k));
    e.mean_return += episode.Return();
    e.success_rate += episode.AnyInfo("success") ? 1.0 : 0.0;
    e.mean_length += static_cast<double>(episode.Length());
  }
  e.mean_return /= episodes;
  e.success_rate /= episodes;
  e.mean_length /= episodes;
  return e;
}

AgentTrainResult TrainAgent(const AgentTrainRequest& r) {
  const auto& models = TrainableAgents();
  if (std::find(models.begin(), models.end(), r.model) == models.end()) {
    throw sim::BadInput("unknown agent model '" + r.model + "' (agent models: bc, ppo, sac)");
  }
  if (r.out.empty()) throw sim::BadInput("--out DIR is required");
  if (r.task.empty()) throw sim::BadInput("model '" + r.model + "' needs --task NAME");
  const bool is_bc = r.model == "bc", is_sac = r.model == "sac";
  if (is_bc) {
    ValidateBcSettings(r.bc);
  } else if (is_sac) {
    ValidateSacSettings(r.sac);
  } else {
    ValidatePpoSettings(r.ppo);
  }
  if (!sim::WantsState(r.env) || sim::WantsPixels(r.env)) {
    throw sim::BadInput("setting env.observation=" + r.env.observation + ": model '" + r.model +
                        "' needs state observations");
  }
  auto env = tasks::MakeEnv(r.task, r.env);  // BadInput on an unknown task or env setting
  if (env->ActionSpec().Size() == 0) {
    throw sim::BadInput("task '" + r.task + "' has no actions (a scene to watch): model '" +
                        r.model + "' needs a task with actions");
  }
  const std::filesystem::path out(r.out);
  const std::string checkpoint = (out / "checkpoint.pt").string();
  if (r.resume) {
    if (!std::filesystem::is_regular_file(checkpoint)) {
      throw sim::BadInput("--resume: no checkpoint '" + checkpoint + "' to resume from");
    }
    const auto previous = worldmodel::ReadJsonFile(out / "run.json");
    if (previous.is_object()) {
      const std::string model = previous.value("model", r.model);
      const std::string task = previous.value("task", r.task);
      if (model != r.model || task != r.task) {
        throw sim::BadInput("--resume: '" + r.out + "' holds a " + model + " run on " + task +
                            ", not " + r.model + " on " + r.task);
      }
      if (is_sac) RequireSameSacSettings(previous, r);
    }
  } else if (std::filesystem::exists(checkpoint)) {
    throw sim::BadInput("'" + r.out +
                        "' already holds a run (checkpoint.pt); use --resume or another --out");
  }

  // Trainers (constructing them validates the device and, for bc, the demonstrations).
  std::unique_ptr<BcTrainer> bc;
  std::unique_ptr<PpoTrainer> ppo;
  std::unique_ptr<SacTrainer> sac;
  std::vector<sim::Episode> demos;
  int64_t total = 0, per_round = 1;
  if (is_bc) {
    demos = LoadDemos(r, *env);
    bc = std::make_unique<BcTrainer>(demos, env->ActionSpec(), r.bc, r.device);
    total = r.bc.epochs;
  } else if (is_sac) {
    sac = std::make_unique<SacTrainer>(r.task, r.env, r.sac, r.device);
    per_round = sac->StepsPerUpdate();
    total = (static_cast<int64_t>(r.sac.total_env_steps) + per_round - 1) / per_round * per_round;
  } else {
    ppo = std::make_unique<PpoTrainer>(r.task, r.env, r.ppo, r.device);
    per_round = ppo->StepsPerUpdate();
    total = (static_cast<int64_t>(r.ppo.total_env_steps) + per_round - 1) / per_round * per_round;
  }
  AgentTrainResult result;
  if (r.resume) {
    result.start_step = is_bc    ? bc->Load(checkpoint)
                        : is_sac ? sac->Load(checkpoint)
                                 : ppo->Load(checkpoint);
    if (result.start_step > total || result.start_step % per_round != 0) {
      throw sim::BadInput("--resume: checkpoint is at step " + std::to_string(result.start_step) +
                          ", beyond or off the schedule of " + std::to_string(total) + " steps");
    }
  }
  result.device = is_bc ? r.device : is_sac ? sac->Device() : ppo->Device();

  // Everything is valid: create the run directory.
  std::filesystem::create_directories(out);
  nlohmann::json run = {{"model", r.model},
                        {"task", r.task},
                        {"device", result.device},
                        {"settings", r.settings_text},
                        {"start_step", result.start_step},
                        {"step_unit", is_bc ? "epochs" : "env_steps"},
                        {"test_seed_base", kTestSeedBase}};
  if (is_bc) {
    run["num_demos"] = demos.size();
    run["num_pairs"] = bc->NumPairs();
    run["demo_source"] = r.bc.demo_file.empty() ? "expert" : r.bc.demo_file;
    run["demo_seeds"] = {r.bc.demo_seed, r.bc.demo_seed + static_cast<uint64_t>(r.bc.demos) - 1};
  }
  WriteJsonAtomically(out / "run.json", run);
  if (r.resume) TruncateMetrics(out / "metrics.jsonl", result.start_step);
  std::ofstream metrics_file(out / "metrics.jsonl", std::ios::app);

  const int every = is_bc    ? r.bc.checkpoint_every
                    : is_sac ? r.sac.checkpoint_every
                             : r.ppo.checkpoint_every;
  const auto start = std::chrono::steady_clock::now();
  int64_t saved_step = r.resume ? result.start_step : -1;  // step of the last good checkpoint
  int64_t done = result.start_step;
  auto save = [&] {
    is_bc ? bc->Save(checkpoint) : is_sac ? sac->Save(checkpoint) : ppo->Save(checkpoint);
    saved_step = done;
  };
  auto next_metrics = [&] {
    if (is_bc) return bc->TrainEpoch();
    if (!is_sac) return ppo->Update();
    try {
      return sac->Update();
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(
          std::string(e.what()) +
          (saved_step >= 0 ? "; the last good checkpoint '" + checkpoint + "' (step " +
                                 std::to_string(saved_step) + ") is kept"
                           : "; no checkpoint was written yet"));
    }
  };
  for (int64_t round = 0; done < total; ++round) {
    auto metrics = next_metrics();
    done = is_bc ? bc->Epochs() : is_sac ? sac->EnvSteps() : ppo->EnvSteps();
    if (is_sac && r.sac.eval_every > 0 && r.sac.eval_episodes > 0 &&
        ((done / per_round) % r.sac.eval_every == 0 || done == total)) {
      SacTrainerAgent agent(sac.get());
      const AgentEvaluation e = EvaluateAgent(*env, agent, kTestSeedBase, r.sac.eval_episodes);
      metrics["eval_return"] = e.mean_return;
      metrics["eval_success"] = e.success_rate;
      metrics["eval_length"] = e.mean_length;
    }
    if (round == 0) result.first = metrics;
    result.last = metrics;
    metrics_file << MetricsJson(done, metrics).dump() << "\n";
    metrics_file.flush();
    if ((done / per_round) % every == 0 || done == total) save();
    if (r.on_progress) r.on_progress(done, total);
  }
  if (result.start_step == total) save();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.steps = total;
  result.checkpoint = checkpoint;
  result.parameter_hash = is_bc    ? bc->ParameterHash()
                          : is_sac ? sac->ParameterHash()
                                   : ppo->ParameterHash();

  const int eval_episodes = is_bc    ? r.bc.eval_episodes
                            : is_sac ? r.sac.eval_episodes
                                     : r.ppo.eval_episodes;
  if (eval_episodes > 0) {
    std::unique_ptr<Agent> agent;
    if (is_sac) {
      agent = std::make_unique<SacPolicyAgent>(env->ObservationSpec(), env->ActionSpec(),
                                               checkpoint);
    } else {
      agent = std::make_unique<PolicyAgent>(env->ObservationSpec(), env->ActionSpec(),
                                            is_bc ? r.bc.hidden : r.ppo.hidden, checkpoint);
    }
    result.evaluation = EvaluateAgent(*env, *agent, kTestSeedBase, eval_episodes);
    run["evaluation"] = EvaluationJson(result.evaluation);
  }
  run["steps"] = result.steps;
  run["parameter_hash"] = result.parameter_hash;
  run["seconds"] = result.seconds;
  nlohmann::json final_metrics = nlohmann::json::object();
  for (const auto& [key, value] : result.last) {
    if (std::isfinite(value)) final_metrics[key] = value;
  }
  run["final_metrics"] = final_metrics;
  WriteJsonAtomically(out / "run.json", run);
  return result;
}

}  // namespace darkmatter::agents
