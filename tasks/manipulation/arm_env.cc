#include "tasks/manipulation/arm_env.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace darkmatter::tasks::manipulation {
namespace {

constexpr const char* kRobotJointNames[ArmEnv::kRobotJoints] = {
    "yaw", "shoulder", "elbow", "wrist_pitch", "wrist_roll", "finger_l", "finger_r"};
constexpr Vec3 kHomeGrip = {-0.08, 0.0, 0.2};  // grip site at reset (m), pointing down
constexpr double kHomeOpening = 0.03;          // finger opening at reset (m)
constexpr double kDefaultResetNoise = 0.02;    // rad, uniform on each arm joint at reset
constexpr int kIkIterations = 60;
constexpr double kIkDamping = 0.02;             // DLS damping (m)
constexpr double kIkOrientationWeight = 0.3;    // m per rad of orientation error
constexpr double kIkMaxJointStep = 0.3;         // rad per iteration
constexpr double kIkTolerance = 1e-5;           // m

// Solves the symmetric positive definite system A x = b (n x n, row-major) in place by
// Cholesky decomposition; A is overwritten.
template <int N>
void SolveSpd(std::array<double, N * N>& a, std::array<double, N>& b) {
  for (int j = 0; j < N; ++j) {
    double diagonal = a[j * N + j];
    for (int k = 0; k < j; ++k) diagonal -= a[j * N + k] * a[j * N + k];
    const double l_jj = std::sqrt(std::max(diagonal, 1e-18));
    a[j * N + j] = l_jj;
    for (int i = j + 1; i < N; ++i) {
      double value = a[i * N + j];
      for (int k = 0; k < j; ++k) value -= a[i * N + k] * a[j * N + k];
      a[i * N + j] = value / l_jj;
    }
  }
  for (int i = 0; i < N; ++i) {  // L y = b
    for (int k = 0; k < i; ++k) b[i] -= a[i * N + k] * b[k];
    b[i] /= a[i * N + i];
  }
  for (int i = N - 1; i >= 0; --i) {  // L^T x = y
    for (int k = i + 1; k < N; ++k) b[i] -= a[k * N + i] * b[k];
    b[i] /= a[i * N + i];
  }
}

double WrapAngle(double angle) { return std::remainder(angle, 2.0 * M_PI); }

// Normalizes q, then nudges it by a few ulps until MuJoCo's normalization (which in 2.2.2
// always rescales, and may flip between two neighbouring values) leaves it unchanged. The
// mj_kinematics call in set_state normalizes quaternions in place; at a fixed point it
// cannot change the state, so restored states continue bit-identically.
void MakeNormalizationFixedPoint(mjtNum q[4]) {
  mju_normalize4(q);
  for (int attempt = 0; attempt < 16; ++attempt) {
    mjtNum copy[4] = {q[0], q[1], q[2], q[3]};
    mju_normalize4(copy);
    if (std::equal(copy, copy + 4, q)) return;
    int largest = 0;
    for (int k = 1; k < 4; ++k) {
      if (std::abs(q[k]) > std::abs(q[largest])) largest = k;
    }
    const double norm2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    q[largest] = std::nextafter(q[largest], norm2 > 1.0 ? 0.0 : std::copysign(2.0, q[largest]));
  }
}

}  // namespace

