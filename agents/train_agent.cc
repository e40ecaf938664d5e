#include "agents/train_agent.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "agents/policy_agent.h"
#include "agents/rollout.h"
#include "agents/sac_agent.h"
#include "agents/tdmpc.h"
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

// A run resumed with other settings than it was started with is refused, naming every
// `prefix`* and env.* key whose value differs (keys `may_change` accepts may differ).
void RequireSameSettings(const nlohmann::json& previous, const AgentTrainRequest& r,
                         const std::string& prefix, bool (*may_change)(const std::string&)) {
  if (!previous.contains("settings") || !previous["settings"].is_object()) return;
  const auto& before = previous["settings"];
  std::string differing;
  for (const auto& [key, value] : r.settings_text) {
    if ((key.rfind(prefix, 0) != 0 && key.rfind("env.", 0) != 0) || may_change(key)) continue;
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

// What TrainAgent needs of a trainer, whichever model it trains.
struct Learner {
  std::function<std::map<std::string, double>()> round;  // one epoch, update or chunk
  std::function<int64_t()> done;                         // epochs or env steps so far
  std::function<void(const std::string&)> save;
  std::function<int64_t(const std::string&)> load;
  std::function<std::string()> parameter_hash;
  std::function<std::unique_ptr<Agent>()> training_agent;  // for eval_every (may be empty)
  std::string device;
  int64_t per_round = 1, total = 0;  // steps per round; final step (whole rounds)
  int checkpoint_every = 1, eval_episodes = 0, eval_every = 0;
  bool stops_on_non_finite = false;  // round() throws std::runtime_error on a non-finite loss
  // The policy evaluated at the end, from the final checkpoint.
  std::function<std::unique_ptr<Agent>(const sim::Env&, const std::string&)> final_agent;
};

// Rounds of `per_round` steps covering `steps`.
int64_t WholeRounds(int64_t steps, int64_t per_round) {
  return (steps + per_round - 1) / per_round * per_round;
}

// The learner of r.model (trainers made here: this validates the device and, for bc, the
// demonstrations, recorded into *demos).
Learner MakeLearner(const AgentTrainRequest& r, const sim::Env& env,
                    std::vector<sim::Episode>* demos, std::shared_ptr<void>* keep) {
  Learner l;
  if (r.model == "bc") {
    *demos = LoadDemos(r, env);
    auto bc = std::make_shared<BcTrainer>(*demos, env.ActionSpec(), r.bc, r.device);
    *keep = bc;
    l.round = [bc] { return bc->TrainEpoch(); };
    l.done = [bc] { return static_cast<int64_t>(bc->Epochs()); };
    l.save = [bc](const std::string& path) { bc->Save(path); };
    l.load = [bc](const std::string& path) { return bc->Load(path); };
    l.parameter_hash = [bc] { return bc->ParameterHash(); };
    l.device = r.device;
    l.total = r.bc.epochs;
    l.checkpoint_every = r.bc.checkpoint_every;
    l.eval_episodes = r.bc.eval_episodes;
    const int hidden = r.bc.hidden;
    l.final_agent = [hidden](const sim::Env& e, const std::string& checkpoint) {
      return std::unique_ptr<Agent>(std::make_unique<PolicyAgent>(
          e.ObservationSpec(), e.ActionSpec(), hidden, checkpoint));
    };
  } else if (r.model == "sac") {
    auto sac = std::make_shared<SacTrainer>(r.task, r.env, r.sac, r.device);
    *keep = sac;
    l.round = [sac] { return sac->Update(); };
    l.done = [sac] { return sac->EnvSteps(); };
    l.save = [sac](const std::string& path) { sac->Save(path); };
    l.load = [sac](const std::string& path) { return sac->Load(path); };
    l.parameter_hash = [sac] { return sac->ParameterHash(); };
    l.training_agent = [sac] { return std::unique_ptr<Agent>(std::make_unique<SacTrainerAgent>(sac.get())); };
    l.device = sac->Device();
    l.per_round = sac->StepsPerUpdate();
    l.total = WholeRounds(r.sac.total_env_steps, l.per_round);
    l.checkpoint_every = r.sac.checkpoint_every;
    l.eval_episodes = r.sac.eval_episodes;
    l.eval_every = r.sac.eval_every;
    l.stops_on_non_finite = true;
    l.final_agent = [](const sim::Env& e, const std::string& checkpoint) {
      return std::unique_ptr<Agent>(
          std::make_unique<SacPolicyAgent>(e.ObservationSpec(), e.ActionSpec(), checkpoint));
    };
  } else if (r.model == "tdmpc") {
    auto tdmpc = std::make_shared<TdmpcTrainer>(r.task, r.env, r.tdmpc, r.device);
    *keep = tdmpc;
    l.round = [tdmpc] { return tdmpc->Update(); };
    l.done = [tdmpc] { return tdmpc->EnvSteps(); };
    l.save = [tdmpc](const std::string& path) { tdmpc->Save(path); };
    l.load = [tdmpc](const std::string& path) { return tdmpc->Load(path); };
    l.parameter_hash = [tdmpc] { return tdmpc->ParameterHash(); };
    l.training_agent = [tdmpc] { return tdmpc->PlanningAgent(); };
    l.device = tdmpc->Device();
    l.per_round = tdmpc->StepsPerUpdate();
    l.total = WholeRounds(r.tdmpc.total_env_steps, l.per_round);
    l.checkpoint_every = r.tdmpc.checkpoint_every;
    l.eval_episodes = r.tdmpc.eval_episodes;
    l.eval_every = r.tdmpc.eval_every;
    l.stops_on_non_finite = true;
    l.final_agent = [](const sim::Env& e, const std::string& checkpoint) {
      return std::unique_ptr<Agent>(
          std::make_unique<TdmpcPolicyAgent>(e.ObservationSpec(), e.ActionSpec(), checkpoint));
    };
  } else {
    auto ppo = std::make_shared<PpoTrainer>(r.task, r.env, r.ppo, r.device);
    *keep = ppo;
    l.round = [ppo] { return ppo->Update(); };
    l.done = [ppo] { return ppo->EnvSteps(); };
    l.save = [ppo](const std::string& path) { ppo->Save(path); };
    l.load = [ppo](const std::string& path) { return ppo->Load(path); };
    l.parameter_hash = [ppo] { return ppo->ParameterHash(); };
    l.device = ppo->Device();
    l.per_round = ppo->StepsPerUpdate();
    l.total = WholeRounds(r.ppo.total_env_steps, l.per_round);
    l.checkpoint_every = r.ppo.checkpoint_every;
    l.eval_episodes = r.ppo.eval_episodes;
    const int hidden = r.ppo.hidden;
    l.final_agent = [hidden](const sim::Env& e, const std::string& checkpoint) {
      return std::unique_ptr<Agent>(std::make_unique<PolicyAgent>(
          e.ObservationSpec(), e.ActionSpec(), hidden, checkpoint));
    };
  }
  return l;
}

}  // namespace

const std::vector<std::string>& TrainableAgents() {
  static const std::vector<std::string> models = {"bc", "ppo", "sac", "tdmpc"};
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
  } else if (model == "tdmpc") {
    BindTdmpcSettings(&request->tdmpc, binder);
  } else {
    throw sim::BadInput("unknown agent model '" + model + "' (agent models: bc, ppo, sac, tdmpc)");
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
    throw sim::BadInput("unknown agent model '" + r.model +
                        "' (agent models: bc, ppo, sac, tdmpc)");
  }
  if (r.out.empty()) throw sim::BadInput("--out DIR is required");
  if (r.task.empty()) throw sim::BadInput("model '" + r.model + "' needs --task NAME");
  const bool is_bc = r.model == "bc";
  if (is_bc) {
    ValidateBcSettings(r.bc);
  } else if (r.model == "sac") {
    ValidateSacSettings(r.sac);
  } else if (r.model == "tdmpc") {
    ValidateTdmpcSettings(r.tdmpc);
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
      if (r.model == "sac") RequireSameSettings(previous, r, "sac.", SacResumeMayChange);
      if (r.model == "tdmpc") RequireSameSettings(previous, r, "tdmpc.", TdmpcResumeMayChange);
    }
  } else if (std::filesystem::exists(checkpoint)) {
    throw sim::BadInput("'" + r.out +
                        "' already holds a run (checkpoint.pt); use --resume or another --out");
  }

  // The trainer (making it validates the device and, for bc, the demonstrations).
  std::vector<sim::Episode> demos;
  std::shared_ptr<void> trainer;
  Learner learner = MakeLearner(r, *env, &demos, &trainer);
  const int64_t total = learner.total, per_round = learner.per_round;
  AgentTrainResult result;
  if (r.resume) {
    result.start_step = learner.load(checkpoint);
    if (result.start_step > total || result.start_step % per_round != 0) {
      throw sim::BadInput("--resume: checkpoint is at step " + std::to_string(result.start_step) +
                          ", beyond or off the schedule of " + std::to_string(total) + " steps");
    }
  }
  result.device = learner.device;

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
    run["num_pairs"] = std::static_pointer_cast<BcTrainer>(trainer)->NumPairs();
    run["demo_source"] = r.bc.demo_file.empty() ? "expert" : r.bc.demo_file;
    run["demo_seeds"] = {r.bc.demo_seed, r.bc.demo_seed + static_cast<uint64_t>(r.bc.demos) - 1};
  }
  WriteJsonAtomically(out / "run.json", run);
  if (r.resume) TruncateMetrics(out / "metrics.jsonl", result.start_step);
  std::ofstream metrics_file(out / "metrics.jsonl", std::ios::app);

  const auto start = std::chrono::steady_clock::now();
  int64_t saved_step = r.resume ? result.start_step : -1;  // step of the last good checkpoint
  int64_t done = result.start_step;
  auto save = [&] {
    learner.save(checkpoint);
    saved_step = done;
  };
  auto next_metrics = [&] {
    if (!learner.stops_on_non_finite) return learner.round();
    try {
      return learner.round();
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
    done = learner.done();
    if (learner.eval_every > 0 && learner.eval_episodes > 0 && learner.training_agent &&
        ((done / per_round) % learner.eval_every == 0 || done == total)) {
      const auto agent = learner.training_agent();
      const AgentEvaluation e = EvaluateAgent(*env, *agent, kTestSeedBase, learner.eval_episodes);
      metrics["eval_return"] = e.mean_return;
      metrics["eval_success"] = e.success_rate;
      metrics["eval_length"] = e.mean_length;
    }
    if (round == 0) result.first = metrics;
    result.last = metrics;
    metrics_file << MetricsJson(done, metrics).dump() << "\n";
    metrics_file.flush();
    if ((done / per_round) % learner.checkpoint_every == 0 || done == total) save();
    if (r.on_progress) r.on_progress(done, total);
  }
  if (result.start_step == total) save();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.steps = total;
  result.checkpoint = checkpoint;
  result.parameter_hash = learner.parameter_hash();

  if (learner.eval_episodes > 0) {
    const auto agent = learner.final_agent(*env, checkpoint);
    result.evaluation = EvaluateAgent(*env, *agent, kTestSeedBase, learner.eval_episodes);
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
