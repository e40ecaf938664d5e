#include "tasks/physics/physics_scene.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "sim/error.h"

namespace darkmatter::tasks::physics {

PhysicsScene::PhysicsScene(const SceneSpec& spec, const sim::EnvSettings& settings)
    : EditableModelHolder(sim::SharedModelFile(sim::AssetPath(spec.asset))),
      MujocoEnv(spec.name, editable.model(), settings,
                {.frame_skip = spec.frame_skip, .max_episode_steps = spec.clip_steps,
                 .reset_noise_scale = 0.0}),
      spec_(spec),
      violation_(ParsePrinciple(settings.violation)),
      world_(settings.world) {
  if (settings.split != "train" && settings.split != "ood") {
    throw sim::BadInput("unknown split '" + settings.split + "' for " + spec.name +
                        " (expected train or ood)");
  }
  ood_ = settings.split == "ood";
  const mjModel* m = model();
  for (int j = 0; j < m->njnt; ++j) {
    if (m->jnt_type[j] != mjJNT_FREE) continue;
    const int body = m->jnt_bodyid[j];
    if (m->body_geomnum[body] < 1) throw std::logic_error(spec.asset + ": object without geom");
    objects_.push_back(body);
    object_geoms_.push_back(m->body_geomadr[body]);
  }
  object_of_body_.assign(m->nbody, -1);
  for (int i = 0; i < NumObjects(); ++i) object_of_body_[objects_[i]] = i;
  contacts_.assign(objects_.size() * (objects_.size() + 1), 0.0);
  red_object_ = ObjectIndex("red");
  zone_geom_ = mj_name2id(m, mjOBJ_GEOM, "yellow_zone");
  occluder_geom_ = mj_name2id(m, mjOBJ_GEOM, "occluder");
  main_camera_ = mj_name2id(m, mjOBJ_CAMERA, "main");
  if (zone_geom_ < 0 || main_camera_ < 0) {
    throw std::logic_error(spec.asset + ": needs a geom 'yellow_zone' and a camera 'main'");
  }
  const int64_t n = NumObjects();
  truth_fields_ = {{"positions", {n, 3}},   {"quaternions", {n, 4}}, {"velocities", {n, 6}},
                   {"contacts", {n, n + 1}}, {"mass", {n}},          {"friction", {n}},
                   {"restitution", {n}},     {"red_touches_zone", {}}, {"hidden", {n}}};
}

std::vector<std::string> PhysicsScene::Principles() const {
  std::vector<std::string> names;
  for (Principle principle : spec_.principles) names.push_back(PrincipleName(principle));
  return names;
}

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

int PhysicsScene::DrawCount(sim::Rng& rng, int lo, int hi) const {
  const double n = hi - lo + 1;
  return lo + std::min(hi - lo, static_cast<int>(Draw(rng, 0.0, n, 0.0, n)));
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
  const int n = NumObjects();
  return contacts_[i * (n + 1) + (j < 0 ? n : j)] != 0.0;
}

void PhysicsScene::RecordContacts() {
  const mjModel* m = model();
  const mjData* d = data();
  const int n = NumObjects();
  std::fill(contacts_.begin(), contacts_.end(), 0.0);
  for (int c = 0; c < d->ncon; ++c) {
    const int a = object_of_body_[m->geom_bodyid[d->contact[c].geom1]];
    const int b = object_of_body_[m->geom_bodyid[d->contact[c].geom2]];
    if (a >= 0) contacts_[a * (n + 1) + (b >= 0 ? b : n)] = 1.0;
    if (b >= 0) contacts_[b * (n + 1) + (a >= 0 ? a : n)] = 1.0;
  }
}

double& PhysicsScene::Param(int i) {
  if (i < 0 || i >= kMaxParams) {
    throw std::logic_error(spec_.name + ": parameter slot " + std::to_string(i) +
                           " out of range [0, " + std::to_string(kMaxParams) + ")");
  }
  return params_[i];
}

double PhysicsScene::Param(int i) const { return const_cast<PhysicsScene*>(this)->Param(i); }

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

void PhysicsScene::ParkBehindCamera(int i, const std::array<double, 3>& half, double x) {
  Resize(object_geoms_[i], half);
  SetPose(i, {x, -3.5, half[2]});
}

void PhysicsScene::SetHiddenProperties(int i, double mass, double friction, double restitution) {
  const int body = objects_[i];
  editable.SetBodyMass(body, mass);
  for (int g = model()->body_geomadr[body]; g < model()->body_geomadr[body] + model()->body_geomnum[body];
       ++g) {
    editable.SetFriction(g, friction);
    editable.SetRestitution(g, restitution);
  }
  if (!in_layout_) editable.RefreshDerivedConstants();
}

void PhysicsScene::Resize(int geom, const std::array<double, 3>& size) {
  editable.Resize(geom, size);
  const int body = model()->geom_bodyid[geom];
  if (std::find(objects_.begin(), objects_.end(), body) != objects_.end() &&
      model()->body_geomnum[body] == 1) {
    editable.SetPrimitiveInertia(body, geom);
    if (!in_layout_) editable.RefreshDerivedConstants();
  }
}

void PhysicsScene::Recolor(int geom, const std::array<float, 4>& rgba) {
  std::copy(rgba.begin(), rgba.end(), editable.get()->geom_rgba + 4 * geom);
}

void PhysicsScene::PlaceStatic(const std::string& body_name, const std::array<double, 3>& pos,
                               const std::array<double, 4>& quat) {
  const int body = mj_name2id(model(), mjOBJ_BODY, body_name.c_str());
  if (body < 0) throw std::logic_error(spec_.asset + ": no body called '" + body_name + "'");
  editable.PlaceBody(body, pos, quat);
}

// True when the segment from camera "main" to `target` crosses the occluder box (slab test in
// the box's frame).
bool PhysicsScene::BehindOccluder(const std::array<double, 3>& target) const {
  const mjModel* m = model();
  const mjData* d = data();
  const mjtNum* cam = d->cam_xpos + 3 * main_camera_;
  const mjtNum* centre = d->geom_xpos + 3 * occluder_geom_;
  const mjtNum* rot = d->geom_xmat + 9 * occluder_geom_;
  const mjtNum* half = m->geom_size + 3 * occluder_geom_;
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

bool PhysicsScene::Hidden(int i) const {
  const mjModel* m = model();
  const int body = objects_[i];
  bool visible_geom = false;
  for (int g = m->body_geomadr[body]; g < m->body_geomadr[body] + m->body_geomnum[body]; ++g) {
    visible_geom = visible_geom || m->geom_rgba[4 * g + 3] > 0.0f;
  }
  if (!visible_geom) return true;
  if (occluder_geom_ < 0) return false;
  // Corners of the box itself (oriented by its qpos quaternion), or of the cube around the
  // bounding sphere of any other shape.
  const int geom = object_geoms_[i];
  const bool box = m->geom_type[geom] == mjGEOM_BOX;
  const mjtNum* q = data()->qpos + m->jnt_qposadr[m->body_jntadr[body]];
  mjtNum rotation[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  if (box) mju_quat2Mat(rotation, q + 3);
  const double r = m->geom_rbound[geom];
  const mjtNum* half = m->geom_size + 3 * geom;
  for (int corner = 0; corner < 8; ++corner) {
    const double local[3] = {(corner & 1) ? 1.0 : -1.0, (corner & 2) ? 1.0 : -1.0,
                             (corner & 4) ? 1.0 : -1.0};
    std::array<double, 3> point = {q[0], q[1], q[2]};
    for (int k = 0; k < 3; ++k) {
      for (int j = 0; j < 3; ++j) point[k] += rotation[3 * k + j] * local[j] * (box ? half[j] : r);
    }
    if (!BehindOccluder(point)) return false;
  }
  return true;
}

void PhysicsScene::MakeGhost(int i) {
  const int body = objects_[i];
  for (int g = model()->body_geomadr[body];
       g < model()->body_geomadr[body] + model()->body_geomnum[body]; ++g) {
    editable.get()->geom_rgba[4 * g + 3] = 0.0f;
    editable.get()->geom_contype[g] = 2;
    editable.get()->geom_conaffinity[g] = 2;
  }
}

sim::StepResult PhysicsScene::Reset(std::optional<uint64_t> seed) {
  sim::StepResult result = MujocoEnv::Reset(seed);
  RecordContacts();
  return result;
}

void PhysicsScene::ResetTask(sim::Rng& rng) {
  editable.RestoreDefaults();
  params_.fill(0.0);
  std::fill(contacts_.begin(), contacts_.end(), 0.0);
  step_ = 0;
  red_touched_zone_ = false;
  in_layout_ = true;
  Layout(rng);
  in_layout_ = false;
  editable.RefreshDerivedConstants();
}

void PhysicsScene::BeforeStep() { ++step_; }

void PhysicsScene::AfterPhysicsStep() {  // every physics step: brief touches count too
  RecordContacts();
  RecordZoneTouch();
}

void PhysicsScene::RecordZoneTouch() {
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
  for (int i = 0; i < n; ++i) *cursor++ = Restitution(i);
  *cursor++ = red_touched_zone_ ? 1.0 : 0.0;
  for (int i = 0; i < n; ++i) *cursor++ = Hidden(i) ? 1.0 : 0.0;
}

void PhysicsScene::EpisodeLabels(std::map<std::string, double>* scalars,
                                 std::map<std::string, std::string>* strings) const {
  (*scalars)["possible"] = 1.0;  // every simulated world is; impossible clips are composed
  (*scalars)["violation_frame"] = -1;
  (*scalars)["world"] = world_;
  (*scalars)["red_touches_zone"] = red_touched_zone_ ? 1.0 : 0.0;
  (*strings)["principle"] = PrincipleName(violation_);
  (*strings)["split"] = ood_ ? "ood" : "train";
  FamilyLabels(scalars, strings);
}

// Task state: editable model, Param slots, contacts, then step and zone touch.
int64_t PhysicsScene::TaskStateSize() const {
  return editable.StateSize() + kMaxParams + static_cast<int64_t>(contacts_.size()) + 2;
}

void PhysicsScene::GetTaskState(std::span<double> out) const {
  const int64_t model_size = editable.StateSize();
  editable.Pack(out.first(model_size));
  double* cursor = out.data() + model_size;
  cursor = std::copy(params_.begin(), params_.end(), cursor);
  cursor = std::copy(contacts_.begin(), contacts_.end(), cursor);
  cursor[0] = step_;
  cursor[1] = red_touched_zone_ ? 1.0 : 0.0;
}

void PhysicsScene::SetTaskState(std::span<const double> in) {
  const int64_t model_size = editable.StateSize();
  editable.Unpack(in.first(model_size));
  const double* cursor = in.data() + model_size;
  std::copy_n(cursor, kMaxParams, params_.begin());
  cursor += kMaxParams;
  std::copy_n(cursor, contacts_.size(), contacts_.begin());
  cursor += contacts_.size();
  step_ = static_cast<int>(cursor[0]);
  red_touched_zone_ = cursor[1] != 0.0;
}

}  // namespace darkmatter::tasks::physics
