#include "tasks/physics/pegs.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr double kPegHeight = 0.3;  // m; height of the peg's axis (fixed in the scene file)
constexpr double kOffset = 0.001;   // m; the hidden offset is uniform in [-kOffset, kOffset)

// MuJoCo 2.2 takes a free body's mass matrix from dof_M0 (its "simple" bodies) and scales
// constraint softness by body_invweight0/dof_invweight0, all compiled for the scene file's
// mass; PhysicsScene::SetHiddenProperties changes body_mass and body_inertia only, so a drawn
// mass would change gravity but not inertia. Apply() makes these fields match the body's
// current mass (its inertia scales with its mass there, so all dofs scale alike).
class MassSync {
 public:
  explicit MassSync(const mjModel* m)
      : mass_(m->body_mass, m->body_mass + m->nbody),
        body_invweight_(m->body_invweight0, m->body_invweight0 + 2 * m->nbody),
        dof_invweight_(m->dof_invweight0, m->dof_invweight0 + m->nv),
        dof_m0_(m->dof_M0, m->dof_M0 + m->nv) {}
  void Apply(mjModel* m, int body) const {
    const double scale = m->body_mass[body] / mass_[body];
    for (int k = 0; k < 2; ++k) {
      m->body_invweight0[2 * body + k] = body_invweight_[2 * body + k] / scale;
    }
    for (int d = m->body_dofadr[body]; d < m->body_dofadr[body] + m->body_dofnum[body]; ++d) {
      m->dof_invweight0[d] = dof_invweight_[d] / scale;
      m->dof_M0[d] = dof_m0_[d] * scale;
    }
  }

 private:
  std::vector<double> mass_;            // (nbody) compiled masses (kg)
  std::vector<double> body_invweight_;  // (nbody x 2) compiled body_invweight0
  std::vector<double> dof_invweight_;   // (nv) compiled dof_invweight0
  std::vector<double> dof_m0_;          // (nv) compiled dof_M0
};

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
        peg_(mj_name2id(model(), mjOBJ_GEOM, "peg")),
        mass_sync_(scene_model()) {
    Finalize();
  }

 protected:
  // The visible layout comes from small grids (so that different seeds share a layout and
  // differ only in the hidden offset); the offset is drawn independently of it.
  void Layout(sim::Rng& rng) override {
    const double peak_x = Pick(rng, {-0.1, 0.0, 0.1}, {-0.2, 0.2});
    const double radius = Pick(rng, {0.03, 0.035, 0.04}, {0.022, 0.026});
    const double peg_radius = Pick(rng, {0.02, 0.03}, {0.015});
    const double gap = Pick(rng, {0.04, 0.07}, {0.12, 0.15});  // m; free fall onto the apex
    const double offset = Draw(rng, -kOffset, kOffset, -kOffset, kOffset);
    hover_step_ = 2 + std::min(1, static_cast<int>(Draw(rng, 0, 2, 0, 2)));
    PlaceStatic("rig", {peak_x, 0, 0});
    PlaceStatic("zone", {peak_x + 0.199, 0, 0});
    Resize(peg_, {peg_radius, 0.12, 0});
    Resize(ObjectGeom(ball_), {radius, 0, 0});
    SetPose(ball_, {peak_x + offset, 0, kPegHeight + peg_radius + radius + gap});
    SetVelocity(ball_, {0, 0, 0});
    SetHiddenProperties(ball_, Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.3, 1.0, 0.1, 0.3),
                        Draw(rng, 0.2, 0.5, 0.02, 0.15));
    mass_sync_.Apply(scene_model(), ObjectBody(ball_));
  }

  // A few frames after release, while the ball is still falling freely towards the apex.
  bool ViolationDue() const override {
    return step() >= hover_step_ && !InContact(ball_, -1);
  }

  void Violate() override { Hover(ball_); }

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
  MassSync mass_sync_;
  int hover_step_ = 2;  // frames of free fall before the gravity twin hovers
};

}  // namespace

std::unique_ptr<sim::Env> MakePegs(const sim::EnvSettings& settings) {
  return std::make_unique<Pegs>(settings);
}

std::vector<double> PegsOutcomeDistribution() { return {0.5, 0.5}; }

}  // namespace darkmatter::tasks::physics
