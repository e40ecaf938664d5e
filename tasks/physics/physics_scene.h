// PhysicsScene: a passive intuitive-physics scene (no actions) over this env's own copy of
// its MJCF model, so that layout and hidden properties (mass, friction, restitution) are
// drawn from the seed. For violation of expectation a family also lays out the two possible
// worlds of each principle's matched twin set (env.violation = the principle, env.world = 0
// or 1) and says how the impossible members are made from them (tasks/twin_set.h).
//
// Scene files follow three conventions: every free-joint body is an object whose truth is
// recorded (in body order); the body named "red" is the red object; the geom named
// "yellow_zone" is the yellow zone (a thin box on the floor); an optional geom "occluder"
// hides objects from the camera "main". Static geoms use contype/conaffinity 3 so that an
// object switched to bit 2 (MakeGhost) still meets the floor but not other objects.
//
// State: get_state/set_state must give the same future in any env of the same settings, also
// one reset with another seed. So a family keeps no per-episode value in C++ members (only
// constants and ids set in its constructor): every value it draws in Layout and reads later in
// its hooks is either derived from the model (e.g. geom_size: the editable model travels in
// the state) or the physics state, or kept in Param(i), which travels in the state too. Hooks
// read qpos/qvel (Position, Velocity) and InContact, never poses derived for moving bodies in
// mjData (xpos, geom_xpos...: rendering refreshes them between steps, and set_state
// recomputes them); poses of static bodies and cameras are fine.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "sim/mujoco_env.h"
#include "tasks/common/editable_model.h"
#include "tasks/physics/principle.h"
#include "tasks/twin_set.h"

namespace darkmatter::tasks::physics {

// A uniform draw range: [lo, hi), or [ood_lo, ood_hi) on the out-of-distribution split.
struct DrawRange {
  double lo, hi, ood_lo, ood_hi;
};

// What a scene family declares.
struct SceneSpec {
  std::string name;                   // "physics/<family>"
  std::string asset;                  // scene file under assets/
  std::vector<Principle> principles;  // principles its impossible twins can break
  int frame_skip = 10;                // physics steps per frame
  int clip_steps = 48;                // frames per clip (after the reset frame)
};

// Holds the env's editable model so that it exists before MujocoEnv is constructed with it.
struct EditableModelHolder {
  explicit EditableModelHolder(sim::ModelPtr base) : editable(std::move(base)) {}
  EditableModel editable;
};

class PhysicsScene : private EditableModelHolder, public sim::MujocoEnv, public TwinSetSource {
 public:
  const std::vector<sim::TruthField>& TruthFields() const override { return truth_fields_; }
  void WriteTruth(std::span<double> out) const override;
  void EpisodeLabels(std::map<std::string, double>* scalars,
                     std::map<std::string, std::string>* strings) const override;

  // The family's declaration.
  const SceneSpec& spec() const { return spec_; }
  std::vector<std::string> Principles() const override;
  // Number of objects (free bodies) and the index of the red one.
  int NumObjects() const { return static_cast<int>(objects_.size()); }
  int RedObject() const { return red_object_; }
  // Body id and first geom id of object i.
  int ObjectBody(int i) const { return objects_[i]; }
  int ObjectGeom(int i) const { return object_geoms_[i]; }
  // Hidden properties of object i as drawn at reset.
  double Mass(int i) const;
  double Friction(int i) const;
  double Restitution(int i) const { return editable.Restitution(object_geoms_[i]); }
  // Position (m) of object i from the current qpos.
  std::array<double, 3> Position(int i) const;
  // Velocity (m/s) of object i from the current qvel.
  std::array<double, 3> Velocity(int i) const;
  // True when object i and j (or the static world, j = -1) touched in the last physics step
  // (at reset: in the initial state). Kept in the env state.
  bool InContact(int i, int j) const;
  // True once the red object has touched the yellow zone in this episode.
  bool RedTouchedZone() const { return red_touched_zone_; }
  // Resets, then records the initial contacts (after MujocoEnv's mj_forward).
  sim::StepResult Reset(std::optional<uint64_t> seed) override;

  // TwinSetSource (tasks/twin_set.h), from the family's Plan for env.violation.
  TwinRule Rule() const override { return Plan(violation_).rule; }
  std::vector<uint8_t> UnseenDifference(const sim::Episode& a,
                                        const sim::Episode& b) const override;
  int64_t SwapFrame(const sim::Episode& a, const sim::Episode& b) const override;
  void ObserveSwapped(const sim::EnvState& base, std::span<const double> other,
                      Frame* out) override;

  // Number of per-episode parameter slots (see Param).
  static constexpr int kMaxParams = 64;

 protected:
  // Loads the scene, copies its model for this env; the family calls Finalize() after.
  PhysicsScene(const SceneSpec& spec, const sim::EnvSettings& settings);

  // How a family makes the impossible members of one principle's set.
  struct TwinPlan {
    TwinRule rule;
    std::vector<int> objects;  // splice: the objects in which the worlds differ (they must be
                               // unseen at the splice); swap: the objects taken from the other
                               // world
  };

  // --- family hooks ---
  // Draws layout, initial velocities and hidden properties (after mj_resetData), then, for a
  // twin set (violation() != kNone), makes world() of it: every draw is made in both worlds,
  // in the same order, so that they differ only where the family makes them differ.
  virtual void Layout(sim::Rng& rng) = 0;
  // The set of `principle` (one of the family's principles).
  virtual TwinPlan Plan(Principle principle) const = 0;
  // Extra episode labels of the family (e.g. a branching outcome); none by default.
  virtual void FamilyLabels(std::map<std::string, double>* scalars,
                            std::map<std::string, std::string>* strings) const {}

