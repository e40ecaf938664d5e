// ArmEnv: the shared base of the manipulation/* tasks: a 5-DoF arm with a parallel gripper
// on a tabletop (assets/manipulation/arm.xml), zero or more box objects, and a goal.
//
// Action (6, joint targets of position servos, bounds = joint ranges, see docs/manipulation.md):
//   yaw, shoulder, elbow, wrist_pitch, wrist_roll (rad), gripper opening per finger (m).
// Observation: robot qpos (7: five arm joints, two fingers), robot qvel (7), grip site
//   position (3, m), then per object position (3), quaternion (4), linear and angular
//   velocity (6), then the goal state (GoalSize(), see each task).
// Info: "success" (sparse: GoalDistance() within the task's Tolerance()).
// The episode terminates on success. Hidden object properties (mass, friction) are drawn
// from the seed into this env's own model copy and travel in the env state.
#pragma once

#include <array>
#include <span>
#include <string>
#include <vector>

#include "sim/mujoco_env.h"
#include "tasks/common/editable_model.h"
#include "tasks/common/vec3.h"

namespace darkmatter::tasks::manipulation {

// Holds the env's editable model so that it exists before MujocoEnv is constructed with it.
struct EditableArmModel {
  explicit EditableArmModel(sim::ModelPtr base) : editable(std::move(base)) {}
  EditableModel editable;
};

// What a task declares.
struct ArmTaskSpec {
  std::string name;                  // "manipulation/<task>"
  std::string asset;                 // scene file under assets/
  std::vector<std::string> objects;  // free bodies (boxes), in observation order
  int goal_size = 3;                 // doubles in the goal state
  int max_episode_steps = 200;       // control steps per episode
  int frame_skip = 10;               // physics steps (2 ms) per control step
};

// The scripted expert's command for one control step: where the grip site should go.
struct ExpertCommand {
  Vec3 waypoint{};         // target of the grip site (m, world)
  double yaw = 0.0;        // heading of the grip site's x axis (rad, world), gripper down
  double gripper = 0.0;    // finger opening target (m per finger)
  double max_step = 0.02;  // largest grip displacement commanded per control step (m)
};

class ArmEnv : private EditableArmModel, public sim::MujocoEnv {
 public:
  static constexpr int kArmJoints = 5;     // yaw, shoulder, elbow, wrist_pitch, wrist_roll
  static constexpr int kRobotJoints = 7;   // the arm joints, then finger_l, finger_r
  static constexpr int kGripperActuator = 5;
  static constexpr double kBlockHalf = 0.02;        // half edge of every block (m)
  static constexpr double kMaxGripperOpening = 0.045;  // per finger (m)

  ~ArmEnv() override;

  const std::vector<sim::TruthField>& TruthFields() const override { return truth_fields_; }
  void WriteTruth(std::span<double> out) const override;
  bool HasExpert() const override { return true; }
  // Writes the expert's joint targets: the task's command, rate-limited, through inverse
  // kinematics, plus a gravity feed-forward; advances the expert's phase (part of the state).
  void ExpertAction(std::span<double> action) override;

  // Renders the scene as it looks when the goal is achieved (objects at their goal poses;
  // for reach, the arm posed by inverse kinematics), leaving the env state unchanged.
  void RenderGoal(const sim::CameraSpec& camera, int width, int height, sim::RenderOutput* out);

  // The goal state (GoalSize() doubles), as appended to the observation.
  std::span<const double> Goal() const { return goal_; }
  int GoalSize() const { return static_cast<int>(goal_.size()); }
  // True when the goal is achieved within the task's tolerance (the info "success").
  virtual bool Success() const = 0;
  // The distance the task's tolerance applies to (m).
  virtual double GoalDistance() const = 0;
  // The success tolerance on GoalDistance() (m).
  virtual double Tolerance() const = 0;

  // Position of the grip site (m, world).
  Vec3 GripPosition() const;
  // Current arm joint angles (rad): yaw, shoulder, elbow, wrist_pitch, wrist_roll.
  std::array<double, kArmJoints> ArmAngles() const;
  // Opening of the gripper per finger (m).
  double GripperOpening() const;
  // Speed of the left finger (m/s; from the observed robot qvel).
  double GripperSpeed() const;
  // Objects: count, position (m), quaternion, body id, hidden mass (kg) and friction.
  int NumObjects() const { return static_cast<int>(object_bodies_.size()); }
  Vec3 ObjectPosition(int i) const;
  std::array<double, 4> ObjectQuaternion(int i) const;
  // Heading (rad) of object i's x axis about the vertical.
  double ObjectYaw(int i) const;
  int ObjectBody(int i) const { return object_bodies_[i]; }
  // Intervention for experiments: sets object i's hidden mass (kg) and friction mid-episode
  // (the solver's derived constants follow; the change travels in the env state).
  void InterveneHiddenProperties(int i, double mass, double friction);
  double Mass(int i) const;
  double Friction(int i) const;
  // True when a finger touched object i in the last physics step (from MuJoCo's contacts,
  // which set_state does not recompute: valid after reset and step).
  bool FingerTouches(int i) const;
  // Expert state-machine phase (task-specific meaning), steps spent in it, and a point the
  // expert remembers (e.g. where it grasped); all part of the env state. The setters are for
  // ExpertPlan and its helpers.
  int Phase() const { return phase_; }
  int PhaseSteps() const { return phase_steps_; }
  const Vec3& Anchor() const { return anchor_; }
  void SetPhase(int phase) {
    if (phase != phase_) phase_steps_ = 0;
    phase_ = phase;
  }
  void SetAnchor(const Vec3& anchor) { anchor_ = anchor; }

