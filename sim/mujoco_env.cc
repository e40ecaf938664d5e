#include "sim/mujoco_env.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "sim/error.h"

namespace darkmatter::sim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Copies n values and advances the cursor (state packing).
void Pack(double*& cursor, const mjtNum* from, int n) {
  for (int i = 0; i < n; ++i) *cursor++ = from[i];
}
void Unpack(const double*& cursor, mjtNum* to, int n) {
  for (int i = 0; i < n; ++i) to[i] = *cursor++;
}

}  // namespace

// The generic env: MujocoEnv's default hooks, finalized on construction.
class MjcfEnv final : public MujocoEnv {
 public:
  MjcfEnv(const std::string& name, ModelPtr model, const EnvSettings& settings)
      : MujocoEnv(name, std::move(model), settings) {
    Finalize();
  }
};

MujocoEnv::MujocoEnv(std::string name, ModelPtr model, const EnvSettings& settings,
                     const MujocoDefaults& defaults)
    : name_(std::move(name)),
      model_(std::move(model)),
      frame_skip_(settings.frame_skip > 0 ? settings.frame_skip : defaults.frame_skip),
      max_episode_steps_(settings.max_episode_steps > 0 ? settings.max_episode_steps
                                                        : defaults.max_episode_steps),
      reset_noise_scale_(settings.reset_noise_scale >= 0 ? settings.reset_noise_scale
                                                         : defaults.reset_noise_scale),
      observe_state_(WantsState(settings)),
      observe_pixels_(WantsPixels(settings)) {
  ValidateEnvSettings(name_, settings);
  violation_ = settings.violation;
  world_ = settings.world;
  split_given_ = settings.split != "train";
  sensors_ = settings.sensors;
  pixel_options_.width = settings.frame_width;
  pixel_options_.height = settings.frame_height;
  pixel_options_.camera.name = settings.camera;
  if (observe_pixels_) {
    FindCamera(model_.get(), settings.camera);  // unknown camera -> BadInput now, not later
  }
  InstallMujocoHandlers();
  data_ = mj_makeData(model_.get());
  if (!data_) throw std::runtime_error(name_ + ": mj_makeData failed");
}

MujocoEnv::~MujocoEnv() { mj_deleteData(data_); }

void MujocoEnv::Finalize() {
  ValidateViolation(name_, violation_, Principles(), world_);
  if (split_given_ && !AcceptsSceneSettings()) {
    throw BadInput(name_ + ": env.split applies to physics scenes only");
  }
  if (!sensors_.empty()) {
    throw BadInput(name_ + ": env.sensors '" + sensors_ +
                   "' is not offered by this task (extra sensors exist for driving tasks only)");
  }
  const mjModel* m = model_.get();
  const int64_t obs_dim = observe_state_ ? ObservationSize() : 0;
  observation_spec_ = {{obs_dim}, std::vector<double>(obs_dim, -kInf),
                       std::vector<double>(obs_dim, kInf), "float64"};
  if (observe_pixels_) {
    const int64_t size = int64_t{pixel_options_.height} * pixel_options_.width * 3;
    pixel_spec_ = {{pixel_options_.height, pixel_options_.width, 3},
                   std::vector<double>(size, 0.0), std::vector<double>(size, 255.0), "uint8"};
    pixels_.assign(size, 0);
  } else {
    pixel_spec_ = {{0}, {}, {}, "uint8"};
  }
  action_spec_ = {{m->nu}, std::vector<double>(m->nu, -kInf),
                  std::vector<double>(m->nu, kInf), "float64"};
  for (int i = 0; i < m->nu; ++i) {
    if (m->actuator_ctrllimited[i]) {
      action_spec_.low[i] = m->actuator_ctrlrange[2 * i];
      action_spec_.high[i] = m->actuator_ctrlrange[2 * i + 1];
    }
  }
  info_keys_ = {"diverged"};
  for (auto& key : TaskInfoKeys()) info_keys_.push_back(key);
  observation_.assign(obs_dim, 0.0);
  info_.assign(info_keys_.size(), 0.0);
  finalized_ = true;
}

int64_t MujocoEnv::ObservationSize() const { return model_->nq + model_->nv; }

