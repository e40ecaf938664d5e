#include "tasks/physics/pegs.h"

#include <algorithm>
#include <cmath>

#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr double kPegHeight = 0.3;  // m; height of the peg's axis (fixed in the scene file)
constexpr double kOffset = 0.001;   // m; the hidden offset is uniform in [-kOffset, kOffset)
constexpr double kAsideClearance = 0.02;  // m; world B's peg clears the falling ball by this
constexpr double kPegHalfLength = 0.12;   // m; along y (the scene file's)

class Pegs final : public PhysicsScene {
 public:
  explicit Pegs(const sim::EnvSettings& settings)
      : PhysicsScene({.name = "physics/pegs",
                      .asset = "physics/pegs.xml",
                      .principles = {Principle::kGravity},
                      .clip_steps = 64},  // time to leave the apex, fall and settle
                     settings),
        ball_(ObjectIndex("red")),
        rig_(mj_name2id(model(), mjOBJ_BODY, "rig")),
        peg_(mj_name2id(model(), mjOBJ_GEOM, "peg")) {
    Finalize();
  }

 protected:
  // The visible layout comes from small grids (so that different seeds share a layout and
  // differ only in the hidden offset); the offset is drawn independently of it.
  void Layout(sim::Rng& rng) override {
    const double peak_x = Pick(rng, {-0.1, 0.0, 0.1}, {-0.2, 0.2});
    const double radius = Pick(rng, {0.03, 0.035, 0.04}, {0.022, 0.026});
    const double peg_radius = Pick(rng, {0.02, 0.03}, {0.015});
    const double gap = Pick(rng, {0.07, 0.1}, {0.14, 0.18});  // m; free fall onto the apex
    const double offset = Draw(rng, -kOffset, kOffset, -kOffset, kOffset);
    PlaceStatic("rig", {peak_x, 0, 0});
    PlaceStatic("zone", {peak_x + 0.199, 0, 0});
    Resize(peg_, {peg_radius, 0.12, 0});
    Resize(ObjectGeom(ball_), {radius, 0, 0});
    SetPose(ball_, {peak_x + offset, 0, kPegHeight + peg_radius + radius + gap});
    SetVelocity(ball_, {0, 0, 0});
    SetHiddenProperties(ball_, Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.3, 1.0, 0.1, 0.3),
                        Draw(rng, 0.15, 0.45, 0.02, 0.1));
    // The inertia of the drawn radius (Resize keeps the scene file's): it sets how the ball
    // rolls off the peg.
    std::fill_n(scene_model()->body_inertia + 3 * ObjectBody(ball_), 3,
                0.4 * Mass(ball_) * radius * radius);
    // Gravity (support) set: world B has the rig (peg, post, walls) moved nearer the camera,
    // so the ball falls past behind the peg to the floor.
    if (violation() != Principle::kNone && world() == 1) {
      PlaceStatic("rig", {peak_x, -(kPegHalfLength + radius + kAsideClearance), 0});
    }
  }

  // Member 2: the ball of world B (falling past) in world A, through the peg; member 3: the
  // ball of world A (meeting the peg) in world B, held up by nothing.
  TwinPlan Plan(Principle) const override {
    return {{TwinRule::Kind::kSwap, {"through-support", "held-by-nothing"}}, {ball_}};
  }

  void FamilyLabels(std::map<std::string, double>* scalars,
                    std::map<std::string, std::string>*) const override {
    (*scalars)["outcome"] = Position(ball_)[0] > model()->body_pos[3 * rig_] ? 1.0 : 0.0;
  }

 private:
  // One value of `train` (or of `ood` on the out-of-distribution split), uniformly.
  double Pick(sim::Rng& rng, std::initializer_list<double> train,
              std::initializer_list<double> ood) const {
    const std::initializer_list<double>& values = this->ood() ? ood : train;
    const double u = Draw(rng, 0, 1, 0, 1);
    const size_t k = std::min(values.size() - 1, static_cast<size_t>(u * values.size()));
    return values.begin()[k];
  }

  int ball_, rig_, peg_;
};

}  // namespace

std::unique_ptr<sim::Env> MakePegs(const sim::EnvSettings& settings) {
  return std::make_unique<Pegs>(settings);
}

std::vector<double> PegsOutcomeDistribution() { return {0.5, 0.5}; }

}  // namespace darkmatter::tasks::physics
