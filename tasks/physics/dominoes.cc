#include "tasks/physics/dominoes.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>

#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr int kMaxDominoes = 6;             // d0 .. d4, red
constexpr double kFallenTilt = 0.70710678;  // cos(45 deg); a domino tilted more has fallen
constexpr double kSideClearance = 0.03;     // m; world B's struck domino stands this far aside

// Param slots (drawn in Layout, read by the other hooks; they travel in the env state).
constexpr int kCount = 0;   // dominoes in the chain (3-6)
constexpr int kPusher = 1;  // chain position whose fall the solidity set swaps

class Dominoes final : public PhysicsScene {
 public:
  explicit Dominoes(const sim::EnvSettings& settings)
      : PhysicsScene({.name = "physics/dominoes",
                      .asset = "physics/dominoes.xml",
                      .principles = {Principle::kSolidity},
                      .clip_steps = 72},
                     settings),
        slots_{ObjectIndex("d0"), ObjectIndex("d1"), ObjectIndex("d2"),
               ObjectIndex("d3"), ObjectIndex("d4"), ObjectIndex("red")} {
    Finalize();
  }

 protected:
  // The chain is slots d0 .. d(n-2) along +x, then the red domino; the other dominoes stand
  // behind the camera. Every value is drawn whatever the count.
  void Layout(sim::Rng& rng) override {
    const int count = DrawCount(rng, 3, kMaxDominoes);
    Param(kCount) = count;
    const auto half = DrawHalfSizes<kMaxDominoes>(  // (dominoes x 3) m
        rng, {0.008, 0.012, 0.012, 0.015}, {0.03, 0.05, 0.05, 0.06}, {0.05, 0.08, 0.08, 0.10});
    std::array<double, kMaxDominoes> gap{};  // (dominoes) gap to the one before / its height
    for (int i = 1; i < kMaxDominoes; ++i) gap[i] = Draw(rng, 0.3, 1.1, 0.5, 1.3);
    const double push = Draw(rng, 3.0, 6.0, 6.0, 9.0);  // rad/s about +y (top towards +x)
    const double zone_gap = Draw(rng, 0.2, 1.2, 0.6, 1.6);  // / height of the red domino
    const double zone_half_x = Draw(rng, 0.06, 0.12, 0.06, 0.12);
    const double break_at = Draw(rng, 0.0, 1.0, 0.0, 1.0);  // the solidity set's pusher
    for (int i = 0; i < kMaxDominoes; ++i) {
      SetHiddenProperties(slots_[i], Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.4, 1.0, 0.15, 0.4),
                          Draw(rng, 0.05, 0.4, 0.4, 0.55));
    }

    std::array<double, kMaxDominoes> x{};  // (dominoes) centre along the chain, m
    for (int i = 1; i < count; ++i) {
      const auto &before = half[i - 1], &now = half[i];
      x[i] = x[i - 1] + before[0] + gap[i] * 2.0 * before[2] + now[0];
    }
    const auto& last = half[count - 1];
    const double zone_x = x[count - 1] + last[0] + zone_gap * 2.0 * last[2] + zone_half_x;
    const double shift = -0.5 * (zone_x + zone_half_x - half[0][0]);  // centre the scene on 0
    for (int i = 0; i < kMaxDominoes; ++i) ParkBehindCamera(slots_[i], half[i], -1.5 + 0.4 * i);
    for (int i = 0; i < count; ++i) {
      Resize(ObjectGeom(Chain(i)), half[i]);
      SetPose(Chain(i), {x[i] + shift, 0, half[i][2]});
    }
    PlaceStatic("zone", {zone_x + shift, 0, 0});
    Resize(mj_name2id(model(), mjOBJ_GEOM, "yellow_zone"), {zone_half_x, 0.1, 0.0005});
    // Tip the first domino about its front bottom edge: v = w x (centre - edge).
    SetVelocity(Chain(0), {push * half[0][2], 0, push * half[0][0]}, {0, push, 0});
    const int at = static_cast<int>(break_at * (count - 1));
    Param(kPusher) = at;
    // Solidity set: in world B the domino after the pusher stands aside (further from the
    // camera: there the pixel motion of the set balanced best, docs/physics-scenes.md), out of
    // the pusher's way, so the pusher falls flat and the chain stops there.
    if (world() == 1) {
      const double aside = half[at][1] + half[at + 1][1] + kSideClearance;
      SetPose(Chain(at + 1), {x[at + 1] + shift, aside, half[at + 1][2]});
    }
  }

  // Member 2: the pusher of world B (falling flat) in world A, through the next domino (which
  // falls as it was struck); member 3: the pusher of world A (stopped by the next domino) in
  // world B, where that domino stands aside: it stops at nothing.
  TwinPlan Plan(Principle) const override {
    return {{TwinRule::Kind::kSwap, {"pass-through", "stop-at-nothing"}},
            {Chain(static_cast<int>(Param(kPusher)))}};
  }

  // completed: the last (red) domino fell; dominoes: the count.
  void FamilyLabels(std::map<std::string, double>* scalars,
                    std::map<std::string, std::string>*) const override {
    const int count = static_cast<int>(Param(kCount));
    (*scalars)["completed"] = Upright(Chain(count - 1)) < kFallenTilt ? 1.0 : 0.0;
    (*scalars)["dominoes"] = count;
  }

 private:
  // Object index of the domino at chain position i: slots d0, d1, ... then the red one last.
  int Chain(int i) const {
    return i + 1 < static_cast<int>(Param(kCount)) ? slots_[i] : slots_[kMaxDominoes - 1];
  }

  // z component of object i's up axis (1 standing, 0 lying).
  double Upright(int i) const {
    const mjtNum* q = data()->qpos + model()->jnt_qposadr[model()->body_jntadr[ObjectBody(i)]];
    return 1.0 - 2.0 * (q[4] * q[4] + q[5] * q[5]);
  }

  std::array<int, kMaxDominoes> slots_;  // object index of d0 .. d4, red
};

}  // namespace

std::unique_ptr<sim::Env> MakeDominoes(const sim::EnvSettings& settings) {
  return std::make_unique<Dominoes>(settings);
}

}  // namespace darkmatter::tasks::physics