ArmEnv::ArmEnv(const ArmTaskSpec& spec, const sim::EnvSettings& settings)
    : EditableArmModel(sim::SharedModelFile(sim::AssetPath(spec.asset))),
      MujocoEnv(spec.name, editable.model(), settings,
                {.frame_skip = spec.frame_skip, .max_episode_steps = spec.max_episode_steps,
                 .reset_noise_scale = kDefaultResetNoise}),
      spec_(spec),
      goal_(spec.goal_size, 0.0) {
  const mjModel* m = model();
  for (int j = 0; j < kRobotJoints; ++j) {
    const int joint = mj_name2id(m, mjOBJ_JOINT, kRobotJointNames[j]);
    if (joint < 0) throw std::logic_error(spec.asset + ": no joint " + kRobotJointNames[j]);
    qpos_adr_[j] = m->jnt_qposadr[joint];
    dof_adr_[j] = m->jnt_dofadr[joint];
  }
  if (m->nu != kRobotJoints - 1) throw std::logic_error(spec.asset + ": expected 6 actuators");
  for (int i = 0; i < m->nu; ++i) {  // actuator i drives robot joint i (the action layout)
    if (m->actuator_trntype[i] != mjTRN_JOINT ||
        m->jnt_qposadr[m->actuator_trnid[2 * i]] != qpos_adr_[i]) {
      throw std::logic_error(spec.asset + ": actuator " + std::to_string(i) + " must drive " +
                             kRobotJointNames[i]);
    }
  }
  grip_site_ = mj_name2id(m, mjOBJ_SITE, "grip");
  finger_bodies_[0] = mj_name2id(m, mjOBJ_BODY, "finger_l");
  finger_bodies_[1] = mj_name2id(m, mjOBJ_BODY, "finger_r");
  marker_body_ = mj_name2id(m, mjOBJ_BODY, spec.objects.empty() ? "target" : "goal_a");
  if (grip_site_ < 0 || marker_body_ < 0 || m->body_mocapid[marker_body_] < 0) {
    throw std::logic_error(spec.asset + ": needs a site 'grip' and a mocap goal marker");
  }
  for (const std::string& name : spec.objects) {
    const int body = mj_name2id(m, mjOBJ_BODY, name.c_str());
    if (body < 0 || m->body_jntnum[body] != 1 || m->jnt_type[m->body_jntadr[body]] != mjJNT_FREE) {
      throw std::logic_error(spec.asset + ": no free body called '" + name + "'");
    }
    object_bodies_.push_back(body);
    object_geoms_.push_back(m->body_geomadr[body]);
  }
  scratch_ = mj_makeData(m);
  if (!scratch_) throw std::runtime_error(spec.name + ": mj_makeData failed");
  jacobian_.assign(6 * m->nv, 0.0);
  bias_.assign(m->nv, 0.0);
  const int base_body = mj_name2id(m, mjOBJ_BODY, "base");
  if (base_body < 0 || m->body_parentid[base_body] != 0) {
    throw std::logic_error(spec.asset + ": needs a body 'base' in the world");
  }
  base_xy_ = {m->body_pos[3 * base_body], m->body_pos[3 * base_body + 1]};
  // Home pose: the grip site above the table's middle, gripper down, no wrist roll.
  std::array<double, kArmJoints> q = {0.0, 0.3, 1.9, 0.9, 0.0};
  SolveIk(kHomeGrip, NaturalYaw(kHomeGrip), q);
  home_ = q;

  const int64_t n = NumObjects();
  truth_fields_ = {{"goal", {spec.goal_size}}, {"grip_pos", {3}}, {"robot_qpos", {kRobotJoints}}};
  if (n > 0) {
    truth_fields_.insert(truth_fields_.end(), {{"object_pos", {n, 3}},
                                               {"object_quat", {n, 4}},
                                               {"object_vel", {n, 6}},
                                               {"mass", {n}},
                                               {"friction", {n}},
                                               {"finger_contact", {n}}});
  }
  truth_fields_.push_back({"success", {}});
}

ArmEnv::~ArmEnv() { mj_deleteData(scratch_); }

// ---------------------------------------------------------------- state and observation

Vec3 ArmEnv::GripPosition() const {
  const mjtNum* p = data()->site_xpos + 3 * grip_site_;
  return {p[0], p[1], p[2]};
}

std::array<double, ArmEnv::kArmJoints> ArmEnv::ArmAngles() const {
  std::array<double, kArmJoints> q;
  for (int j = 0; j < kArmJoints; ++j) q[j] = data()->qpos[qpos_adr_[j]];
  return q;
}