  // Damped-least-squares inverse kinematics: arm joint angles (kArmJoints) that put the grip
  // site at `pos` pointing down with its x axis at heading `yaw`, starting from `q` (in/out).
  // Returns the remaining position error (m). Uses scratch data; the env state is untouched.
  double SolveIk(const Vec3& pos, double yaw, std::span<double> q);
  // The gripper-down heading that needs no wrist roll when the grip site is at `pos`.
  double NaturalYaw(const Vec3& pos) const;
  // Of the headings base + k * period, the one closest to NaturalYaw(pos).
  double NearestYaw(const Vec3& pos, double base, double period) const;

 protected:
  // Loads the scene and copies its model; the task calls Finalize() after its own setup.
  ArmEnv(const ArmTaskSpec& spec, const sim::EnvSettings& settings);

  // --- task hooks ---
  // Draws object poses, hidden properties and the goal (after the arm is placed).
  virtual void SampleEpisode(sim::Rng& rng) = 0;
  // Shaped reward of the current state.
  virtual double ShapedReward() const = 0;
  // The expert's command for the current state; may change the phase (SetPhase).
  virtual ExpertCommand ExpertPlan() = 0;
  // Poses the scene at the goal for RenderGoal (default: objects at GoalPose(i)).
  virtual void PoseAtGoal();
  // Goal pose of object i (position m, quaternion) for the goal image.
  virtual void GoalPose(int i, Vec3* pos, std::array<double, 4>* quat) const;

  // --- helpers for tasks ---
  // Sets the goal state (GoalSize() values) and moves the goal marker (a mocap body) to its
  // first three values with orientation `marker_quat`.
  void SetGoal(std::span<const double> goal, const std::array<double, 4>& marker_quat = {1, 0, 0, 0});
  // Sets the arm joint angles (rad) with zero velocity.
  void SetArmAngles(const std::array<double, kArmJoints>& q);
  // Places object i (resting pose) with zero velocity.
  void PlaceObject(int i, const Vec3& pos, const std::array<double, 4>& quat);
  // Draws object i's hidden mass (kg) and sliding friction.
  void SetHiddenProperties(int i, double mass, double friction);

 private:
  int64_t ObservationSize() const override;
  void WriteObservation(std::span<double> out) const override;
  void ResetTask(sim::Rng& rng) override;
  void AfterStep() override;
  double ComputeReward() override { return ShapedReward(); }
  bool ComputeTerminated() override { return Success(); }
  std::vector<std::string> TaskInfoKeys() const override { return {"success"}; }
  void WriteTaskInfo(std::span<double> out) override;
  int64_t TaskStateSize() const override;
  void GetTaskState(std::span<double> out) const override;
  void SetTaskState(std::span<const double> in) override;
  // Gravity torques (N m) on the arm joints at arm angles q, with the robot at rest.
  void GravityTorques(std::span<const double> q, std::span<double> torques);

  ArmTaskSpec spec_;
  mjData* scratch_ = nullptr;              // inverse kinematics and gravity torques
  std::vector<mjtNum> jacobian_;           // (6 x nv) translational then rotational rows
  std::vector<mjtNum> bias_;               // (nv) gravity torques
  std::array<double, 2> base_xy_{};        // arm base position on the table (m)
  std::array<int, kRobotJoints> qpos_adr_{};  // qpos index of each robot joint
  std::array<int, kRobotJoints> dof_adr_{};   // qvel index of each robot joint
  std::array<double, kArmJoints> home_{};   // arm angles at reset (before noise)
  int grip_site_ = -1;
  int marker_body_ = -1;                   // mocap body marking the goal, or -1
  int finger_bodies_[2] = {-1, -1};
  std::vector<int> object_bodies_;
  std::vector<int> object_geoms_;
  std::vector<double> goal_;               // (goal_size)
  std::vector<sim::TruthField> truth_fields_;
  int phase_ = 0;                          // expert phase
  int phase_steps_ = 0;                    // expert steps spent in the phase
  Vec3 anchor_{};                          // expert memory (m)
};

}  // namespace darkmatter::tasks::manipulation
