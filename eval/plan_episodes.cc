#include "eval/plan_episodes.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "agents/rollout.h"
#include "sim/error.h"
#include "sim/splits.h"
#include "tasks/manipulation/arm_env.h"

namespace darkmatter::eval {
namespace {

// The `rollout --split test` seeds.
constexpr uint64_t kTestSeedBase = sim::SplitSeedBase(sim::Split::kTest);

// Wraps an agent to time its Act calls.
class TimedAgent final : public agents::Agent {
 public:
  explicit TimedAgent(agents::Agent& inner) : inner_(inner) {}
  void Reset(uint64_t seed, int row) override { inner_.Reset(seed, row); }
  void Act(std::span<const double> observations, std::span<double> actions) override {
    const auto start = std::chrono::steady_clock::now();
    inner_.Act(observations, actions);
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++actions_;
  }
  double Seconds() const { return seconds_; }
  int64_t Actions() const { return actions_; }

 private:
  agents::Agent& inner_;
  double seconds_ = 0.0;
  int64_t actions_ = 0;
};

}  // namespace

nlohmann::json RunPlanEpisodes(sim::Env& env, agents::Agent& agent, const PlanEpisodes& run,
                               const std::function<double()>& model_calls,
                               const nlohmann::json& settings) {
  if (run.episodes < 1) throw sim::BadInput("--episodes must be >= 1");
  TimedAgent timed(agent);
  auto* arm = dynamic_cast<tasks::manipulation::ArmEnv*>(&env);
  const std::vector<std::string>& keys = env.InfoKeys();
  const bool has_collision = std::find(keys.begin(), keys.end(), "collision") != keys.end();
  nlohmann::json per_episode = nlohmann::json::array();
  int successes = 0, collisions = 0;
  int64_t steps = 0;
  double return_sum = 0.0, distance_sum = 0.0;
  for (int k = 0; k < run.episodes; ++k) {
    const uint64_t seed = kTestSeedBase + run.seed + static_cast<uint64_t>(k);
    const sim::Episode episode = agents::RecordEpisode(env, timed, seed);
    const bool success = episode.AnyInfo("success");
    const bool collision = has_collision && episode.AnyInfo("collision");
    successes += success ? 1 : 0;
    collisions += collision ? 1 : 0;
    steps += episode.Length();
    return_sum += episode.Return();
    nlohmann::json row = {{"seed", seed},
                          {"success", success},
                          {"return", episode.Return()},
                          {"length", episode.Length()}};
    if (has_collision) row["collision"] = collision;
    if (arm != nullptr) {
      row["final_goal_distance"] = arm->GoalDistance();
      distance_sum += arm->GoalDistance();
    }
    per_episode.push_back(row);
  }
  const double n = run.episodes;
  const double actions = std::max<double>(1.0, static_cast<double>(timed.Actions()));
  const double calls = model_calls ? model_calls() : 0.0;
  nlohmann::json out = {{"protocol", "P4"},
                        {"task", run.task},
                        {"policy", run.policy},
                        {"episodes", run.episodes},
                        {"seed", run.seed},
                        {"split", "test"},
                        {"seed_base", kTestSeedBase},
                        {"success_rate", successes / n},
                        {"successes", successes},
                        {"mean_return", return_sum / n},
                        {"steps", steps},
                        {"seconds_per_action", timed.Seconds() / actions},
                        {"ms_per_action", 1e3 * timed.Seconds() / actions},
                        {"model_calls_per_action", calls / actions},
                        {"settings", settings},
                        {"per_episode", per_episode}};
  if (has_collision) {
    out["collisions"] = collisions;
    out["collision_rate"] = collisions / n;
  }
  if (arm != nullptr) {
    out["mean_final_goal_distance"] = distance_sum / n;
    out["tolerance"] = arm->Tolerance();
  }
  return out;
}

}  // namespace darkmatter::eval
