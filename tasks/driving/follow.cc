// driving/follow: follow a lead car that brakes hard to a near stop (event 0), or one that
// overtakes in the next lane and cuts in ahead (event 1), without a collision, for 30 s,
// ending no more than kFollowGap behind a car it follows (the lead or the car that cut in; it
// may pass them): falling behind, e.g. by standing still, is not following.
#include <algorithm>
#include <memory>

#include "tasks/driving/driving.h"
#include "tasks/driving/driving_env.h"

namespace darkmatter::tasks::driving {
namespace {

constexpr double kFollowGap = 40;  // (m) largest bumper-to-bumper gap behind the lead at the end

class Follow final : public DrivingEnv {
 public:
  explicit Follow(const sim::EnvSettings& settings)
      : DrivingEnv("driving/follow", settings,
                   {.dt = 0.02, .frame_skip = 5, .max_episode_steps = 300}) {
    Finalize();
  }

 protected:
  // Kept up: some scripted car (the lead, or the car that cut in) is behind the ego or at
  // most kFollowGap ahead of it, bumper to bumper.
  bool SuccessAtTimeLimit() const override {
    const DrivingState& s = state();
    for (const Car& car : s.cars) {
      if (car.active == 0 || car.kind != kScriptedLead) continue;
      if (car.s - car.half_length - s.ego_s - world().params().half_length <= kFollowGap) {
        return true;
      }
    }
    return false;
  }

  void BuildScenario(sim::Rng& rng, DrivingState* st, double* ego_s) override {
    st->lanes = 2;
    st->lane_width = 3.5;
    const double sign = rng.Uniform() < 0.5 ? -1 : 1;
    const double lengths[3] = {150, 120, 400};
    const double curvatures[3] = {0, sign / rng.Uniform(150, 300), 0};
    st->n_segments = 3;
    std::copy(lengths, lengths + 3, st->seg_length);
    std::copy(curvatures, curvatures + 3, st->seg_curvature);
    st->target_lane = 0;
    st->target_speed = 16;
    st->event_kind = rng.Uniform() < 0.5 ? 0 : 1;
    st->event_time = rng.Uniform(8, 14);
    *ego_s = 10;
    Car& lead = st->cars[0];
    lead = Car{.active = 1, .kind = kScriptedLead, .s = 35, .d = -0.5 * st->lane_width,
               .v = 0, .v0 = rng.Uniform(11, 14)};
    lead.target_d = lead.d;
    if (st->event_kind == 1) {  // the cut-in car starts behind in the other lane
      Car& cut = st->cars[1];
      cut = Car{.active = 1, .kind = kScriptedLead, .s = 2, .d = 0.5 * st->lane_width,
                .v = 0, .v0 = 19, .lateral_speed = 1.2};
      cut.target_d = cut.d;
    }
    for (int i = 2; i < 5; ++i) {  // background traffic in the other lane
      Car& car = st->cars[i];
      car = Car{.active = 1, .kind = kIdmCar, .s = 60.0 + 40 * i + rng.Uniform(0, 10),
                .d = 0.5 * st->lane_width, .v = 8, .v0 = rng.Uniform(12, 15)};
      car.target_d = car.d;
    }
  }

  double ScriptedAccel(const Car& car, int index) override {
    DrivingState& s = st();
    const double base = DrivingEnv::ScriptedAccel(car, index);
    if (index == 0 && s.event_kind == 0 && s.time >= s.event_time && s.time < s.event_time + 6) {
      return car.v > 0.5 ? -6.5 : 0.0;  // hard brake to a stop, wait, then drive on
    }
    if (index == 1) {
      Car& cut = s.cars[1];
      if (s.time >= s.event_time && cut.s > s.ego_s + 9 && cut.target_d > 0) {
        cut.target_d = -0.5 * s.lane_width;  // cut in
        cut.v0 = 9;
      }
    }
    return base;
  }
};

}  // namespace

std::unique_ptr<sim::Env> MakeFollow(const sim::EnvSettings& settings) {
  return std::make_unique<Follow>(settings);
}

}  // namespace darkmatter::tasks::driving