void MujocoEnv::WriteObservation(std::span<double> out) const {
  const mjModel* m = model_.get();
  for (int i = 0; i < m->nq; ++i) out[i] = data_->qpos[i];
  for (int i = 0; i < m->nv; ++i) out[m->nq + i] = data_->qvel[i];
}

void MujocoEnv::ResetTask(Rng& rng) {
  const mjModel* m = model_.get();
  const double scale = reset_noise_scale_;
  if (scale <= 0) return;
  for (int j = 0; j < m->njnt; ++j) {  // quaternions of free/ball joints stay unit
    const int type = m->jnt_type[j];
    if (type == mjJNT_HINGE || type == mjJNT_SLIDE) {
      data_->qpos[m->jnt_qposadr[j]] += rng.Uniform(-scale, scale);
    }
  }
  for (int i = 0; i < m->nv; ++i) data_->qvel[i] += rng.Uniform(-scale, scale);
}

StepResult MujocoEnv::Reset(std::optional<uint64_t> seed) {
  if (!finalized_) throw std::logic_error(name_ + ": Finalize() was not called");
  if (seed) rng_.Seed(*seed);
  mj_resetData(model_.get(), data_);
  ResetTask(rng_);
  mj_forward(model_.get(), data_);
  elapsed_steps_ = 0;
  needs_reset_ = false;
  warnings_seen_ = TotalWarnings(data_);
  return MakeResult(0.0, false, false, false);
}

StepResult MujocoEnv::Step(std::span<const double> action) {
  if (needs_reset_) {
    throw std::logic_error(name_ + ": Step called before Reset or after the episode ended");
  }
  ValidateAction(action_spec_, action);
  ClipAction(action_spec_, action, std::span<double>(data_->ctrl, model_->nu));
  BeforeStep();
  bool diverged = false;
  for (int k = 0; k < frame_skip_ && !diverged; ++k) {
    mj_step(model_.get(), data_);
    diverged = TotalWarnings(data_) != warnings_seen_;
    if (!diverged) AfterPhysicsStep();
  }
  diverged = diverged || !StateIsFinite();
  ++elapsed_steps_;
  if (!diverged) AfterStep();
  const double reward = diverged ? 0.0 : ComputeReward();
  const bool terminated = !diverged && ComputeTerminated();
  const bool truncated = diverged || elapsed_steps_ >= max_episode_steps_;
  if (diverged) ++diverged_count_;
  needs_reset_ = terminated || truncated;
  return MakeResult(reward, terminated, truncated, diverged);
}

StepResult MujocoEnv::MakeResult(double reward, bool terminated, bool truncated,
                                 bool diverged) {
  if (observe_state_) WriteObservation(observation_);
  if (observe_pixels_) {
    if (!pixel_renderer_) pixel_renderer_ = std::make_unique<Renderer>(model_, pixel_options_);
    SyncKinematics();
    pixel_renderer_->Render(data_, pixels_.data(), nullptr, nullptr);
  }
  info_[0] = diverged ? 1.0 : 0.0;
  WriteTaskInfo(std::span<double>(info_).subspan(1));
  return {observation_, reward, terminated, truncated, info_, pixels_};
}

void MujocoEnv::Render(const CameraSpec& camera, int width, int height, RenderOutput* out,
                       bool depth, bool segmentation) {
  const RenderOptions* current = view_renderer_ ? &view_renderer_->options() : nullptr;
  const bool same = current && current->width == width && current->height == height &&
                    current->camera == camera;
  if (!same) {
    RenderOptions options;
    options.width = width;
    options.height = height;
    options.camera = camera;
    view_renderer_ = std::make_unique<Renderer>(model_, options);
  }
  SyncKinematics();
  view_renderer_->Render(data_, out, depth, segmentation);
}

void MujocoEnv::SyncKinematics() {
  // After mj_step, poses in mjData belong to the state before the last integration; images
  // must show the current qpos. mj_step recomputes all of these, so physics is unaffected,
  // except that mj_kinematics normalises quaternions in qpos in place
  // (and mocap quaternions): keep both exact.
  const mjModel* m = model_.get();
  qpos_scratch_.assign(data_->qpos, data_->qpos + m->nq);
  qpos_scratch_.insert(qpos_scratch_.end(), data_->mocap_quat, data_->mocap_quat + 4 * m->nmocap);
  mj_kinematics(m, data_);
  mj_comPos(m, data_);
  mj_camlight(m, data_);
  std::copy_n(qpos_scratch_.begin(), m->nq, data_->qpos);
  std::copy_n(qpos_scratch_.begin() + m->nq, 4 * m->nmocap, data_->mocap_quat);
}

