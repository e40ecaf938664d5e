// WorldModelDynamics: a learned world model as a planner's Dynamics. It holds the latents of
// the last C observations (the model's context) and the latent of a goal observation; one
// Evaluate call rolls out all N candidate sequences in ONE batched WorldModelImpl::Rollout
// (N x H x act_dim) and scores each by its latent distance to the goal. No reward is used.
//
// Cost of candidate i with rolled-out latents z_1..z_H and goal latent g (d = mean absolute
// difference over the D latent dimensions, the L1 distance of the P1 surprise):
//   cost_i = final_weight * d(z_H, g) + (1 / H) * sum_{t=1..H} d(z_t, g)
// so the final step weighs most (final_weight >= 1 by default) and the running mean rewards
// getting there early. Tensors are preallocated and reused; the only host<->device traffic
// per call is one copy of the actions in and one of the N costs out.
//
// Speed: on a CPU, Debian's LibTorch multiplies dense matrices with the reference BLAS
// (~30x slower than oneDNN for these sizes), so for the latent models (worldmodel/
// latent_model.h: predictor = Linear/GELU MLP) the batched rollout runs the predictor
// through oneDNN (mkldnn_linear) with a preallocated context window; it computes exactly
// what WorldModelImpl::Rollout computes (same math, float tolerance; tested) and falls back
// to Rollout for other models and on other devices. Weights are re-packed when they change.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <torch/types.h>

#include "agents/dynamics.h"
#include "sim/env.h"
#include "worldmodel/world_model.h"

namespace darkmatter::agents {

// Settings of the latent cost.
struct WorldModelCostSettings {
  double final_weight = 4.0;  // weight of the last step's distance (the running mean has 1), >= 0
};

class WorldModelDynamics final : public Dynamics {
 public:
  // Plans with `model` (already on `device`, put in eval mode here) over `action_spec`, whose
  // size must equal the model's act_dim. Throws sim::BadInput on a mismatch or a model
  // without actions, and on final_weight < 0.
  WorldModelDynamics(std::shared_ptr<worldmodel::WorldModelImpl> model,
                     const sim::BoxSpec& action_spec, torch::Device device,
                     const WorldModelCostSettings& settings = {});

  const sim::BoxSpec& ActionSpec() const override { return spec_; }
  // Rolls out all candidates from the context in one batched call; cost as above.
  // Throws sim::BadInput on wrong sizes or before a context and a goal were set.
  void Evaluate(std::span<const double> actions, int num_candidates, int horizon,
                std::span<double> costs) override;

  // True for models that read pixels (frames of FrameSize() x FrameSize()).
  bool Pixels() const { return model_->options().input == "pixels"; }
  // State size (state models) and frame size in pixels (pixel models).
  int64_t ObsDim() const { return model_->options().obs_dim; }
  int64_t FrameSize() const { return model_->options().frame_size; }
  // Context length C of the model.
  int64_t Context() const { return model_->options().context; }

  // Forgets the context (the next observation fills all C slots).
  void ResetContext() { context_filled_ = false; }
  // Encodes one observation and appends its latent to the context (dropping the oldest):
  // a state (obs_dim doubles) for state models, an RGB frame (FrameSize()^2 x 3 uint8,
  // row-major H x W x 3) for pixel models. Throws sim::BadInput on the wrong kind or size.
  void PushObservation(std::span<const double> state);
  void PushFrame(std::span<const uint8_t> rgb);
  // Encodes the goal observation (same kinds and sizes as above) with the target encoder.
  void SetGoal(std::span<const double> state);
  void SetGoalFrame(std::span<const uint8_t> rgb);
  // Latent distance d(z_last, g) of the newest context latent to the goal (no model call).
  double GoalDistance() const;

  // Encoder calls made by Push*/SetGoal* (not counted in Stats().model_calls).
  int64_t EncoderCalls() const { return encoder_calls_; }
  const worldmodel::WorldModelImpl& Model() const { return *model_; }
  // True when Evaluate uses the oneDNN predictor path (CPU latent models).
  bool FastPath() const { return fast_; }
  // Rolled-out latents (N x H x D) of actions (N x H x act_dim, float32 on the device) from
  // the current context, by the path Evaluate uses (for tests and tools).
  torch::Tensor RolloutLatents(const torch::Tensor& actions);

 private:
  // Observation tensors (1 x 1 x obs_dim) or (1 x 1 x 3 x S x S) on the device.
  torch::Tensor StateTensor(std::span<const double> state) const;
  torch::Tensor FrameTensor(std::span<const uint8_t> rgb) const;
  void Push(const torch::Tensor& observation);
  // Ensures the action and cost buffers hold N x H (reallocated only when the size changes).
  void Reserve(int num_candidates, int horizon);
  // The oneDNN rollout of the predictor MLP (fast_ only).
  torch::Tensor FastRollout(const torch::Tensor& actions);
  // Re-packs the predictor's weights for oneDNN when any changed since the last packing.
  void PackWeights();

  std::shared_ptr<worldmodel::WorldModelImpl> model_;
  sim::BoxSpec spec_;
  torch::Device device_;
  WorldModelCostSettings settings_;
  int64_t act_dim_ = 0, latent_dim_ = 0;
  torch::Tensor context_;        // (1 x C x D) latents of the last C observations, oldest first
  torch::Tensor goal_;           // (D) goal latent; undefined until SetGoal*
  bool context_filled_ = false;  // the context holds at least one observation
  torch::Tensor actions_host_;   // (N x H x act_dim) float32, CPU (pinned-free staging)
  torch::Tensor actions_;        // (N x H x act_dim) float32 on the device
  torch::Tensor step_weights_;   // (H) weight of each step's distance, on the device
  torch::Tensor costs_host_;     // (N) float32, CPU
  int64_t encoder_calls_ = 0;
  // oneDNN predictor path.
  bool fast_ = false;
  int64_t noise_dim_ = 0;                   // zero inputs after the action (stochastic)
  std::vector<torch::Tensor> layers_;       // dense weights and biases of the Linear layers
  std::vector<bool> gelu_after_;            // (layers) a GELU follows the layer
  std::vector<torch::Tensor> packed_;       // oneDNN copies of layers_
  std::vector<int64_t> versions_;           // versions of layers_ when packed
  torch::Tensor inputs_[2];                 // (N x C*D + A + noise) ping-pong predictor inputs
  torch::Tensor latents_;                   // (N x H x D) rollout output
};

}  // namespace darkmatter::agents
