// driving/occluded_pedestrian: a van parked on the right shoulder hides a pedestrian who
// steps out and crosses the road when the ego comes close; the pedestrian is absent from the
// observation while the van blocks the line of sight. Stop or slow down, then drive on.
// Impossible twin (env.violation=permanence): the pedestrian vanishes while still hidden
// behind the van, just as it starts to walk, and never comes out.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tasks/driving/driving.h"
#include "tasks/driving/driving_env.h"

namespace darkmatter::tasks::driving {
namespace {

class OccludedPedestrian final : public DrivingEnv {
 public:
  explicit OccludedPedestrian(const sim::EnvSettings& settings)
      : DrivingEnv("driving/occluded_pedestrian", settings,
                   {.dt = 0.02, .frame_skip = 5, .max_episode_steps = 400}) {
    Finalize();
  }

  std::vector<std::string> Principles() const override { return {"permanence"}; }

  void EpisodeLabels(std::map<std::string, double>* scalars,
                     std::map<std::string, std::string>* strings) const override {
    (*scalars)["possible"] = violation() == "none" ? 1.0 : 0.0;
    (*scalars)["violation_frame"] = state().violation_frame;
    (*strings)["principle"] = violation();
  }

 protected:
  void BuildScenario(sim::Rng& rng, DrivingState* st, double* ego_s) override {
    st->lanes = 2;
    st->lane_width = 3.5;
    const double sign = rng.Uniform() < 0.5 ? -1 : 1;
    st->n_segments = 3;
    st->seg_length[0] = 120;
    st->seg_length[1] = 60;
    st->seg_curvature[1] = sign / rng.Uniform(150, 300);
    st->seg_length[2] = 120;
    st->target_lane = 0;
    st->target_speed = 12;
    *ego_s = 10;
    const double van_s = rng.Uniform(70, 110);
    Car& van = st->cars[0];
    van = Car{.active = 1, .kind = kObstacle, .s = van_s, .d = -st->lane_width - 1.3,
              .half_length = 2.8, .half_width = 1.0};
    van.target_d = van.d;
    Car& walker = st->cars[1];
    walker = Car{.active = 1, .kind = kPedestrian, .s = van_s + 3.8, .d = van.d,
                 .lateral_speed = rng.Uniform(1.2, 1.8), .half_length = 0.3, .half_width = 0.3};
    walker.target_d = walker.d;
    st->event_time = rng.Uniform(20, 30);  // trigger distance (m) between ego and pedestrian
    for (int i = 2; i < 5; ++i) {  // traffic in the other lane
      Car& car = st->cars[i];
      car = Car{.active = 1, .kind = kIdmCar, .s = 20.0 + 50 * i + rng.Uniform(0, 10),
                .d = 0.5 * st->lane_width, .v = 8, .v0 = rng.Uniform(9, 12)};
      car.target_d = car.d;
    }
  }

  double ScriptedAccel(const Car& car, int index) override {
    DrivingState& s = st();
    if (car.kind == kPedestrian) {
      Car& walker = s.cars[index];
      if (walker.target_d < 0 && walker.s - s.ego_s < s.event_time) {
        walker.target_d = s.lane_width + 1.5;  // cross to the far side
        if (violation() == "permanence" && s.violation_frame < 0 && Occluded(index)) {
          walker.active = 0;  // gone while nobody could see it
          s.violation_frame = s.steps + 1;
        }
      }
      return 0.0;
    }
    return DrivingEnv::ScriptedAccel(car, index);
  }
};

}  // namespace

std::unique_ptr<sim::Env> MakeOccludedPedestrian(const sim::EnvSettings& settings) {
  return std::make_unique<OccludedPedestrian>(settings);
}

}  // namespace darkmatter::tasks::driving