void ArmEnv::SetArmAngles(const std::array<double, kArmJoints>& q) {
  for (int j = 0; j < kArmJoints; ++j) {
    mutable_data()->qpos[qpos_adr_[j]] = q[j];
    mutable_data()->qvel[dof_adr_[j]] = 0.0;
  }
}

double ArmEnv::GripperOpening() const { return data()->qpos[qpos_adr_[5]]; }

double ArmEnv::GripperSpeed() const { return std::abs(data()->qvel[dof_adr_[5]]); }

Vec3 ArmEnv::ObjectPosition(int i) const {
  const mjtNum* q = data()->qpos + model()->jnt_qposadr[model()->body_jntadr[object_bodies_[i]]];
  return {q[0], q[1], q[2]};
}

std::array<double, 4> ArmEnv::ObjectQuaternion(int i) const {
  const mjtNum* q = data()->qpos + model()->jnt_qposadr[model()->body_jntadr[object_bodies_[i]]];
  return {q[3], q[4], q[5], q[6]};
}

double ArmEnv::ObjectYaw(int i) const {
  const auto q = ObjectQuaternion(i);
  return std::atan2(2.0 * (q[0] * q[3] + q[1] * q[2]), 1.0 - 2.0 * (q[2] * q[2] + q[3] * q[3]));
}

double ArmEnv::Mass(int i) const { return model()->body_mass[object_bodies_[i]]; }

double ArmEnv::Friction(int i) const { return model()->geom_friction[3 * object_geoms_[i]]; }

bool ArmEnv::FingerTouches(int i) const {
  const mjModel* m = model();
  const mjData* d = data();
  const int object = object_bodies_[i];
  for (int c = 0; c < d->ncon; ++c) {
    const int b1 = m->geom_bodyid[d->contact[c].geom1], b2 = m->geom_bodyid[d->contact[c].geom2];
    const int other = b1 == object ? b2 : (b2 == object ? b1 : -1);
    if (other >= 0 && (other == finger_bodies_[0] || other == finger_bodies_[1])) return true;
  }
  return false;
}

int64_t ArmEnv::ObservationSize() const {
  return 2 * kRobotJoints + 3 + 13 * NumObjects() + GoalSize();
}

void ArmEnv::WriteObservation(std::span<double> out) const {
  const mjModel* m = model();
  const mjData* d = data();
  double* cursor = out.data();
  for (int j = 0; j < kRobotJoints; ++j) *cursor++ = d->qpos[qpos_adr_[j]];
  for (int j = 0; j < kRobotJoints; ++j) *cursor++ = d->qvel[dof_adr_[j]];
  cursor = std::copy_n(d->site_xpos + 3 * grip_site_, 3, cursor);
  for (int body : object_bodies_) {
    const int joint = m->body_jntadr[body];
    cursor = std::copy_n(d->qpos + m->jnt_qposadr[joint], 7, cursor);
    cursor = std::copy_n(d->qvel + m->jnt_dofadr[joint], 6, cursor);
  }
  std::copy(goal_.begin(), goal_.end(), cursor);
}

void ArmEnv::WriteTaskInfo(std::span<double> out) {
  out[0] = Success() ? 1.0 : 0.0;
}

void ArmEnv::WriteTruth(std::span<double> out) const {
  const mjModel* m = model();
  const mjData* d = data();
  double* cursor = std::copy(goal_.begin(), goal_.end(), out.data());
  cursor = std::copy_n(d->site_xpos + 3 * grip_site_, 3, cursor);
  for (int j = 0; j < kRobotJoints; ++j) *cursor++ = d->qpos[qpos_adr_[j]];
  const int n = NumObjects();
  if (n > 0) {
    for (int i = 0; i < n; ++i) {
      cursor = std::copy_n(d->qpos + m->jnt_qposadr[m->body_jntadr[object_bodies_[i]]], 3, cursor);
    }
    for (int i = 0; i < n; ++i) {
      cursor =
          std::copy_n(d->qpos + m->jnt_qposadr[m->body_jntadr[object_bodies_[i]]] + 3, 4, cursor);
    }
    for (int i = 0; i < n; ++i) {
      cursor = std::copy_n(d->qvel + m->jnt_dofadr[m->body_jntadr[object_bodies_[i]]], 6, cursor);
    }
    for (int i = 0; i < n; ++i) *cursor++ = Mass(i);
    for (int i = 0; i < n; ++i) *cursor++ = Friction(i);
    for (int i = 0; i < n; ++i) *cursor++ = FingerTouches(i) ? 1.0 : 0.0;
  }
  *cursor++ = Success() ? 1.0 : 0.0;
}