  // --- helpers for families ---
  // Per-episode parameter slot i in [0, kMaxParams) (throws std::logic_error otherwise): zero
  // at the start of every reset, written in Layout, read in the other hooks; travels in the
  // env state. Families name their slots (constexpr int kRadius = 0; ...).
  double& Param(int i);
  double Param(int i) const;
  // The principle of the twin set this env lays out a world of (kNone: an ordinary clip).
  Principle violation() const { return violation_; }
  // Which world of that set: 0 (A) or 1 (B); 0 for ordinary clips.
  int world() const { return world_; }
  bool ood() const { return ood_; }
  int step() const { return step_; }
  // A uniform draw from [lo, hi), or from [ood_lo, ood_hi) on the out-of-distribution split.
  double Draw(sim::Rng& rng, double lo, double hi, double ood_lo, double ood_hi) const;
  // The same draw from `range`.
  double Draw(sim::Rng& rng, const DrawRange& range) const {
    return Draw(rng, range.lo, range.hi, range.ood_lo, range.ood_hi);
  }
  // A whole number uniform in [lo, hi] (one Draw, the same range on every split).
  int DrawCount(sim::Rng& rng, int lo, int hi) const;
  // Half sizes (m) of N boxes, drawn box by box, each as x, y, z from one range per axis.
  template <size_t N>
  std::array<std::array<double, 3>, N> DrawHalfSizes(sim::Rng& rng, const DrawRange& x,
                                                     const DrawRange& y,
                                                     const DrawRange& z) const {
    std::array<std::array<double, 3>, N> half;
    for (auto& h : half) h = {Draw(rng, x), Draw(rng, y), Draw(rng, z)};
    return half;
  }
  // Index of the object whose body is called `name` (throws std::logic_error if none).
  int ObjectIndex(const std::string& body_name) const;
  // Places object i (position in m, orientation quaternion) and sets its velocity.
  void SetPose(int i, const std::array<double, 3>& pos, const std::array<double, 4>& quat = {1, 0, 0, 0});
  void SetVelocity(int i, const std::array<double, 3>& linear,
                   const std::array<double, 3>& angular = {0, 0, 0});
  // Resizes box object i to half sizes `half` (m) and stands it on the floor at x (m) behind
  // camera "main" (y = -3.5 m), out of view: for objects a layout does not use.
  void ParkBehindCamera(int i, const std::array<double, 3>& half, double x);

 public:
  // Hidden properties of object i: mass (kg, inertia scaled along), sliding friction,
  // restitution in (0, 1). Families call it in Layout; experiments may intervene with it.
  void SetHiddenProperties(int i, double mass, double friction, double restitution);

 protected:
  // Resizes a geom (its size vector) and keeps its bounding radius consistent; an object's
  // inertia follows its new shape (at its current mass).
  void Resize(int geom, const std::array<double, 3>& size);
  // Changes a geom's colour.
  void Recolor(int geom, const std::array<float, 4>& rgba);
  // Moves a static body (e.g. a wall or ramp) to a new pose.
  void PlaceStatic(const std::string& body_name, const std::array<double, 3>& pos,
                   const std::array<double, 4>& quat = {1, 0, 0, 0});
  // True when object i cannot be seen from camera "main": invisible (MakeGhost), or every
  // corner of it (a box) or of the cube around its bounding sphere behind the occluder.
  bool Hidden(int i) const;
  // An absent object: invisible, and meeting only the static world (the floor still holds
  // it), so it moves as it would but is never seen and touches no other object.
  void MakeGhost(int i);

  mjModel* scene_model() { return editable.get(); }

 private:
  bool AcceptsSceneSettings() const override { return true; }
  void ResetTask(sim::Rng& rng) override;
  void BeforeStep() override;
  void AfterPhysicsStep() override;
  int64_t TaskStateSize() const override;
  void GetTaskState(std::span<double> out) const override;
  void SetTaskState(std::span<const double> in) override;
  // Fills contacts_ from the contacts of the last mj_step (or mj_forward).
  void RecordContacts();
  // Sets red_touched_zone_ once the red object touches the zone in the current contacts.
  void RecordZoneTouch();
  // True when the segment from camera "main" to `target` (m) crosses the occluder.
  bool BehindOccluder(const std::array<double, 3>& target) const;
  // Offsets of one truth field in a truth row (throws std::logic_error if none).
  int64_t TruthOffset(const std::string& field) const;

  SceneSpec spec_;
  Principle violation_;
  int world_;
  bool ood_;
  std::vector<int> objects_;       // body ids of the objects
  std::vector<int> object_geoms_;  // first geom of each object
  std::vector<int> object_of_body_;  // (nbody) object index of each body, -1 for others
  int red_object_ = -1;
  int zone_geom_ = -1;
  int occluder_geom_ = -1;
  int main_camera_ = -1;
  std::vector<sim::TruthField> truth_fields_;
  bool in_layout_ = false;     // Layout is running: constants are refreshed once at its end
  // Per-episode state (all of it in GetTaskState, with the editable model).
  std::array<double, kMaxParams> params_{};  // the families' Param slots
  std::vector<double> contacts_;  // (objects x (objects + 1)) 1: touched in the last physics
                                  // step; last column: the static world
  int step_ = 0;
  bool red_touched_zone_ = false;
};

}  // namespace darkmatter::tasks::physics