bool MujocoEnv::StateIsFinite() const {
  for (int i = 0; i < model_->nq; ++i) {
    if (!std::isfinite(data_->qpos[i])) return false;
  }
  for (int i = 0; i < model_->nv; ++i) {
    if (!std::isfinite(data_->qvel[i])) return false;
  }
  return true;
}

int64_t MujocoEnv::PhysicsStateSize() const {
  const mjModel* m = model_.get();
  // time, qpos, qvel, act, ctrl, qacc_warmstart, qfrc_applied, xfrc_applied, mocap, userdata
  return 1 + m->nq + 2 * m->nv + m->na + m->nu + m->nv + 6 * m->nbody + 7 * m->nmocap +
         m->nuserdata;
}

int64_t MujocoEnv::StateSize() const { return PhysicsStateSize() + TaskStateSize(); }

void MujocoEnv::GetState(EnvState* state) const {
  const mjModel* m = model_.get();
  state->physics.resize(StateSize());
  double* cursor = state->physics.data();
  *cursor++ = data_->time;
  Pack(cursor, data_->qpos, m->nq);
  Pack(cursor, data_->qvel, m->nv);
  Pack(cursor, data_->act, m->na);
  Pack(cursor, data_->ctrl, m->nu);
  Pack(cursor, data_->qacc_warmstart, m->nv);
  Pack(cursor, data_->qfrc_applied, m->nv);
  Pack(cursor, data_->xfrc_applied, 6 * m->nbody);
  Pack(cursor, data_->mocap_pos, 3 * m->nmocap);
  Pack(cursor, data_->mocap_quat, 4 * m->nmocap);
  Pack(cursor, data_->userdata, m->nuserdata);
  GetTaskState(std::span<double>(cursor, TaskStateSize()));
  state->rng = rng_.State();
  state->elapsed_steps = elapsed_steps_;
  state->needs_reset = needs_reset_;
}

void MujocoEnv::SetState(const EnvState& state) {
  if (static_cast<int64_t>(state.physics.size()) != StateSize()) {
    throw BadInput(name_ + ": state has " + std::to_string(state.physics.size()) +
                   " values, expected " + std::to_string(StateSize()));
  }
  const mjModel* m = model_.get();
  const double* cursor = state.physics.data();
  data_->time = *cursor++;
  Unpack(cursor, data_->qpos, m->nq);
  Unpack(cursor, data_->qvel, m->nv);
  Unpack(cursor, data_->act, m->na);
  Unpack(cursor, data_->ctrl, m->nu);
  Unpack(cursor, data_->qacc_warmstart, m->nv);
  Unpack(cursor, data_->qfrc_applied, m->nv);
  Unpack(cursor, data_->xfrc_applied, 6 * m->nbody);
  Unpack(cursor, data_->mocap_pos, 3 * m->nmocap);
  Unpack(cursor, data_->mocap_quat, 4 * m->nmocap);
  Unpack(cursor, data_->userdata, m->nuserdata);
  SetTaskState(std::span<const double>(cursor, TaskStateSize()));
  // Positions for observations, truth and rendering. Not mj_forward: its constraint solve
  // leaves solver data behind that changes the next mj_step (seen on multi-contact scenes),
  // which would break bit-identical continuation.
  SyncKinematics();
  rng_.SetState(state.rng);
  elapsed_steps_ = state.elapsed_steps;
  needs_reset_ = state.needs_reset;
  warnings_seen_ = TotalWarnings(data_);
}

std::unique_ptr<Env> MakeMjcfEnv(const std::string& name, ModelPtr model,
                                 const EnvSettings& settings) {
  return std::make_unique<MjcfEnv>(name, std::move(model), settings);
}

std::unique_ptr<Env> MakeMjcfEnv(const std::string& path, const EnvSettings& settings) {
  return MakeMjcfEnv("mjcf:" + path, LoadModelFile(path), settings);
}

}  // namespace darkmatter::sim
