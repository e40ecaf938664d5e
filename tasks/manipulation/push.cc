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
constexpr double kPushSpeed = 0.005;        // m per control step while pushing
constexpr double kMaxLead = 0.03;           // m, pusher setpoint ahead of the fingers at most

enum Phase { kAbove = 0, kDescend = 1, kPush = 2, kRetreat = 3 };

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
  // from behind when the block slips off the line.
  ExpertCommand ExpertPlan() override {
    const Vec3 grip = GripPosition(), block = ObjectPosition(0);
    const double gx = Goal()[0] - block[0], gy = Goal()[1] - block[1];
    const double remaining = std::max(std::hypot(gx, gy), 1e-9);
    const double dx = gx / remaining, dy = gy / remaining;  // push direction
    const double contact = kBlockHalf * std::sqrt(2.0) + kPusherHalf + 0.008;
    const Vec3 behind = {block[0] - dx * contact, block[1] - dy * contact, kPushHeight};
    const double along = (grip[0] - block[0]) * dx + (grip[1] - block[1]) * dy;
    const double across = -(grip[0] - block[0]) * dy + (grip[1] - block[1]) * dx;
    ExpertCommand command;
    command.yaw = NearestYaw(behind, std::atan2(dy, dx), M_PI / 2);
    command.gripper = 0.0;
    switch (Phase()) {
      case kAbove:
        command.waypoint = {behind[0], behind[1], kTravelHeight};
        if (std::hypot(grip[0] - behind[0], grip[1] - behind[1]) < 0.008) SetPhase(kDescend);
        break;
      case kDescend:
        command.waypoint = behind;
        if (Distance(grip, behind) < 0.008) {
          SetPhase(kPush);
          SetAnchor(grip);
        }
        break;
      case kPush: {
        if (std::abs(across) > 0.015 || along > -kBlockHalf) {
          SetPhase(kRetreat);
          command.waypoint = {grip[0], grip[1], kTravelHeight};
          break;
        }
        // The pusher's setpoint (the anchor) advances at kPushSpeed towards a point a little
        // past the contact, whatever the lag: the servos push as hard as the block needs.
        const double ahead = std::min(0.02, remaining);
        const double c = kBlockHalf + kPusherHalf;
        const Vec3 target = {block[0] + dx * (ahead - c), block[1] + dy * (ahead - c),
                             kPushHeight};
        Vec3 setpoint = Anchor();
        const double gap = Distance(target, setpoint);
        const double step = gap > kPushSpeed ? kPushSpeed / gap : 1.0;
        for (int k = 0; k < 3; ++k) setpoint[k] += step * (target[k] - setpoint[k]);
        const double lead = Distance(setpoint, grip);
        if (lead > kMaxLead) {  // never far ahead of the fingers
          for (int k = 0; k < 3; ++k) {
            setpoint[k] = grip[k] + kMaxLead / lead * (setpoint[k] - grip[k]);
          }
        }
        SetAnchor(setpoint);
        command.waypoint = setpoint;
        command.max_step = 1.0;
        break;
      }
      default:  // kRetreat
        command.waypoint = {grip[0], grip[1], kTravelHeight};
        if (grip[2] > kTravelHeight - 0.01) SetPhase(kAbove);
        break;
    }
    return command;
  }
};

}  // namespace

std::unique_ptr<sim::Env> MakePush(const sim::EnvSettings& settings) {
  return std::make_unique<Push>(settings);
}

}  // namespace darkmatter::tasks::manipulation
