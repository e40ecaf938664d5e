#include "tasks/physics/stack.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>

#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr int kMaxBlocks = 4;             // block0, block1, block2, red
constexpr double kStableDistance = 0.03;  // m; a block that moved more has fallen
constexpr double kDropGap = 0.0005;       // m; blocks start this far apart: exactly touching
                                          // faces make MuJoCo's box-box collider misfire
constexpr double kFallingSpeed = 0.5;     // m/s downwards; slower is a bounce or a wobble

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
    count_ = 2 + std::min(2, static_cast<int>(Draw(rng, 0.0, 3.0, 0.0, 3.0)));
    std::array<std::array<double, 3>, kMaxBlocks> half;  // (blocks x 3) half sizes, m
    for (auto& h : half) {
      h = {Draw(rng, 0.05, 0.10, 0.10, 0.13), Draw(rng, 0.06, 0.10, 0.10, 0.12),
           Draw(rng, 0.03, 0.06, 0.06, 0.08)};
    }
    std::array<double, kMaxBlocks> shift_x{}, shift_y{};  // offset on the block below, m
    for (int level = 1; level < kMaxBlocks; ++level) {
      shift_x[level] = Draw(rng, -0.2, 1.5, -0.2, 1.5) * half[level - 1][0];
      shift_y[level] = Draw(rng, -0.2, 0.2, -0.2, 0.2) * half[level - 1][1];
    }
    const double base_x = Draw(rng, -0.3, -0.15, -0.3, -0.15);
    const double zone_gap = Draw(rng, 0.0, 0.2, 0.0, 0.2);
    const double zone_half_x = Draw(rng, 0.1, 0.2, 0.1, 0.2);
    for (int b = 0; b < kMaxBlocks; ++b) {
      SetHiddenProperties(blocks_[b], Draw(rng, 0.5, 2.0, 3.0, 5.0), Draw(rng, 0.4, 1.0, 0.2, 0.4),
                          Draw(rng, 0.05, 0.3, 0.3, 0.4));
    }

    std::array<int, kMaxBlocks> tower{};  // tower level -> block slot
    for (int level = 0; level + 1 < count_; ++level) tower[level] = level;
    tower[count_ - 1] = kMaxBlocks - 1;  // red on top
    double x = base_x, y = 0.0, z = kDropGap;
    for (int level = 0; level < count_; ++level) {
      const auto& h = half[tower[level]];
      x += shift_x[level];
      y += shift_y[level];
      start_[level] = {x, y, z + h[2]};
      z += 2.0 * h[2] + kDropGap;
    }
    for (int b = 0; b < kMaxBlocks; ++b) {
      Resize(ObjectGeom(blocks_[b]), half[b]);
      SetPose(blocks_[b], {-1.0 + 0.5 * b, -3.5, half[b][2]});  // parked behind the camera
    }
    for (int level = 0; level < count_; ++level) SetPose(blocks_[tower[level]], start_[level]);
    for (int level = 0; level < count_; ++level) in_tower_[level] = blocks_[tower[level]];
    const double zone_x = base_x + half[0][0] + zone_gap + zone_half_x;
    PlaceStatic("zone", {zone_x, 0, 0});
    Resize(mj_name2id(model(), mjOBJ_GEOM, "yellow_zone"), {zone_half_x, 0.15, 0.0005});
  }

  // The red block touches nothing (no block, no floor) and is falling: it lost its support.
  bool ViolationDue() const override {
    const int red = RedObject();
    if (Velocity(red)[2] > -kFallingSpeed || InContact(red, -1)) return false;
    for (int j = 0; j < NumObjects(); ++j) {
      if (j != red && InContact(red, j)) return false;
    }
    return true;
  }

  void Violate() override { Hover(RedObject()); }

  // stable: no block of the tower moved more than kStableDistance; blocks: the count.
  void FamilyLabels(std::map<std::string, double>* scalars,
                    std::map<std::string, std::string>*) const override {
    double moved = 0.0;
    for (int level = 0; level < count_; ++level) {
      const auto p = Position(in_tower_[level]);
      const auto& s = start_[level];
      moved = std::max(moved, std::hypot(p[0] - s[0], p[1] - s[1], p[2] - s[2]));
    }
    (*scalars)["stable"] = moved <= kStableDistance ? 1.0 : 0.0;
    (*scalars)["blocks"] = count_;
  }

 private:
  // Drawn at reset, like the other families' layout members (not part of the env state).
  std::array<int, kMaxBlocks> blocks_;                     // object index of each slot
  int count_ = 2;                                          // blocks in the tower
  std::array<int, kMaxBlocks> in_tower_{};                 // object index per tower level
  std::array<std::array<double, 3>, kMaxBlocks> start_{};  // initial centre per level, m
};

}  // namespace

std::unique_ptr<sim::Env> MakeStack(const sim::EnvSettings& settings) {
  return std::make_unique<Stack>(settings);
}

}  // namespace darkmatter::tasks::physics
