// MujocoEnv: the Env API over a shared mjModel and a per-env mjData. Used as is, it is the
// generic MJCF env (obs = qpos, qvel; action = ctrl; reward 0); tasks derive from it,
// override the hooks, and call Finalize() at the end of their constructor.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sim/env.h"
#include "sim/mujoco_model.h"
#include "sim/renderer.h"

namespace darkmatter::sim {

// Task-level defaults that EnvSettings may override.
struct MujocoDefaults {
  int frame_skip = 5;              // physics steps per control step
  int max_episode_steps = 1000;    // control steps before truncation
  double reset_noise_scale = 0.01; // uniform noise on hinge/slide qpos and on qvel at reset
};

class MujocoEnv : public Env {
 public:
  // Builds an env over `model`; call Finalize() before use (MakeMjcfEnv does).
  MujocoEnv(std::string name, ModelPtr model, const EnvSettings& settings,
            const MujocoDefaults& defaults = {});
  ~MujocoEnv() override;
  MujocoEnv(const MujocoEnv&) = delete;
  MujocoEnv& operator=(const MujocoEnv&) = delete;

  const std::string& Name() const override { return name_; }
  const char* Backend() const override { return "mujoco"; }
  const BoxSpec& ObservationSpec() const override { return observation_spec_; }
  const BoxSpec& PixelSpec() const override { return pixel_spec_; }
  const BoxSpec& ActionSpec() const override { return action_spec_; }
  const std::vector<std::string>& InfoKeys() const override { return info_keys_; }
  StepResult Reset(std::optional<uint64_t> seed) override;
  StepResult Step(std::span<const double> action) override;
  int64_t StateSize() const override;
  void GetState(EnvState* state) const override;
  void SetState(const EnvState& state) override;
  void Render(const CameraSpec& camera, int width, int height, RenderOutput* out,
              bool depth = false, bool segmentation = false) override;
  int FrameSkip() const override { return frame_skip_; }
  int MaxEpisodeSteps() const override { return max_episode_steps_; }

  // The shared model and this env's data (for renderers, truth and benchmarks).
  const mjModel* model() const { return model_.get(); }
  const mjData* data() const { return data_; }
  // Number of episodes that ended because the simulation diverged.
  int64_t DivergedCount() const { return diverged_count_; }

 protected:
  // Builds specs and buffers from the hooks below; the most-derived constructor calls it.
  void Finalize();

  // Observation size (default nq + nv).
  virtual int64_t ObservationSize() const;
  // Writes the observation (default qpos then qvel).
  virtual void WriteObservation(std::span<double> out) const;
  // Sets the initial state after mj_resetData (default: qpos0 plus uniform noise).
  virtual void ResetTask(Rng& rng);
  // Reward of the step that just happened (default 0).
  virtual double ComputeReward() { return 0.0; }
  // True when the task reached a terminal state (default never).
  virtual bool ComputeTerminated() { return false; }
  // Names of task info values, appended after "diverged" (default none).
  virtual std::vector<std::string> TaskInfoKeys() const { return {}; }
  // Writes task info values (same order as TaskInfoKeys).
  virtual void WriteTaskInfo(std::span<double> out) {}
  // Extra task state (e.g. randomised hidden properties) carried by EnvState.
  virtual int64_t TaskStateSize() const { return 0; }
  virtual void GetTaskState(std::span<double> out) const {}
  virtual void SetTaskState(std::span<const double> in) {}

  // True for envs that understand EnvSettings::split (physics scenes); env.violation is
  // checked against Principles().
  virtual bool AcceptsSceneSettings() const { return false; }
  // Called at the start of every Step, after the action was validated and applied to ctrl.
  virtual void BeforeStep() {}
  // Called after each physics step inside Step (frame_skip times per Step).
  virtual void AfterPhysicsStep() {}
  // Called after the physics steps of every Step, before reward and termination.
  virtual void AfterStep() {}

  mjData* mutable_data() { return data_; }
  double reset_noise_scale() const { return reset_noise_scale_; }
  // The observation (and pixels) of the current state, e.g. after SetState, as a step
  // would return it with reward 0 and no flags.
  StepResult Observe() { return MakeResult(0.0, false, false, false); }

 private:
  StepResult MakeResult(double reward, bool terminated, bool truncated, bool diverged);
  bool StateIsFinite() const;
  // Recomputes body/geom/camera poses from the current qpos (rendering, set_state), leaving
  // the physics state bit-identical.
  void SyncKinematics();
  int64_t PhysicsStateSize() const;

  std::string name_;
  ModelPtr model_;
  mjData* data_ = nullptr;
  int frame_skip_;
  int max_episode_steps_;
  double reset_noise_scale_;
  bool observe_state_;
  bool observe_pixels_;
  RenderOptions pixel_options_;      // size and camera of pixel observations
  BoxSpec observation_spec_;
  BoxSpec pixel_spec_;
  std::vector<uint8_t> pixels_;      // (H x W x 3)
  std::unique_ptr<Renderer> pixel_renderer_;  // created on first use (needs GL)
  std::unique_ptr<Renderer> view_renderer_;   // for Render(); rebuilt when options change
  BoxSpec action_spec_;
  std::vector<std::string> info_keys_;
  std::vector<double> observation_;  // (obs_dim)
  std::vector<double> info_;         // (info_keys_.size())
  std::vector<double> qpos_scratch_; // (nq + 4 nmocap) kept exact across SyncKinematics
  Rng rng_;
  int64_t elapsed_steps_ = 0;
  bool needs_reset_ = true;
  int warnings_seen_ = 0;
  int64_t diverged_count_ = 0;
  bool finalized_ = false;
  std::string violation_;              // env.violation, checked in Finalize
  int world_ = 0;                      // env.world, checked in Finalize
  bool split_given_ = false;           // env.split differs from "train"
  std::string sensors_;                // env.sensors; no MuJoCo task offers extra sensors
};

// A generic env from any MJCF file: obs = (qpos, qvel), action = ctrl in ctrlrange, reward 0.
std::unique_ptr<Env> MakeMjcfEnv(const std::string& path, const EnvSettings& settings = {});
// Same, over an already compiled model.
std::unique_ptr<Env> MakeMjcfEnv(const std::string& name, ModelPtr model,
                                 const EnvSettings& settings = {});

}  // namespace darkmatter::sim