int64_t ArmEnv::TaskStateSize() const { return editable.StateSize() + 5 + GoalSize(); }

void ArmEnv::GetTaskState(std::span<double> out) const {
  const int64_t model_size = editable.StateSize();
  editable.Pack(out.first(model_size));
  out[model_size] = phase_;
  out[model_size + 1] = phase_steps_;
  std::copy(anchor_.begin(), anchor_.end(), out.begin() + model_size + 2);
  std::copy(goal_.begin(), goal_.end(), out.begin() + model_size + 5);
}

void ArmEnv::SetTaskState(std::span<const double> in) {
  const int64_t model_size = editable.StateSize();
  editable.Unpack(in.first(model_size));
  phase_ = static_cast<int>(in[model_size]);
  phase_steps_ = static_cast<int>(in[model_size + 1]);
  std::copy_n(in.begin() + model_size + 2, 3, anchor_.begin());
  std::copy_n(in.begin() + model_size + 5, GoalSize(), goal_.begin());
}

// ---------------------------------------------------------------- episodes

void ArmEnv::ResetTask(sim::Rng& rng) {
  editable.RestoreDefaults();
  mjData* d = mutable_data();
  const mjModel* m = model();
  const double noise = reset_noise_scale();
  for (int j = 0; j < kArmJoints; ++j) {
    const int joint = m->dof_jntid[dof_adr_[j]];
    d->qpos[qpos_adr_[j]] = std::clamp(home_[j] + rng.Uniform(-noise, noise),
                                       m->jnt_range[2 * joint], m->jnt_range[2 * joint + 1]);
  }
  d->qpos[qpos_adr_[5]] = d->qpos[qpos_adr_[6]] = kHomeOpening;
  // The servos start holding the initial pose (gravity feed-forward included).
  std::array<double, kArmJoints> q, torques;
  for (int j = 0; j < kArmJoints; ++j) q[j] = d->qpos[qpos_adr_[j]];
  GravityTorques(q, torques);
  for (int j = 0; j < kArmJoints; ++j) {
    d->ctrl[j] = std::clamp(q[j] + torques[j] / m->actuator_gainprm[mjNGAIN * j],
                            m->actuator_ctrlrange[2 * j], m->actuator_ctrlrange[2 * j + 1]);
  }
  d->ctrl[kGripperActuator] = kHomeOpening;
  phase_ = 0;
  phase_steps_ = 0;
  anchor_ = {0.0, 0.0, 0.0};
  SampleEpisode(rng);
  if (NumObjects() > 0) editable.RefreshDerivedConstants();
}

void ArmEnv::AfterStep() {
  const mjModel* m = model();
  mjData* d = mutable_data();
  for (int body : object_bodies_) {
    MakeNormalizationFixedPoint(d->qpos + m->jnt_qposadr[m->body_jntadr[body]] + 3);
  }
  // Poses of the state just reached (mj_step leaves those of the last substep's start), so
  // that observations, rewards and success agree with qpos. Physics is unaffected.
  mj_kinematics(m, d);
}

void ArmEnv::SetGoal(std::span<const double> goal, const std::array<double, 4>& marker_quat) {
  std::copy(goal.begin(), goal.end(), goal_.begin());
  const int mocap = model()->body_mocapid[marker_body_];
  std::copy_n(goal.begin(), 3, mutable_data()->mocap_pos + 3 * mocap);
  mjtNum* quat = mutable_data()->mocap_quat + 4 * mocap;
  std::copy(marker_quat.begin(), marker_quat.end(), quat);
  MakeNormalizationFixedPoint(quat);
}

