// driving/occluded_pedestrian: a van parked on the right shoulder; a pedestrian comes in from
// the verge beyond it, walks in behind the van (absent from the observation while the van
// blocks the line of sight), waits there, and steps out to cross the road when the ego comes
// close. Stop or slow down, then drive on.
// Twin set (env.violation=permanence): world A as above, world B without the pedestrian;
// spliced while the difference cannot be seen (the pedestrian behind the van): it vanishes
// behind the van and never comes out / comes out from behind the van though nobody walked
// there (tasks/twin_set.h).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tasks/driving/driving.h"
#include "tasks/driving/driving_env.h"
#include "tasks/twin_set.h"

namespace darkmatter::tasks::driving {
namespace {

constexpr double kBehindVan = 3.8;  // m along the road past the van's centre: where it waits

class OccludedPedestrian final : public DrivingEnv, public TwinSetSource {
 public:
  explicit OccludedPedestrian(const sim::EnvSettings& settings)
      : DrivingEnv("driving/occluded_pedestrian", settings,
                   {.dt = 0.02, .frame_skip = 5, .max_episode_steps = 400}) {
    Finalize();
  }

  std::vector<std::string> Principles() const override { return {"permanence"}; }

  void EpisodeLabels(std::map<std::string, double>* scalars,
                     std::map<std::string, std::string>* strings) const override {
    (*scalars)["possible"] = 1.0;  // every simulated world is; impossible clips are composed
    (*scalars)["violation_frame"] = -1;
    (*scalars)["world"] = twin_world();
    (*strings)["principle"] = violation();
  }

  TwinRule Rule() const override { return {TwinRule::Kind::kSplice, {"vanish", "appear"}}; }

  // Frames at which the two worlds look the same: equal observations (the pedestrian is
  // masked while hidden) and, when rendered, equal frames.
  std::vector<uint8_t> UnseenDifference(const sim::Episode& a,
                                        const sim::Episode& b) const override {
    const int64_t frames = std::min(a.Length(), b.Length()) + 1;
    const int64_t obs = a.obs_dim, pixels = a.frame_height * a.frame_width * 3;
    std::vector<uint8_t> unseen(frames, 0);
    for (int64_t t = 0; t < frames; ++t) {
      bool same = std::equal(a.observations.begin() + t * obs, a.observations.begin() + (t + 1) * obs,
                             b.observations.begin() + t * obs);
      if (same && pixels > 0 && !a.frames.empty() && !b.frames.empty()) {
        same = std::equal(a.frames.begin() + t * pixels, a.frames.begin() + (t + 1) * pixels,
                          b.frames.begin() + t * pixels);
      }
      unseen[t] = same ? 1 : 0;
    }
    return unseen;
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
    // The pedestrian comes in from the verge (in view, clear of the van's shadow) to
    // kBehindVan past the van's centre, in its line (hidden), and waits there.
    Car& walker = st->cars[1];
    walker = Car{.active = 1, .kind = kPedestrian, .s = van_s + kBehindVan,
                 .d = van.d - rng.Uniform(2.5, 4.0), .lateral_speed = rng.Uniform(1.2, 1.8),
                 .half_length = 0.3, .half_width = 0.3};
    walker.target_d = van.d;
    if (violation() == "permanence" && twin_world() == 1) walker.active = 0;  // world B
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
