#include "tasks/physics/physics_scene.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "sim/error.h"

namespace darkmatter::tasks::physics {
namespace {

constexpr double kContactTimeConstant = 0.01;  // s; soft-contact time constant of objects
constexpr double kObjectSolmix = 100.0;        // objects' solref dominates static geoms'

sim::ModelPtr CopyOf(const sim::ModelPtr& base) {
  mjModel* copy = mj_copyModel(nullptr, base.get());
  if (!copy) throw std::runtime_error("mj_copyModel failed");
  return sim::ModelPtr(copy, [](const mjModel* m) { mj_deleteModel(const_cast<mjModel*>(m)); });
}

// Calls fn(pointer, count) for every model field a scene may edit (layout, hidden
// properties, violations); these travel in the env state.
template <typename Model, typename Fn>
void ForEachMutableField(Model* m, Fn&& fn) {
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

// Damping ratio of a soft contact whose bounce keeps `restitution` of the normal speed
// (a damped oscillator's amplitude ratio over half a period).
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

PhysicsScene::PhysicsScene(const SceneSpec& spec, const sim::EnvSettings& settings)
    : MujocoEnv(spec.name, CopyOf(sim::SharedModelFile(sim::AssetPath(spec.asset))), settings,
                {.frame_skip = spec.frame_skip, .max_episode_steps = spec.clip_steps,
                 .reset_noise_scale = 0.0}),
      spec_(spec),
      base_(sim::SharedModelFile(sim::AssetPath(spec.asset))),
      scene_model_(const_cast<mjModel*>(model())),  // this env's own copy
      violation_(ParsePrinciple(settings.violation)) {
  if (settings.split != "train" && settings.split != "ood") {
    throw sim::BadInput("unknown split '" + settings.split + "' for " + spec.name +
                        " (expected train or ood)");
  }
  ood_ = settings.split == "ood";
  if (violation_ != Principle::kNone &&
      std::find(spec.principles.begin(), spec.principles.end(), violation_) ==
          spec.principles.end()) {
    std::string known;
    for (Principle p : spec.principles) known += (known.empty() ? "" : ", ") + PrincipleName(p);
    throw sim::BadInput(spec.name + " cannot break " + PrincipleName(violation_) +
                        " (its twins break: " + known + ")");
  }
  const mjModel* m = model();
  for (int j = 0; j < m->njnt; ++j) {
    if (m->jnt_type[j] != mjJNT_FREE) continue;
    const int body = m->jnt_bodyid[j];
    if (m->body_geomnum[body] < 1) throw std::logic_error(spec.asset + ": object without geom");
    objects_.push_back(body);
    object_geoms_.push_back(m->body_geomadr[body]);
  }
  red_object_ = ObjectIndex("red");
  zone_geom_ = mj_name2id(m, mjOBJ_GEOM, "yellow_zone");
  occluder_geom_ = mj_name2id(m, mjOBJ_GEOM, "occluder");
  main_camera_ = mj_name2id(m, mjOBJ_CAMERA, "main");
  if (zone_geom_ < 0 || main_camera_ < 0) {
    throw std::logic_error(spec.asset + ": needs a geom 'yellow_zone' and a camera 'main'");
  }
  restitution_.assign(objects_.size(), 0.0);
  scratch_ = mj_makeData(model());
  const int64_t n = NumObjects();
  truth_fields_ = {{"positions", {n, 3}},   {"quaternions", {n, 4}}, {"velocities", {n, 6}},
                   {"contacts", {n, n + 1}}, {"mass", {n}},          {"friction", {n}},
                   {"restitution", {n}},     {"red_touches_zone", {}}};
}

PhysicsScene::~PhysicsScene() { mj_deleteData(scratch_); }

void PhysicsScene::RefreshDerivedConstants() { mj_setConst(scene_model_, scratch_); }

int PhysicsScene::ObjectIndex(const std::string& body_name) const {
  const int body = mj_name2id(model(), mjOBJ_BODY, body_name.c_str());
  auto it = std::find(objects_.begin(), objects_.end(), body);
  if (body < 0 || it == objects_.end()) {
    throw std::logic_error(spec_.asset + ": no free body called '" + body_name + "'");
  }
  return static_cast<int>(it - objects_.begin());
}

double PhysicsScene::Draw(sim::Rng& rng, double lo, double hi, double ood_lo,
                          double ood_hi) const {
  return ood_ ? rng.Uniform(ood_lo, ood_hi) : rng.Uniform(lo, hi);
}

double PhysicsScene::Mass(int i) const { return model()->body_mass[objects_[i]]; }

double PhysicsScene::Friction(int i) const {
  return model()->geom_friction[3 * object_geoms_[i]];
}

std::array<double, 3> PhysicsScene::Position(int i) const {
  const mjtNum* q = data()->qpos + model()->jnt_qposadr[model()->body_jntadr[objects_[i]]];
  return {q[0], q[1], q[2]};
}

std::array<double, 3> PhysicsScene::Velocity(int i) const {
  const mjtNum* v = data()->qvel + model()->jnt_dofadr[model()->body_jntadr[objects_[i]]];
  return {v[0], v[1], v[2]};
}

bool PhysicsScene::InContact(int i, int j) const {
  const mjModel* m = model();
  const mjData* d = data();
  for (int c = 0; c < d->ncon; ++c) {
    const int b1 = m->geom_bodyid[d->contact[c].geom1], b2 = m->geom_bodyid[d->contact[c].geom2];
    const int other = b1 == objects_[i] ? b2 : (b2 == objects_[i] ? b1 : -2);
    if (other == -2) continue;
    const bool other_is_object =
        std::find(objects_.begin(), objects_.end(), other) != objects_.end();
    if (j < 0 ? !other_is_object : other == objects_[j]) return true;
  }
  return false;
}

void PhysicsScene::SetPose(int i, const std::array<double, 3>& pos,
                           const std::array<double, 4>& quat) {
  mjtNum* q = mutable_data()->qpos + model()->jnt_qposadr[model()->body_jntadr[objects_[i]]];
  std::copy(pos.begin(), pos.end(), q);
  std::copy(quat.begin(), quat.end(), q + 3);
}

void PhysicsScene::SetVelocity(int i, const std::array<double, 3>& linear,
                               const std::array<double, 3>& angular) {
  mjtNum* v = mutable_data()->qvel + model()->jnt_dofadr[model()->body_jntadr[objects_[i]]];
  std::copy(linear.begin(), linear.end(), v);
  std::copy(angular.begin(), angular.end(), v + 3);
}

void PhysicsScene::SetHiddenProperties(int i, double mass, double friction, double restitution) {
  mjModel* m = scene_model_;
  const int body = objects_[i];
  const double scale = mass / m->body_mass[body];
  m->body_mass[body] = mass;
  for (int k = 0; k < 3; ++k) m->body_inertia[3 * body + k] *= scale;
  std::fill(m->body_subtreemass, m->body_subtreemass + m->nbody, 0.0);
  for (int b = m->nbody - 1; b >= 0; --b) {
    m->body_subtreemass[b] += m->body_mass[b];
    if (b > 0) m->body_subtreemass[m->body_parentid[b]] += m->body_subtreemass[b];
  }
  for (int g = m->body_geomadr[body]; g < m->body_geomadr[body] + m->body_geomnum[body]; ++g) {
    m->geom_friction[3 * g] = friction;
    m->geom_solref[mjNREF * g] = kContactTimeConstant;
    m->geom_solref[mjNREF * g + 1] = DampingRatio(restitution);
    m->geom_solmix[g] = kObjectSolmix;
  }
  restitution_[i] = RestitutionOf(DampingRatio(restitution));
  if (!in_layout_) RefreshDerivedConstants();
}

void PhysicsScene::Resize(int geom, const std::array<double, 3>& size) {
  std::copy(size.begin(), size.end(), scene_model_->geom_size + 3 * geom);
  scene_model_->geom_rbound[geom] =
      BoundingRadius(scene_model_->geom_type[geom], scene_model_->geom_size + 3 * geom);
}

void PhysicsScene::Recolor(int geom, const std::array<float, 4>& rgba) {
  std::copy(rgba.begin(), rgba.end(), scene_model_->geom_rgba + 4 * geom);
}

void PhysicsScene::PlaceStatic(const std::string& body_name, const std::array<double, 3>& pos,
                               const std::array<double, 4>& quat) {
  const int body = mj_name2id(model(), mjOBJ_BODY, body_name.c_str());
  if (body < 0) throw std::logic_error(spec_.asset + ": no body called '" + body_name + "'");
  std::copy(pos.begin(), pos.end(), scene_model_->body_pos + 3 * body);
  std::copy(quat.begin(), quat.end(), scene_model_->body_quat + 4 * body);
}

bool PhysicsScene::Hidden(int i) const {
  if (occluder_geom_ < 0) return false;
  const mjModel* m = model();
  const mjData* d = data();
  // Segment camera -> object centre against the occluder box (slab test in its frame).
  const mjtNum* cam = d->cam_xpos + 3 * main_camera_;
  const mjtNum* centre = d->geom_xpos + 3 * occluder_geom_;
  const mjtNum* rot = d->geom_xmat + 9 * occluder_geom_;
  const mjtNum* half = m->geom_size + 3 * occluder_geom_;
  const std::array<double, 3> target = Position(i);
  double t_min = 0.0, t_max = 1.0;
  for (int axis = 0; axis < 3; ++axis) {
    double origin = 0.0, direction = 0.0;
    for (int k = 0; k < 3; ++k) {  // local coordinate = R^T (x - centre)
      origin += rot[3 * k + axis] * (cam[k] - centre[k]);
      direction += rot[3 * k + axis] * (target[k] - cam[k]);
    }
    if (std::abs(direction) < 1e-12) {
      if (std::abs(origin) > half[axis]) return false;
      continue;
    }
    double t1 = (-half[axis] - origin) / direction, t2 = (half[axis] - origin) / direction;
    if (t1 > t2) std::swap(t1, t2);
    t_min = std::max(t_min, t1);
    t_max = std::min(t_max, t2);
    if (t_min > t_max) return false;
  }
  return true;
}

void PhysicsScene::HoldAgainstGravity(int i) {
  const int body = objects_[i];
  mjData* d = mutable_data();
  SetVelocity(i, {0, 0, 0});
  for (int k = 0; k < 3; ++k) {
    d->xfrc_applied[6 * body + k] = -model()->body_subtreemass[body] * model()->opt.gravity[k];
  }
}

void PhysicsScene::Vanish(int i) {
  const int body = objects_[i];
  for (int g = model()->body_geomadr[body];
       g < model()->body_geomadr[body] + model()->body_geomnum[body]; ++g) {
    scene_model_->geom_rgba[4 * g + 3] = 0.0f;
    scene_model_->geom_contype[g] = 0;
    scene_model_->geom_conaffinity[g] = 0;
  }
  HoldAgainstGravity(i);
}

void PhysicsScene::Teleport(int i, const std::array<double, 3>& delta) {
  std::array<double, 3> pos = Position(i);
  for (int k = 0; k < 3; ++k) pos[k] += delta[k];
  mjtNum* q = mutable_data()->qpos + model()->jnt_qposadr[model()->body_jntadr[objects_[i]]];
  std::copy(pos.begin(), pos.end(), q);
}

void PhysicsScene::PassThrough(int i) {
  const int body = objects_[i];
  for (int g = model()->body_geomadr[body];
       g < model()->body_geomadr[body] + model()->body_geomnum[body]; ++g) {
    scene_model_->geom_contype[g] = 2;
    scene_model_->geom_conaffinity[g] = 2;
  }
}

void PhysicsScene::Hover(int i) { HoldAgainstGravity(i); }

void PhysicsScene::ResetTask(sim::Rng& rng) {
  // Restore the scene's defaults: mj_copyModel keeps the buffer layout, so each field sits at
  // the same offset in both models' buffers.
  const auto* from = static_cast<const char*>(base_->buffer);
  auto* to = static_cast<char*>(scene_model_->buffer);
  ForEachMutableField(scene_model_, [&](auto* field, int count) {
    const auto offset = reinterpret_cast<const char*>(field) - to;
    std::memcpy(field, from + offset, sizeof(*field) * count);
  });
  for (int i = 0; i < NumObjects(); ++i) {
    restitution_[i] = RestitutionOf(model()->geom_solref[mjNREF * object_geoms_[i] + 1]);
  }
  step_ = 0;
  violation_frame_ = -1;
  red_touched_zone_ = false;
  in_layout_ = true;
  Layout(rng);
  in_layout_ = false;
  RefreshDerivedConstants();
}

void PhysicsScene::BeforeStep() {
  if (violation_ != Principle::kNone && violation_frame_ < 0 && ViolationDue()) {
    Violate();
    violation_frame_ = step_ + 1;  // the first frame that can differ from the possible twin
  }
  ++step_;
}

void PhysicsScene::AfterStep() {
  if (red_touched_zone_) return;
  const mjModel* m = model();
  const mjData* d = data();
  const int red_body = objects_[red_object_];
  for (int c = 0; c < d->ncon; ++c) {
    const int g1 = d->contact[c].geom1, g2 = d->contact[c].geom2;
    if ((g1 == zone_geom_ && m->geom_bodyid[g2] == red_body) ||
        (g2 == zone_geom_ && m->geom_bodyid[g1] == red_body)) {
      red_touched_zone_ = true;
      return;
    }
  }
}

void PhysicsScene::WriteTruth(std::span<double> out) const {
  const mjModel* m = model();
  const mjData* d = data();
  const int n = NumObjects();
  double* cursor = out.data();
  for (int i = 0; i < n; ++i) {  // positions, then quaternions, from qpos
    const mjtNum* q = d->qpos + m->jnt_qposadr[m->body_jntadr[objects_[i]]];
    std::copy_n(q, 3, cursor + 3 * i);
    std::copy_n(q + 3, 4, cursor + 3 * n + 4 * i);
  }
  cursor += 7 * n;
  for (int i = 0; i < n; ++i, cursor += 6) {
    std::copy_n(d->qvel + m->jnt_dofadr[m->body_jntadr[objects_[i]]], 6, cursor);
  }
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) *cursor++ = (i != j && InContact(i, j)) ? 1.0 : 0.0;
    *cursor++ = InContact(i, -1) ? 1.0 : 0.0;
  }
  for (int i = 0; i < n; ++i) *cursor++ = Mass(i);
  for (int i = 0; i < n; ++i) *cursor++ = Friction(i);
  for (int i = 0; i < n; ++i) *cursor++ = restitution_[i];
  *cursor++ = red_touched_zone_ ? 1.0 : 0.0;
}

void PhysicsScene::EpisodeLabels(std::map<std::string, double>* scalars,
                                 std::map<std::string, std::string>* strings) const {
  (*scalars)["possible"] = violation_ == Principle::kNone ? 1.0 : 0.0;
  (*scalars)["violation_frame"] = violation_frame_;
  (*scalars)["red_touches_zone"] = red_touched_zone_ ? 1.0 : 0.0;
  (*strings)["principle"] = PrincipleName(violation_);
  (*strings)["split"] = ood_ ? "ood" : "train";
  FamilyLabels(scalars, strings);
}

int64_t PhysicsScene::MutableModelSize() const {
  int64_t size = 0;
  ForEachMutableField(model(), [&](const auto*, int count) { size += count; });
  return size;
}

int64_t PhysicsScene::TaskStateSize() const { return MutableModelSize() + NumObjects() + 3; }

void PhysicsScene::GetTaskState(std::span<double> out) const {
  double* cursor = out.data();
  ForEachMutableField(model(), [&](const auto* field, int count) {
    for (int i = 0; i < count; ++i) *cursor++ = static_cast<double>(field[i]);
  });
  cursor = std::copy(restitution_.begin(), restitution_.end(), cursor);
  *cursor++ = step_;
  *cursor++ = violation_frame_;
  *cursor++ = red_touched_zone_ ? 1.0 : 0.0;
}

void PhysicsScene::SetTaskState(std::span<const double> in) {
  const double* cursor = in.data();
  ForEachMutableField(scene_model_, [&](auto* field, int count) {
    for (int i = 0; i < count; ++i) {
      field[i] = static_cast<std::remove_reference_t<decltype(*field)>>(*cursor++);
    }
  });
  std::copy_n(cursor, restitution_.size(), restitution_.begin());
  cursor += restitution_.size();
  step_ = static_cast<int>(*cursor++);
  violation_frame_ = static_cast<int>(*cursor++);
  red_touched_zone_ = *cursor++ != 0.0;
  RefreshDerivedConstants();
}

}  // namespace darkmatter::tasks::physics
