#include "tasks/control/inverted_pendulum.h"

#include <cmath>

#include "sim/mujoco_env.h"

namespace darkmatter::tasks::control {
namespace {

constexpr double kMaxPoleAngle = 0.2;  // radians before the episode terminates

class InvertedPendulum final : public sim::MujocoEnv {
 public:
  explicit InvertedPendulum(const sim::EnvSettings& settings)
      : MujocoEnv("control/inverted_pendulum",
                  sim::SharedModelFile(sim::AssetPath("control/inverted_pendulum.xml")),
                  settings, {.frame_skip = 2, .max_episode_steps = 1000,
                             .reset_noise_scale = 0.01}) {
    Finalize();
  }

 protected:
  double ComputeReward() override { return 1.0; }
  bool ComputeTerminated() override { return std::abs(data()->qpos[1]) > kMaxPoleAngle; }
};

}  // namespace

std::unique_ptr<sim::Env> MakeInvertedPendulum(const sim::EnvSettings& settings) {
  return std::make_unique<InvertedPendulum>(settings);
}

}  // namespace darkmatter::tasks::control
