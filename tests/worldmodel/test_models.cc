// Every world model behind the WorldModel abstraction: shapes, learning, surprise, pixels,
// multiple futures, and checkpoints that carry their options.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "sim/error.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/clips.h"
#include "worldmodel/generative.h"
#include "worldmodel/stochastic.h"
#include "worldmodel/supervised.h"
#include "worldmodel/world_model.h"

#undef CHECK
#include <catch2/catch.hpp>

namespace sim = darkmatter::sim;
namespace wm = darkmatter::worldmodel;

namespace {

// A ball bouncing in 1-d: observation (x, v), no actions; truth "positions" = x.
// When `branch` is set, at frame 3 the ball leaves to the left or the right (seeded coin).
std::vector<sim::Episode> BallEpisodes(int count, bool branch, int frames = 12) {
  std::vector<sim::Episode> episodes;
  for (int k = 0; k < count; ++k) {
    sim::Episode e;
    e.task = "test/ball";
    e.seed = k;
    e.obs_dim = 2;
    e.act_dim = 0;
    const double side = (k * 7919 % 13) % 2 == 0 ? 1.0 : -1.0;
    double x = 0.1 * (k % 10) - 0.5, v = branch ? 0.0 : 0.05 * ((k % 7) - 3);
    for (int t = 0; t <= frames; ++t) {
      if (branch && t == 3) v = 0.3 * side;
      e.observations.push_back(x);
      e.observations.push_back(v);
      e.truth.push_back(x);
      x += v;
      if (x > 1 || x < -1) v = -v;
    }
    e.rewards.assign(frames, 0.0);
    e.terminations.assign(frames, 0);
    e.truncations.assign(frames, 0);
    e.truth_names = {"positions"};
    e.truth_shapes = {{1}};
    episodes.push_back(e);
  }
  return episodes;
}

wm::ModelOptions Tiny(const std::string& model, const std::string& input = "state") {
  wm::ModelOptions o;
  o.model = model;
  o.input = input;
  o.obs_dim = input == "state" ? 2 : 0;
  o.frame_size = 16;
  o.channels = 4;
  o.latent_dim = 8;
  o.hidden = 32;
  o.context = 2;
  o.horizon = 2;
  o.label_dim = model == "supervised" ? 1 : 0;
  o.samples = 4;
  o.noise_dim = 2;
  return o;
}

// Trains `model` for `steps` Adam steps on batches of `data`; returns the last metrics.
std::map<std::string, double> TrainSteps(wm::WorldModelImpl& model, wm::ClipDataset& data,
                                         int steps, double lr = 3e-3) {
  std::vector<torch::Tensor> trainable;
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(lr));
  std::map<std::string, double> last;
  model.train();
  for (int step = 0; step < steps; ++step) {
    auto loss = model.Loss(data.Batch(1, step, 32));
    optimizer.zero_grad();
    loss.total.backward();
    optimizer.step();
    model.AfterOptimizerStep();
    last = loss.metrics;
  }
  return last;
}

}  // namespace

TEST_CASE("World models: every model trains, and surprise is zero on the context frames",
          "[worldmodel][models]") {
  const auto episodes = BallEpisodes(30, false);
  for (const std::string name : {"jepa", "generative", "stochastic", "supervised"}) {
    INFO("model " << name);
    torch::manual_seed(0);
    const bool supervised = name == "supervised";
    wm::DataOptions data_options;
    if (supervised) data_options.labels = {"positions"};
    wm::ClipDataset data(episodes, supervised ? 1 : 2, supervised ? 0 : 2, torch::kCPU,
                         data_options);
    auto model = wm::MakeWorldModel(Tiny(name));
    model->SetNormalisation(data.ObsMean(), data.ObsStd());
    if (supervised) {
      std::static_pointer_cast<wm::SupervisedImpl>(model)->SetLabelNormalisation(
          data.LabelMean(), data.LabelStd());
    }
    const auto first = model->Loss(data.Batch(1, 0, 32)).metrics;
    const auto last = TrainSteps(*model, data, 300);
    CHECK(std::isfinite(last.at("total")));
    if (supervised) {
      INFO("label_mse " << first.at("label_mse") << " -> " << last.at("label_mse"));
      CHECK(last.at("label_mse") < 0.2 * first.at("label_mse"));
    } else {
      // Latent scales move while training; the reference is "nothing moves" at the end.
      INFO("prediction " << last.at("prediction") << ", copy baseline "
                         << last.at("copy_baseline"));
      CHECK(last.at("prediction") < 0.6 * last.at("copy_baseline"));
    }
    model->eval();
    const auto clip = wm::EpisodeTensors(episodes[0], "state", torch::kCPU);
    const auto surprise = model->Surprise(clip.observations, clip.actions);
    REQUIRE(surprise.sizes() == torch::IntArrayRef({1, 13}));
    CHECK(surprise[0][0].item<float>() == 0.0f);
    CHECK(surprise[0][1].item<float>() == 0.0f);
    CHECK(surprise.narrow(1, 2, 11).min().item<float>() >= 0.0f);
  }
}

