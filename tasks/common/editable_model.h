// EditableModel: an env's own copy of a compiled MuJoCo model whose physical parameters
// (masses, inertias, sizes, friction, contact softness, colours, collision bits, poses of
// static bodies) tasks may change per episode, e.g. to draw hidden properties from the seed.
// The editable fields travel in the env state (Pack/Unpack), and the solver's derived
// constants are recomputed after edits, so that masses really change the dynamics.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "sim/mujoco_model.h"

namespace darkmatter::tasks {

class EditableModel {
 public:
  // Copies `base` (which stays shared and unchanged).
  explicit EditableModel(sim::ModelPtr base);
  ~EditableModel();
  EditableModel(const EditableModel&) = delete;
  EditableModel& operator=(const EditableModel&) = delete;

  // The copy, to hand to MujocoEnv (shared ownership).
  const sim::ModelPtr& model() const { return copy_; }
  // Mutable access to the copy.
  mjModel* get() { return mutable_; }
  const mjModel* get() const { return mutable_; }

  // Copies every editable field back from the base model.
  void RestoreDefaults();
  // Recomputes derived constants (inverse weights, subtree masses, statistics) with
  // mj_setConst on a scratch mjData, leaving the env's own mjData untouched.
  void RefreshDerivedConstants();

  // Number of doubles Pack writes.
  int64_t StateSize() const;
  // Writes every editable field (as doubles) to `out` (StateSize() values).
  void Pack(std::span<double> out) const;
  // Restores the fields from Pack's output and refreshes derived constants.
  void Unpack(std::span<const double> in);

  // Sets a body's mass (kg), scaling its inertia; call RefreshDerivedConstants after edits.
  void SetBodyMass(int body, double mass);
  // Sets a geom's size vector and keeps its bounding radius consistent.
  void Resize(int geom, const std::array<double, 3>& size);
  // Sets a single-geom body's principal inertia from its primitive geom's shape and the
  // body's mass (solid sphere, box, cylinder, capsule as a cylinder, ellipsoid).
  void SetPrimitiveInertia(int body, int geom);
  // Sets a geom's sliding friction coefficient.
  void SetFriction(int geom, double friction);
  // Sets a geom's contact softness so that it bounces back `restitution` (0..1) of the
  // normal speed, dominating the static geoms it touches (solmix).
  void SetRestitution(int geom, double restitution);
  // Nominal restitution of a geom as set by SetRestitution (0 for MuJoCo's defaults).
  double Restitution(int geom) const;
  // Moves a static body to a new pose.
  void PlaceBody(int body, const std::array<double, 3>& pos,
                 const std::array<double, 4>& quat = {1, 0, 0, 0});

 private:
  sim::ModelPtr base_;
  sim::ModelPtr copy_;
  mjModel* mutable_;
  mjData* scratch_;
};

}  // namespace darkmatter::tasks
