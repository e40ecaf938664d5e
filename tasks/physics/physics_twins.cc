// PhysicsScene's side of the matched twin sets (tasks/twin_set.h): which frames hide the
// difference between the two worlds, where swapped trajectories part, and swapped frames.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "tasks/physics/physics_scene.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr double kSameTolerance = 1e-9;  // m (and quaternion units): "the same" pose
constexpr double kPartTolerance = 1e-6;  // m: swapped trajectories have parted

// Largest absolute difference of n values at offset `at` in row t of two truth buffers.
double RowDifference(const sim::Episode& a, const sim::Episode& b, int64_t t, int64_t at,
                     int64_t n) {
  const int64_t dim = a.TruthDim();
  double worst = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    worst = std::max(worst, std::abs(a.truth[t * dim + at + k] - b.truth[t * dim + at + k]));
  }
  return worst;
}

}  // namespace

int64_t PhysicsScene::TruthOffset(const std::string& field) const {
  int64_t offset = 0;
  for (const sim::TruthField& f : truth_fields_) {
    if (f.name == field) return offset;
    int64_t size = 1;
    for (int64_t d : f.shape) size *= d;
    offset += size;
  }
  throw std::logic_error(spec_.name + ": no truth field '" + field + "'");
}

std::vector<uint8_t> PhysicsScene::UnseenDifference(const sim::Episode& a,
                                                    const sim::Episode& b) const {
  const std::vector<int> differing = Plan(violation_).objects;
  const int64_t positions = TruthOffset("positions"), quaternions = TruthOffset("quaternions"),
                hidden = TruthOffset("hidden"), dim = a.TruthDim();
  const int64_t frames = std::min(a.Length(), b.Length()) + 1;
  std::vector<uint8_t> unseen(frames, 0);
  if (a.truth.empty() || b.TruthDim() != dim) return unseen;
  for (int64_t t = 0; t < frames; ++t) {
    bool ok = true;
    for (int i = 0; i < NumObjects() && ok; ++i) {
      if (std::find(differing.begin(), differing.end(), i) != differing.end()) {
        ok = a.truth[t * dim + hidden + i] != 0.0 && b.truth[t * dim + hidden + i] != 0.0;
      } else {
        ok = RowDifference(a, b, t, positions + 3 * i, 3) <= kSameTolerance &&
             RowDifference(a, b, t, quaternions + 4 * i, 4) <= kSameTolerance;
      }
    }
    unseen[t] = ok ? 1 : 0;
  }
  return unseen;
}

int64_t PhysicsScene::SwapFrame(const sim::Episode& a, const sim::Episode& b) const {
  const std::vector<int> swapped = Plan(violation_).objects;
  const int64_t positions = TruthOffset("positions"), quaternions = TruthOffset("quaternions");
  const int64_t frames = std::min(a.Length(), b.Length()) + 1;
  if (a.truth.empty() || b.TruthDim() != a.TruthDim()) return -1;
  for (int64_t t = 0; t < frames; ++t) {
    for (int i : swapped) {
      if (RowDifference(a, b, t, positions + 3 * i, 3) > kPartTolerance ||
          RowDifference(a, b, t, quaternions + 4 * i, 4) > kPartTolerance) {
        return t;
      }
    }
  }
  return -1;
}

void PhysicsScene::ObserveSwapped(const sim::EnvState& base, std::span<const double> other,
                                  Frame* out) {
  const mjModel* m = model();
  sim::EnvState composed = base;
  for (int i : Plan(violation_).objects) {  // free joint: 7 qpos, 6 qvel, after `time`
    const int joint = m->body_jntadr[objects_[i]];
    const int qpos = 1 + m->jnt_qposadr[joint], qvel = 1 + m->nq + m->jnt_dofadr[joint];
    std::copy_n(other.begin() + qpos, 7, composed.physics.begin() + qpos);
    std::copy_n(other.begin() + qvel, 6, composed.physics.begin() + qvel);
  }
  SetState(composed);
  // Contacts (and a zone touch) of the composed poses, for truth: the physics never ran.
  mj_collision(m, mutable_data());
  RecordContacts();
  RecordZoneTouch();
  const sim::StepResult result = Observe();
  out->observation.assign(result.observation.begin(), result.observation.end());
  out->pixels.assign(result.pixels.begin(), result.pixels.end());
  int64_t truth_dim = 0;
  for (const sim::TruthField& f : truth_fields_) {
    int64_t size = 1;
    for (int64_t d : f.shape) size *= d;
    truth_dim += size;
  }
  out->truth.resize(truth_dim);
  WriteTruth(out->truth);
  sim::EnvState now;
  GetState(&now);
  out->state = std::move(now.physics);
}

}  // namespace darkmatter::tasks::physics