void ArmEnv::PlaceObject(int i, const Vec3& pos, const std::array<double, 4>& quat) {
  const mjModel* m = model();
  const int joint = m->body_jntadr[object_bodies_[i]];
  mjData* d = mutable_data();
  std::copy(pos.begin(), pos.end(), d->qpos + m->jnt_qposadr[joint]);
  std::copy(quat.begin(), quat.end(), d->qpos + m->jnt_qposadr[joint] + 3);
  MakeNormalizationFixedPoint(d->qpos + m->jnt_qposadr[joint] + 3);
  std::fill_n(d->qvel + m->jnt_dofadr[joint], 6, 0.0);
}

void ArmEnv::SetHiddenProperties(int i, double mass, double friction) {
  editable.SetBodyMass(object_bodies_[i], mass);
  editable.SetFriction(object_geoms_[i], friction);
}

void ArmEnv::InterveneHiddenProperties(int i, double mass, double friction) {
  SetHiddenProperties(i, mass, friction);
  editable.RefreshDerivedConstants();
}

// ---------------------------------------------------------------- goal image

void ArmEnv::GoalPose(int i, Vec3* pos, std::array<double, 4>* quat) const {
  const int mocap = model()->body_mocapid[marker_body_];
  std::copy_n(goal_.begin() + 3 * i, 3, pos->begin());
  std::copy_n(data()->mocap_quat + 4 * mocap, 4, quat->begin());
}

void ArmEnv::PoseAtGoal() {
  for (int i = 0; i < NumObjects(); ++i) {
    Vec3 pos;
    std::array<double, 4> quat;
    GoalPose(i, &pos, &quat);
    PlaceObject(i, pos, quat);
  }
}

void ArmEnv::RenderGoal(const sim::CameraSpec& camera, int width, int height,
                        sim::RenderOutput* out) {
  sim::EnvState saved;
  GetState(&saved);
  PoseAtGoal();
  Render(camera, width, height, out);
  SetState(saved);
}

// ---------------------------------------------------------------- kinematics and expert

double ArmEnv::NaturalYaw(const Vec3& pos) const {
  // With no wrist roll the grip's x axis points from the target back towards the base.
  return WrapAngle(std::atan2(pos[1] - base_xy_[1], pos[0] - base_xy_[0]) + M_PI);
}

double ArmEnv::NearestYaw(const Vec3& pos, double base, double period) const {
  const double natural = NaturalYaw(pos);
  const double k = std::round(WrapAngle(natural - base) / period);
  return WrapAngle(base + k * period);
}