TEST_CASE("World models: a trained jepa is more surprised by a teleport than by its own clip",
          "[worldmodel][models]") {
  auto episodes = BallEpisodes(60, false);
  wm::ClipDataset data(episodes, 2, 2, torch::kCPU);
  torch::manual_seed(3);
  auto model = wm::MakeWorldModel(Tiny("jepa"));
  model->SetNormalisation(data.ObsMean(), data.ObsStd());
  TrainSteps(*model, data, 300);
  model->eval();
  int more_surprised = 0;
  for (int k = 0; k < 20; ++k) {
    sim::Episode possible = episodes[k], impossible = episodes[k];
    for (int t = 8; t <= 12; ++t) impossible.observations[2 * t] += 0.6;  // jumps at frame 8
    auto a = wm::EpisodeTensors(possible, "state", torch::kCPU);
    auto b = wm::EpisodeTensors(impossible, "state", torch::kCPU);
    const double s_possible = model->Surprise(a.observations, a.actions)[0][8].item<double>();
    const double s_impossible = model->Surprise(b.observations, b.actions)[0][8].item<double>();
    more_surprised += s_impossible > s_possible;
  }
  CHECK(more_surprised >= 19);
}

TEST_CASE("World models: pixel encoders, the decoder and masked context on 16x16 frames",
          "[worldmodel][models]") {
  torch::manual_seed(1);
  auto options = Tiny("generative", "pixels");
  auto generative = wm::MakeWorldModel(options);
  auto frames = torch::rand({3, 5, 3, 16, 16});
  CHECK(generative->Encode(frames).sizes() == torch::IntArrayRef({3, 5, 8}));
  auto decoded = generative->Decode(generative->Encode(frames));
  CHECK(decoded.sizes() == torch::IntArrayRef({3, 5, 3, 16, 16}));
  CHECK(decoded.min().item<float>() >= 0.0f);
  CHECK(decoded.max().item<float>() <= 1.0f);
  wm::ClipBatch batch{frames.narrow(1, 0, 4), torch::zeros({3, 3, 0}), {}};
  CHECK(std::isfinite(generative->Loss(batch).metrics.at("total")));
  CHECK(generative->Surprise(frames, torch::zeros({3, 4, 0})).sizes() ==
        torch::IntArrayRef({3, 5}));

  options.model = "jepa";
  options.mask_ratio = 0.5;
  auto jepa = wm::MakeWorldModel(options);
  CHECK_THROWS_AS(jepa->Decode(torch::zeros({1, 8})), sim::BadInput);
  jepa->train();
  jepa->Loss(batch).total.backward();
  // The mask token is learned only when frames are masked, and then it gets gradient.
  const auto* token = jepa->named_parameters().find("mask_token");
  REQUIRE(token != nullptr);
  CHECK(token->grad().defined());
  options.frame_size = 20;
  CHECK_THROWS_WITH(wm::MakeWorldModel(options), Catch::Contains("multiple of 16"));
}

