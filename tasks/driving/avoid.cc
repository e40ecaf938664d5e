// driving/avoid: a three-lane road with static obstacles (stopped cars, barriers) and slow
// cars; the ego must change lanes to pass them and reach the route's end.
#include <memory>

#include "tasks/driving/driving.h"
#include "tasks/driving/driving_env.h"

namespace darkmatter::tasks::driving {
namespace {

class Avoid final : public DrivingEnv {
 public:
  explicit Avoid(const sim::EnvSettings& settings)
      : DrivingEnv("driving/avoid", settings,
                   {.dt = 0.02, .frame_skip = 5, .max_episode_steps = 450}) {
    Finalize();
  }

 protected:
  void BuildScenario(sim::Rng& rng, DrivingState* st, double* ego_s) override {
    st->lanes = 3;
    st->lane_width = 3.5;
    const double sign = rng.Uniform() < 0.5 ? -1 : 1;
    const double lengths[4] = {100, 80, 60, 150};
    const double curvatures[4] = {0, sign / rng.Uniform(200, 400), 0, -sign / rng.Uniform(200, 400)};
    st->n_segments = 4;
    for (int k = 0; k < 4; ++k) {
      st->seg_length[k] = lengths[k];
      st->seg_curvature[k] = curvatures[k];
    }
    st->target_lane = 1;
    st->target_speed = 12;
    *ego_s = 10;
    // One obstacle per row; the first blocks the ego lane.
    int n = 0;
    int lane = 1;
    for (int row = 0; row < 5; ++row) {
      Car& car = st->cars[n++];
      const bool barrier = rng.Uniform() < 0.4;
      car = Car{.active = 1, .kind = kObstacle, .s = 60.0 + 60 * row + rng.Uniform(-5, 5),
                .half_length = barrier ? 0.6 : 2.2, .half_width = barrier ? 1.2 : 0.9};
      car.d = (lane - 1) * st->lane_width;
      car.target_d = car.d;
      lane = static_cast<int>(rng.Below(3));
    }
    // Two slow cars in the outer lanes.
    for (int k = 0; k < 2; ++k) {
      Car& car = st->cars[n++];
      car = Car{.active = 1, .kind = kIdmCar, .s = 90.0 + 120 * k + rng.Uniform(0, 10),
                .v = 3, .v0 = rng.Uniform(3, 5)};
      car.d = (k == 0 ? -1 : 1) * st->lane_width;
      car.target_d = car.d;
    }
  }
};

}  // namespace

std::unique_ptr<sim::Env> MakeAvoid(const sim::EnvSettings& settings) {
  return std::make_unique<Avoid>(settings);
}

}  // namespace darkmatter::tasks::driving