double ArmEnv::SolveIk(const Vec3& pos, double yaw, std::span<double> q) {
  const mjModel* m = model();
  mjData* d = scratch_;
  const Vec3 x_axis = {std::cos(yaw), std::sin(yaw), 0.0};
  const Vec3 y_axis = {std::sin(yaw), -std::cos(yaw), 0.0};
  const Vec3 z_axis = {0.0, 0.0, -1.0};
  const Vec3* desired[3] = {&x_axis, &y_axis, &z_axis};
  mjtNum* jacp = jacobian_.data();
  mjtNum* jacr = jacobian_.data() + 3 * m->nv;
  double position_error = 1e9;
  for (int iteration = 0; iteration < kIkIterations; ++iteration) {
    for (int j = 0; j < kArmJoints; ++j) d->qpos[qpos_adr_[j]] = q[j];
    mj_kinematics(m, d);
    mj_comPos(m, d);
    const mjtNum* p = d->site_xpos + 3 * grip_site_;
    const mjtNum* r = d->site_xmat + 9 * grip_site_;  // row-major; column k = axis k
    std::array<double, 6> error{};
    for (int k = 0; k < 3; ++k) error[k] = pos[k] - p[k];
    position_error = std::sqrt(error[0] * error[0] + error[1] * error[1] + error[2] * error[2]);
    for (int axis = 0; axis < 3; ++axis) {  // 0.5 * sum_k axis_k x desired_k
      const Vec3 a = {r[axis], r[3 + axis], r[6 + axis]};
      const Vec3& b = *desired[axis];
      error[3] += 0.5 * kIkOrientationWeight * (a[1] * b[2] - a[2] * b[1]);
      error[4] += 0.5 * kIkOrientationWeight * (a[2] * b[0] - a[0] * b[2]);
      error[5] += 0.5 * kIkOrientationWeight * (a[0] * b[1] - a[1] * b[0]);
    }
    double orientation_error = std::hypot(error[3], error[4], error[5]);
    if (position_error < kIkTolerance && orientation_error < kIkTolerance) break;
    mj_jacSite(m, d, jacp, jacr, grip_site_);
    std::array<double, 6 * kArmJoints> jac;  // (6 x kArmJoints)
    for (int row = 0; row < 3; ++row) {
      for (int j = 0; j < kArmJoints; ++j) {
        jac[row * kArmJoints + j] = jacp[row * m->nv + dof_adr_[j]];
        jac[(row + 3) * kArmJoints + j] = kIkOrientationWeight * jacr[row * m->nv + dof_adr_[j]];
      }
    }
    std::array<double, 36> jjt{};  // J J^T + lambda^2 I
    for (int a = 0; a < 6; ++a) {
      for (int b = 0; b < 6; ++b) {
        double sum = a == b ? kIkDamping * kIkDamping : 0.0;
        for (int j = 0; j < kArmJoints; ++j) sum += jac[a * kArmJoints + j] * jac[b * kArmJoints + j];
        jjt[a * 6 + b] = sum;
      }
    }
    SolveSpd<6>(jjt, error);
    for (int j = 0; j < kArmJoints; ++j) {
      double step = 0.0;
      for (int a = 0; a < 6; ++a) step += jac[a * kArmJoints + j] * error[a];
      const int joint = m->dof_jntid[dof_adr_[j]];
      q[j] = std::clamp(q[j] + std::clamp(step, -kIkMaxJointStep, kIkMaxJointStep),
                        m->jnt_range[2 * joint], m->jnt_range[2 * joint + 1]);
    }
  }
  return position_error;
}

void ArmEnv::GravityTorques(std::span<const double> q, std::span<double> torques) {
  const mjModel* m = model();
  mjData* d = scratch_;
  for (int j = 0; j < kArmJoints; ++j) d->qpos[qpos_adr_[j]] = q[j];
  mju_zero(d->qvel, m->nv);
  mj_kinematics(m, d);
  mj_comPos(m, d);
  mj_comVel(m, d);
  mj_rne(m, d, 0, bias_.data());
  for (int j = 0; j < kArmJoints; ++j) torques[j] = bias_[dof_adr_[j]];
}

void ArmEnv::ExpertAction(std::span<double> action) {
  const mjModel* m = model();
  const ExpertCommand command = ExpertPlan();
  ++phase_steps_;
  const Vec3 grip = GripPosition();
  Vec3 delta;
  for (int k = 0; k < 3; ++k) delta[k] = command.waypoint[k] - grip[k];
  const double length = std::hypot(delta[0], delta[1], delta[2]);
  const double scale = length > command.max_step ? command.max_step / length : 1.0;
  Vec3 target;
  for (int k = 0; k < 3; ++k) target[k] = grip[k] + scale * delta[k];
  std::array<double, kArmJoints> q, torques;
  for (int j = 0; j < kArmJoints; ++j) q[j] = data()->qpos[qpos_adr_[j]];
  SolveIk(target, command.yaw, q);
  GravityTorques(q, torques);
  for (int j = 0; j < kArmJoints; ++j) {
    action[j] = std::clamp(q[j] + torques[j] / m->actuator_gainprm[mjNGAIN * j],
                           m->actuator_ctrlrange[2 * j], m->actuator_ctrlrange[2 * j + 1]);
  }
  action[kGripperActuator] = std::clamp(command.gripper, 0.0, kMaxGripperOpening);
}

}  // namespace darkmatter::tasks::manipulation