TEST_CASE("World models: the stochastic predictor keeps both branches of a coin flip",
          "[worldmodel][models]") {
  // Every clip is identical up to frame 3, then the ball goes left or right.
  auto episodes = BallEpisodes(80, true, 5);
  wm::ClipDataset data(episodes, 2, 2, torch::kCPU);
  auto train = [&](const std::string& name) {
    torch::manual_seed(4);
    auto options = Tiny(name);
    options.ema = 0.9;
    auto model = wm::MakeWorldModel(options);
    model->SetNormalisation(data.ObsMean(), data.ObsStd());
    TrainSteps(*model, data, 400);
    model->eval();
    return model;
  };
  auto deterministic = train("jepa");
  auto stochastic = std::static_pointer_cast<wm::StochasticImpl>(train("stochastic"));
  // Clips starting at frame 1: context frames 1, 2; the branch shows at frame 3.
  double det_error = 0, best_of_k = 0;
  int left_right[2] = {0, 0};
  for (int k = 0; k < 40; ++k) {
    auto clip = wm::EpisodeTensors(episodes[k], "state", torch::kCPU);
    torch::NoGradGuard no_grad;
    auto target = stochastic->EncodeTarget(clip.observations).narrow(1, 3, 1);
    auto context = stochastic->Encode(clip.observations).narrow(1, 1, 2);
    auto samples = stochastic->SampleRollouts(context, clip.actions.narrow(1, 2, 1), 8);
    best_of_k += std::get<0>((samples - target.unsqueeze(0)).abs().mean({2, 3}).min(0)).item<double>();
    auto det_target = deterministic->EncodeTarget(clip.observations).narrow(1, 3, 1);
    auto det = deterministic->Rollout(deterministic->Encode(clip.observations).narrow(1, 1, 2),
                                      clip.actions.narrow(1, 2, 1));
    det_error += (det - det_target).abs().mean().item<double>();
    if (k == 0) {
      // The 8 samples of one context land near both outcomes: decode through the target
      // embeddings of a left and a right clip.
      for (int j = 0; j < 8; ++j) {
        double to_side[2];
        for (int side = 0; side < 2; ++side) {
          int other = side == 0 ? 0 : 1;
          while ((episodes[other].observations[2 * 4 + 1] > 0) != (side == 1)) other += 1;
          auto o = wm::EpisodeTensors(episodes[other], "state", torch::kCPU);
          auto t = stochastic->EncodeTarget(o.observations).narrow(1, 3, 1);
          to_side[side] = (samples[j] - t).abs().mean().item<double>();
        }
        left_right[to_side[1] < to_side[0]] += 1;
      }
    }
  }
  // Relative to each model's own target scale, best-of-K beats the mean predictor.
  INFO("best-of-K latent error " << best_of_k / 40 << ", deterministic " << det_error / 40
                                 << ", samples left/right " << left_right[0] << "/"
                                 << left_right[1]);
  CHECK(best_of_k < 0.6 * det_error);
  CHECK(left_right[0] >= 1);
  CHECK(left_right[1] >= 1);
}

TEST_CASE("World models: checkpoints carry their options, LoadWorldModel is strict",
          "[worldmodel][models]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("darkmatter_models_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "checkpoint.pt").string();
  torch::manual_seed(2);
  auto options = Tiny("generative", "pixels");
  auto model = wm::MakeWorldModel(options);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  wm::SaveCheckpoint(path, *model, optimizer, 7,
                     "{\"options\": " + wm::OptionsToJson(options) + ", \"labels\": []}");
  const auto loaded = wm::LoadWorldModel(dir.string(), torch::kCPU);
  CHECK(loaded.step == 7);
  CHECK(loaded.model->options().model == "generative");
  CHECK(loaded.model->options().input == "pixels");
  CHECK(wm::ParameterHash(*loaded.model) == wm::ParameterHash(*model));
  CHECK(!loaded.model->is_training());
  // Options that disagree with the tensors are refused by name.
  options.channels = 8;
  wm::SaveCheckpoint(path + ".bad", *model, optimizer, 7,
                     "{\"options\": " + wm::OptionsToJson(options) + "}");
  std::filesystem::rename(path + ".bad", path);
  CHECK_THROWS_WITH(wm::LoadWorldModel(path, torch::kCPU),
                    Catch::Contains("mis-shaped") && Catch::Contains("encoder.0.weight"));
  // A checkpoint without options (not written by train) is refused.
  wm::SaveCheckpoint(path, *model, optimizer, 7);
  CHECK_THROWS_WITH(wm::LoadWorldModel(path, torch::kCPU), Catch::Contains("no world-model"));
  std::filesystem::remove_all(dir);
}
