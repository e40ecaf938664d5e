// driving/lane_keep: follow a winding two-lane road at a target speed, with 10 IDM traffic
// cars (faster ones ahead in the ego lane, slower ones in the other lane).
#include <memory>

#include "tasks/driving/driving.h"
#include "tasks/driving/driving_env.h"

namespace darkmatter::tasks::driving {
namespace {

class LaneKeep final : public DrivingEnv {
 public:
  explicit LaneKeep(const sim::EnvSettings& settings)
      : DrivingEnv("driving/lane_keep", settings,
                   {.dt = 0.02, .frame_skip = 5, .max_episode_steps = 400}) {
    Finalize();
  }

 protected:
  void BuildScenario(sim::Rng& rng, DrivingState* st, double* ego_s) override {
    st->lanes = 2;
    st->lane_width = 3.5;
    int n = 0;
    st->seg_length[n] = 40;
    st->seg_curvature[n++] = 0;
    double sign = rng.Uniform() < 0.5 ? -1 : 1;
    for (int k = 0; k < 4; ++k) {
      st->seg_length[n] = rng.Uniform(40, 80);
      st->seg_curvature[n++] = sign / rng.Uniform(60, 150);
      st->seg_length[n] = rng.Uniform(15, 40);
      st->seg_curvature[n++] = 0;
      sign = -sign;
    }
    st->n_segments = n;
    st->target_lane = 0;
    st->target_speed = rng.Uniform(12, 16);
    *ego_s = 10;
    // Five faster cars ahead in the ego lane, five slower ones in the other lane.
    for (int i = 0; i < 10; ++i) {
      Car& car = st->cars[i];
      car.active = 1;
      car.kind = kIdmCar;
      const bool ego_lane = i < 5;
      car.d = (ego_lane ? -0.5 : 0.5) * st->lane_width;
      car.target_d = car.d;
      if (ego_lane) {
        car.s = 40 + 45 * i + rng.Uniform(0, 10);
        car.v0 = st->target_speed + rng.Uniform(3, 6);
      } else {
        car.s = 30 + 50 * (i - 5) + rng.Uniform(0, 15);
        car.v0 = rng.Uniform(7, 12);
      }
      car.v = 0.5 * car.v0;
    }
  }
};

}  // namespace

std::unique_ptr<sim::Env> MakeLaneKeep(const sim::EnvSettings& settings) {
  return std::make_unique<LaneKeep>(settings);
}

}  // namespace darkmatter::tasks::driving
