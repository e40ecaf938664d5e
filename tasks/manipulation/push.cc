#include "tasks/manipulation/push.h"

#include <algorithm>
#include <cmath>

#include "tasks/manipulation/arm_env.h"
#include "tasks/manipulation/tabletop.h"

namespace darkmatter::tasks::manipulation {
namespace {

constexpr double kMinPush = 0.08;           // m, start-to-goal distance range
constexpr double kMaxPush = 0.16;
constexpr double kPusherHalf = 0.012;       // m, half thickness of the closed fingers
constexpr double kPushHeight = 0.022;       // m, grip site height while pushing
constexpr double kTravelHeight = 0.07;      // m, grip site height when moving around the block
constexpr double kPushLead = 0.015;         // m, pusher setpoint ahead of the fingers
constexpr double kOverBehind = 0.008;       // m, grip over the push start before descending
constexpr double kOffLine = 0.015;          // m, pusher off the push line: re-approach
constexpr double kNearBlock = 0.08;         // m, within this (horizontally) a low grip rises

class Push final : public BlockGoalEnv {
 public:
  explicit Push(const sim::EnvSettings& settings)
      : BlockGoalEnv({.name = "manipulation/push",
                      .asset = "manipulation/push.xml",
                      .min_distance = kMinPush,
                      .max_distance = kMaxPush},
                     settings) {
    Finalize();
  }

 protected:
  // Push through the block's centre towards the goal with the closed fingers; re-approach
  // from behind when the block slips off the line. Markov in the observation: which of
  // push, descend, rise and travel applies follows from where the grip is.
  ExpertCommand ExpertPlan() override {
    const Vec3 grip = GripPosition(), block = ObjectPosition(0);
    const double gx = Goal()[0] - block[0], gy = Goal()[1] - block[1];
    const double remaining = std::max(std::hypot(gx, gy), 1e-9);
    const double dx = gx / remaining, dy = gy / remaining;  // push direction
    const double contact = kBlockHalf * std::sqrt(2.0) + kPusherHalf + 0.008;
    const Vec3 behind = {block[0] - dx * contact, block[1] - dy * contact, kPushHeight};
    const double along = (grip[0] - block[0]) * dx + (grip[1] - block[1]) * dy;
    const double across = -(grip[0] - block[0]) * dy + (grip[1] - block[1]) * dx;
    const double over_behind = std::hypot(grip[0] - behind[0], grip[1] - behind[1]);
    const double near_block = std::hypot(grip[0] - block[0], grip[1] - block[1]);
    const bool low = grip[2] < kPushHeight + 0.01;
    ExpertCommand command;
    command.yaw = NearestYaw(behind, std::atan2(dy, dx), M_PI / 2);
    command.gripper = 0.0;
    if (low && std::abs(across) < kOffLine && along < -kBlockHalf) {
      // Push: a setpoint a fixed lead ahead of the fingers, towards a point a little past
      // the contact; the servos push as hard as the lead asks.
      const double ahead = std::min(0.02, remaining);
      const double c = kBlockHalf + kPusherHalf;
      const Vec3 target = {block[0] + dx * (ahead - c), block[1] + dy * (ahead - c),
                           kPushHeight};
      const double gap = Distance(target, grip);
      const double step = gap > kPushLead ? kPushLead / gap : 1.0;
      for (int k = 0; k < 3; ++k) command.waypoint[k] = grip[k] + step * (target[k] - grip[k]);
      command.max_step = 1.0;
    } else if (over_behind < kOverBehind) {
      command.waypoint = behind;  // descend behind the block
    } else if (grip[2] < kTravelHeight - 0.01 && near_block < kNearBlock) {
      command.waypoint = {grip[0], grip[1], kTravelHeight};  // rise clear of the block
    } else {
      command.waypoint = {behind[0], behind[1], kTravelHeight};
    }
    return command;
  }
};

}  // namespace

std::unique_ptr<sim::Env> MakePush(const sim::EnvSettings& settings) {
  return std::make_unique<Push>(settings);
}

}  // namespace darkmatter::tasks::manipulation
