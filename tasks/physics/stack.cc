#include "tasks/physics/stack.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>

#include "tasks/common/vec3.h"
#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr int kMaxBlocks = 4;             // block0, block1, block2, red
constexpr double kStableDistance = 0.03;  // m; a block that moved more has fallen
constexpr double kDropGap = 0.0005;       // m; blocks start this far apart: exactly touching
                                          // faces make MuJoCo's box-box collider misfire
constexpr double kAsideClearance = 0.18;  // m; world B's tower clears the red block by this
                                          // (where the set's pixel motion balanced best)

// Param slots (drawn in Layout, read by FamilyLabels; they travel in the env state).
constexpr int kCount = 0;  // blocks in the tower (2-4)
constexpr int kStart = 1;  // (kMaxBlocks x 3) resting centre per tower level (the red block:
                           // where it lands on the tower), m

class Stack final : public PhysicsScene {
 public:
  explicit Stack(const sim::EnvSettings& settings)
      : PhysicsScene({.name = "physics/stack",
                      .asset = "physics/stack.xml",
                      .principles = {Principle::kGravity}},
                     settings),
        blocks_{ObjectIndex("block0"), ObjectIndex("block1"), ObjectIndex("block2"),
                ObjectIndex("red")} {
    Finalize();
  }

 protected:
  // The tower is blocks_[0 .. n-2] from the floor up, then the red block; the other blocks
  // rest on the floor behind the camera. Every value is drawn whatever the count.
  void Layout(sim::Rng& rng) override {
    const int count = DrawCount(rng, 2, kMaxBlocks);
    Param(kCount) = count;
    const auto half = DrawHalfSizes<kMaxBlocks>(  // (blocks x 3) m
        rng, {0.05, 0.10, 0.10, 0.13}, {0.06, 0.10, 0.10, 0.12}, {0.03, 0.06, 0.06, 0.08});
    std::array<double, kMaxBlocks> shift_x{}, shift_y{};  // offset on the block below, m
    for (int level = 1; level < kMaxBlocks; ++level) {
      shift_x[level] = Draw(rng, -0.2, 1.5, -0.2, 1.5) * half[level - 1][0];
      shift_y[level] = Draw(rng, -0.2, 0.2, -0.2, 0.2) * half[level - 1][1];
    }
    const double base_x = Draw(rng, -0.3, -0.15, -0.3, -0.15);
    const double drop = Draw(rng, 0.04, 0.12, 0.12, 0.18);  // m; the red block falls onto it
    const double zone_gap = Draw(rng, 0.0, 0.2, 0.0, 0.2);
    const double zone_half_x = Draw(rng, 0.1, 0.2, 0.1, 0.2);
    for (int b = 0; b < kMaxBlocks; ++b) {
      SetHiddenProperties(blocks_[b], Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.4, 1.0, 0.2, 0.4),
                          Draw(rng, 0.05, 0.3, 0.3, 0.4));
    }

    std::array<std::array<double, 3>, kMaxBlocks> start{};  // initial centre per level, m
    double x = base_x, y = 0.0, z = kDropGap;
    double tower_far = -1e9;  // m; largest y of the blocks under the red one
    for (int level = 0; level < count; ++level) {
      const auto& h = half[Slot(level, count)];
      x += shift_x[level];
      y += shift_y[level];
      if (level + 1 == count) z += drop;  // the red block starts above the tower and falls
      start[level] = {x, y, z + h[2]};
      z += 2.0 * h[2] + kDropGap;
      if (level + 1 < count) tower_far = std::max(tower_far, y + h[1]);
    }
    // Gravity (support) set: world B has the tower moved nearer the camera, clear of the red
    // block's fall, so it falls to the floor behind it.
    if (violation() != Principle::kNone && world() == 1) {
      const auto& red = half[kMaxBlocks - 1];
      const double aside = tower_far - (start[count - 1][1] - red[1]) + kAsideClearance;
      for (int level = 0; level + 1 < count; ++level) start[level][1] -= aside;
    }
    for (int level = 0; level < count; ++level) {  // where each block should come to rest
      for (int k = 0; k < 3; ++k) Param(kStart + 3 * level + k) = start[level][k];
    }
    Param(kStart + 3 * (count - 1) + 2) -= drop;
    for (int b = 0; b < kMaxBlocks; ++b) ParkBehindCamera(blocks_[b], half[b], -1.0 + 0.5 * b);
    for (int level = 0; level < count; ++level) {
      SetPose(blocks_[Slot(level, count)], start[level]);
    }
    const double zone_x = base_x + half[0][0] + zone_gap + zone_half_x;
    PlaceStatic("zone", {zone_x, 0, 0});
    Resize(mj_name2id(model(), mjOBJ_GEOM, "yellow_zone"), {zone_half_x, 0.15, 0.0005});
  }

  // Member 2: the red block of world B (falling to the floor) in world A, through the tower;
  // member 3: the red block of world A (landing on the tower) in world B, held up by nothing.
  TwinPlan Plan(Principle) const override {
    return {{TwinRule::Kind::kSwap, {"through-support", "held-by-nothing"}}, {RedObject()}};
  }

  // stable: no block of the tower moved more than kStableDistance; blocks: the count.
  void FamilyLabels(std::map<std::string, double>* scalars,
                    std::map<std::string, std::string>*) const override {
    const int count = static_cast<int>(Param(kCount));
    double moved = 0.0;
    for (int level = 0; level < count; ++level) {
      const auto p = Position(blocks_[Slot(level, count)]);
      const Vec3 s = {Param(kStart + 3 * level), Param(kStart + 3 * level + 1),
                      Param(kStart + 3 * level + 2)};
      moved = std::max(moved, Distance(p, s));
    }
    (*scalars)["stable"] = moved <= kStableDistance ? 1.0 : 0.0;
    (*scalars)["blocks"] = count;
  }

 private:
  // Block slot at tower level `level` of a tower of `count`: slots 0, 1, ... from the floor
  // up, then the red block (the last slot) on top.
  static int Slot(int level, int count) { return level + 1 < count ? level : kMaxBlocks - 1; }

  std::array<int, kMaxBlocks> blocks_;  // object index of each slot (block0 .. block2, red)
};

}  // namespace

std::unique_ptr<sim::Env> MakeStack(const sim::EnvSettings& settings) {
  return std::make_unique<Stack>(settings);
}

}  // namespace darkmatter::tasks::physics
