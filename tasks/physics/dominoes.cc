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
constexpr double kReachMargin = 0.005;      // m; the violation comes this far before contact

// Param slots (drawn in Layout, read by the other hooks; they travel in the env state).
constexpr int kCount = 0;   // dominoes in the chain (3-6)
constexpr int kPusher = 1;  // chain position that passes through the next (impossible twin)

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
    const double break_at = Draw(rng, 0.0, 1.0, 0.0, 1.0);  // where the impossible twin breaks
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
    Param(kPusher) = static_cast<int>(break_at * (count - 1));
  }

  // The pusher's front would reach the next domino's back within the coming frame.
  bool ViolationDue() const override {
    const int at = static_cast<int>(Param(kPusher));
    const int pusher = Chain(at), struck = Chain(at + 1);
    const mjtNum* w = data()->qvel + model()->jnt_dofadr[model()->body_jntadr[ObjectBody(pusher)]];
    const auto v = Velocity(pusher);
    const double speed = std::hypot(v[0], v[1], v[2]) +
                         std::hypot(w[3], w[4], w[5]) * model()->geom_rbound[ObjectGeom(pusher)];
    const double reach = speed * FrameSkip() * model()->opt.timestep + kReachMargin;
    return Extent(struck, -1.0) - Extent(pusher, +1.0) < reach;
  }

  // The struck domino no longer meets other objects: the pusher falls through it and it
  // stays up. (Making the pusher intangible instead would also drop the domino leaning on
  // it through it: two violations instead of one.)
  void Violate() override { PassThrough(Chain(static_cast<int>(Param(kPusher)) + 1)); }

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

  // Largest (sign +1) or smallest (sign -1) x of object i's box corners, m. Reads qpos
  // only (not poses derived from it, which rendering refreshes between steps).
  double Extent(int i, double sign) const {
    const mjtNum* q = data()->qpos + model()->jnt_qposadr[model()->body_jntadr[ObjectBody(i)]];
    mjtNum r[9];
    mju_quat2Mat(r, q + 3);
    const mjtNum* h = model()->geom_size + 3 * ObjectGeom(i);
    // Half extent along world x of a rotated box: sum over its axes of |R(0, k)| h_k.
    return q[0] + sign * (std::abs(r[0]) * h[0] + std::abs(r[1]) * h[1] + std::abs(r[2]) * h[2]);
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
