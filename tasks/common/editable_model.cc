#include "tasks/common/editable_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace darkmatter::tasks {
namespace {

constexpr double kContactTimeConstant = 0.01;  // s; soft-contact time constant of objects
constexpr double kObjectSolmix = 100.0;        // an object's solref dominates static geoms'

// Calls fn(pointer, count) for every editable model field.
template <typename Model, typename Fn>
void ForEachEditableField(Model* m, Fn&& fn) {
  fn(m->body_pos, 3 * m->nbody);
  fn(m->body_quat, 4 * m->nbody);
  fn(m->body_mass, m->nbody);
  fn(m->body_subtreemass, m->nbody);
  fn(m->body_inertia, 3 * m->nbody);
  fn(m->geom_size, 3 * m->ngeom);
  fn(m->geom_rbound, m->ngeom);
  fn(m->geom_friction, 3 * m->ngeom);
  fn(m->geom_solref, mjNREF * m->ngeom);
  fn(m->geom_solmix, m->ngeom);
  fn(m->geom_rgba, 4 * m->ngeom);
  fn(m->geom_contype, m->ngeom);
  fn(m->geom_conaffinity, m->ngeom);
}

// Damping ratio of a soft contact that keeps `restitution` of the normal speed (a damped
// oscillator's amplitude ratio over half a period), and its inverse.
double DampingRatio(double restitution) {
  const double log_e = std::log(std::clamp(restitution, 1e-3, 0.99));
  return -log_e / std::sqrt(M_PI * M_PI + log_e * log_e);
}

double RestitutionOf(double damping_ratio) {
  if (damping_ratio >= 1.0) return 0.0;
  return std::exp(-M_PI * damping_ratio / std::sqrt(1.0 - damping_ratio * damping_ratio));
}

double BoundingRadius(int type, const mjtNum* size) {
  switch (type) {
    case mjGEOM_SPHERE: return size[0];
    case mjGEOM_CAPSULE: return size[0] + size[1];
    case mjGEOM_CYLINDER: return std::hypot(size[0], size[1]);
    case mjGEOM_ELLIPSOID: return std::max({size[0], size[1], size[2]});
    case mjGEOM_BOX: return std::sqrt(size[0] * size[0] + size[1] * size[1] + size[2] * size[2]);
    default: return size[0];
  }
}

}  // namespace

EditableModel::EditableModel(sim::ModelPtr base) : base_(std::move(base)) {
  mutable_ = mj_copyModel(nullptr, base_.get());
  if (!mutable_) throw std::runtime_error("mj_copyModel failed");
  copy_ = sim::ModelPtr(mutable_, [](const mjModel* m) { mj_deleteModel(const_cast<mjModel*>(m)); });
  scratch_ = mj_makeData(mutable_);
}

EditableModel::~EditableModel() { mj_deleteData(scratch_); }

void EditableModel::RestoreDefaults() {
  // mj_copyModel keeps the buffer layout: each field sits at the same offset in both buffers.
  const auto* from = static_cast<const char*>(base_->buffer);
  auto* to = static_cast<char*>(mutable_->buffer);
  ForEachEditableField(mutable_, [&](auto* field, int count) {
    const auto offset = reinterpret_cast<const char*>(field) - to;
    std::memcpy(field, from + offset, sizeof(*field) * count);
  });
}

void EditableModel::RefreshDerivedConstants() { mj_setConst(mutable_, scratch_); }

int64_t EditableModel::StateSize() const {
  int64_t size = 0;
  ForEachEditableField(mutable_, [&](const auto*, int count) { size += count; });
  return size;
}

void EditableModel::Pack(std::span<double> out) const {
  double* cursor = out.data();
  ForEachEditableField(static_cast<const mjModel*>(mutable_), [&](const auto* field, int count) {
    for (int i = 0; i < count; ++i) *cursor++ = static_cast<double>(field[i]);
  });
}

void EditableModel::Unpack(std::span<const double> in) {
  const double* cursor = in.data();
  ForEachEditableField(mutable_, [&](auto* field, int count) {
    for (int i = 0; i < count; ++i) {
      field[i] = static_cast<std::remove_reference_t<decltype(*field)>>(*cursor++);
    }
  });
  RefreshDerivedConstants();
}

void EditableModel::SetBodyMass(int body, double mass) {
  mjModel* m = mutable_;
  const double scale = mass / m->body_mass[body];
  m->body_mass[body] = mass;
  for (int k = 0; k < 3; ++k) m->body_inertia[3 * body + k] *= scale;
}

void EditableModel::Resize(int geom, const std::array<double, 3>& size) {
  std::copy(size.begin(), size.end(), mutable_->geom_size + 3 * geom);
  mutable_->geom_rbound[geom] =
      BoundingRadius(mutable_->geom_type[geom], mutable_->geom_size + 3 * geom);
}

void EditableModel::SetPrimitiveInertia(int body, int geom) {
  const double m = mutable_->body_mass[body];
  const mjtNum* s = mutable_->geom_size + 3 * geom;
  double* inertia = mutable_->body_inertia + 3 * body;
  switch (mutable_->geom_type[geom]) {
    case mjGEOM_SPHERE:
      inertia[0] = inertia[1] = inertia[2] = 0.4 * m * s[0] * s[0];
      break;
    case mjGEOM_BOX:  // half sizes
      inertia[0] = m * (s[1] * s[1] + s[2] * s[2]) / 3.0;
      inertia[1] = m * (s[0] * s[0] + s[2] * s[2]) / 3.0;
      inertia[2] = m * (s[0] * s[0] + s[1] * s[1]) / 3.0;
      break;
    case mjGEOM_CYLINDER:
    case mjGEOM_CAPSULE: {  // radius, half length along z
      const double length = 2.0 * s[1];
      inertia[0] = inertia[1] = m * (3.0 * s[0] * s[0] + length * length) / 12.0;
      inertia[2] = 0.5 * m * s[0] * s[0];
      break;
    }
    case mjGEOM_ELLIPSOID:
      inertia[0] = 0.2 * m * (s[1] * s[1] + s[2] * s[2]);
      inertia[1] = 0.2 * m * (s[0] * s[0] + s[2] * s[2]);
      inertia[2] = 0.2 * m * (s[0] * s[0] + s[1] * s[1]);
      break;
    default:
      break;
  }
}

void EditableModel::SetFriction(int geom, double friction) {
  mutable_->geom_friction[3 * geom] = friction;
}

void EditableModel::SetRestitution(int geom, double restitution) {
  // Underdamped contacts with a short time constant are too stiff for the time step and
  // give back more than they took; lengthen the time constant as damping falls.
  const double damping = DampingRatio(restitution);
  mutable_->geom_solref[mjNREF * geom] = std::max(kContactTimeConstant, 0.004 / damping);
  mutable_->geom_solref[mjNREF * geom + 1] = damping;
  mutable_->geom_solmix[geom] = kObjectSolmix;
}

double EditableModel::Restitution(int geom) const {
  return RestitutionOf(mutable_->geom_solref[mjNREF * geom + 1]);
}

void EditableModel::PlaceBody(int body, const std::array<double, 3>& pos,
                              const std::array<double, 4>& quat) {
  std::copy(pos.begin(), pos.end(), mutable_->body_pos + 3 * body);
  std::copy(quat.begin(), quat.end(), mutable_->body_quat + 4 * body);
}

}  // namespace darkmatter::tasks
