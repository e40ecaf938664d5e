// The spatial pixel jepa: feature maps kept through a convolutional predictor, per-location
// VICReg or SIGReg, frame skip, strict options; on a one-ball pixel scene it beats "copy the last frame"
// within a few hundred steps and its features hold the ball's position better than those of
// the same network untrained (a random CNN).
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "sim/episode_file.h"
#include "sim/error.h"
#include "worldmodel/checkpoint.h"
#include "worldmodel/clips.h"
#include "worldmodel/jepa.h"
#include "worldmodel/trainer.h"
#include "worldmodel/world_model.h"

#undef CHECK
#include <catch2/catch.hpp>

namespace sim = darkmatter::sim;
namespace wm = darkmatter::worldmodel;

namespace {

constexpr int kSize = 32;  // frame side in pixels

// One white ball (radius 2.5 px) on a dark floor, moving at 1-2 px per frame and bouncing off
// the walls; truth "positions" = the ball's (x, y) in pixels. No actions.
std::vector<sim::Episode> BallFrames(int count, int frames, uint64_t seed0) {
  std::vector<sim::Episode> episodes;
  for (int k = 0; k < count; ++k) {
    const uint64_t seed = seed0 + k;
    sim::Episode e;
    e.task = "test/pixel_ball";
    e.seed = seed;
    e.obs_dim = 0;
    e.act_dim = 0;
    e.frame_height = e.frame_width = kSize;
    double x = 4 + (seed * 7919 % 24), y = 4 + (seed * 104729 % 24);
    double vx = ((seed * 31 % 5) - 2) * 0.8, vy = ((seed * 17 % 5) - 2) * 0.8;
    if (std::abs(vx) + std::abs(vy) < 1) vx = 1.6;
    for (int t = 0; t <= frames; ++t) {
      for (int py = 0; py < kSize; ++py) {
        for (int px = 0; px < kSize; ++px) {
          const double d = std::hypot(px + 0.5 - x, py + 0.5 - y);
          const double ball = std::clamp(3.0 - d, 0.0, 1.0);
          e.frames.push_back(static_cast<uint8_t>(40 + 200 * ball));
          e.frames.push_back(static_cast<uint8_t>(50 + 180 * ball));
          e.frames.push_back(static_cast<uint8_t>(60 + 100 * ball));
        }
      }
      e.truth.push_back(x);
      e.truth.push_back(y);
      x += vx;
      y += vy;
      if (x < 3 || x > kSize - 3) vx = -vx;
      if (y < 3 || y > kSize - 3) vy = -vy;
    }
    e.rewards.assign(frames, 0.0);
    e.terminations.assign(frames, 0);
    e.truncations.assign(frames, 0);
    e.truth_names = {"positions"};
    e.truth_shapes = {{2}};
    episodes.push_back(e);
  }
  return episodes;
}

wm::ModelOptions SpatialOptions() {
  wm::ModelOptions o;
  o.model = "jepa";
  o.input = "pixels";
  o.encoder = "spatial";
  o.frame_size = kSize;
  o.channels = 8;
  o.map = 8;
  o.map_channels = 8;
  o.latent_dim = 8 * 8 * 8;
  o.hidden = 32;
  o.context = 3;
  o.horizon = 2;
  o.ema = 0.95;
  return o;
}

// Held-out ratio (prediction / copy) of `model` on a fixed batch.
double HeldoutRatio(wm::WorldModelImpl& model, const wm::ClipBatch& batch) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto loss = model.Loss(batch);
  model.train();
  return loss.metrics.at("prediction") / loss.metrics.at("copy_baseline");
}

// Held-out R² of a ridge probe from the encoder's features to ball positions.
double ProbeR2(wm::WorldModelImpl& model, const std::vector<sim::Episode>& fit,
               const std::vector<sim::Episode>& held) {
  torch::NoGradGuard no_grad;
  auto features = [&](const std::vector<sim::Episode>& episodes, torch::Tensor* y) {
    std::vector<torch::Tensor> xs, ys;
    for (const auto& e : episodes) {
      const auto input = wm::EpisodeTensors(e, "pixels", torch::kCPU);
      xs.push_back(model.Encode(input.observations).squeeze(0).to(torch::kFloat64));
      ys.push_back(torch::tensor(e.truth, torch::kFloat64).view({-1, 2}));
    }
    *y = torch::cat(ys, 0);
    auto x = torch::cat(xs, 0);
    return torch::cat({x, torch::ones({x.size(0), 1}, x.options())}, 1);
  };
  torch::Tensor y_fit, y_held;
  const auto x_fit = features(fit, &y_fit), x_held = features(held, &y_held);
  const auto gram = x_fit.t().mm(x_fit) + 1.0 * torch::eye(x_fit.size(1), x_fit.options());
  const auto w = torch::linalg::solve(gram, x_fit.t().mm(y_fit), true);
  const auto residual = (x_held.mm(w) - y_held).pow(2).sum();
  const auto total = (y_held - y_held.mean(0)).pow(2).sum();
  return 1.0 - (residual / total).item<double>();
}

}  // namespace

TEST_CASE("Spatial jepa: latents are flattened maps, the predictor keeps the map",
          "[worldmodel][spatial]") {
  torch::manual_seed(3);
  const auto o = SpatialOptions();
  auto model = wm::MakeWorldModel(o);
  auto frames = torch::rand({2, 5, 3, kSize, kSize});
  const auto z = model->Encode(frames);
  CHECK(z.sizes() == torch::IntArrayRef({2, 5, o.latent_dim}));
  // The map is local: changing the top-left corner leaves the far corner's latents alone.
  auto changed = frames.clone();
  changed.narrow(3, 0, 4).narrow(4, 0, 4).fill_(1.0);
  const auto z2 = model->Encode(changed).view({2, 5, o.map_channels, o.map, o.map});
  const auto z1 = z.view({2, 5, o.map_channels, o.map, o.map});
  CHECK(torch::allclose(z1.select(3, 7).select(3, 7), z2.select(3, 7).select(3, 7)));
  CHECK(!torch::allclose(z1.select(3, 0).select(3, 0), z2.select(3, 0).select(3, 0)));
  CHECK(model->Surprise(frames, torch::zeros({2, 4, 0})).sizes() == torch::IntArrayRef({2, 5}));
  // FiLM: with actions, the prediction depends on them.
  auto acting = o;
  acting.act_dim = 2;
  auto film = wm::MakeWorldModel(acting);
  const auto context = film->Encode(frames).narrow(1, 0, 3);
  const auto a = film->Predict(context, torch::zeros({2, 2}));
  const auto b = film->Predict(context, torch::ones({2, 2}));
  CHECK(!torch::allclose(a, b));
}

TEST_CASE("Spatial jepa: strict options, the old layout refused by tensor name",
          "[worldmodel][spatial]") {
  auto o = SpatialOptions();
  o.encoder = "patches";
  CHECK_THROWS_WITH(wm::MakeWorldModel(o), Catch::Contains("model.encoder=patches"));
  o = SpatialOptions();
  o.map = 6;  // 32 / 6 is not a power of two
  CHECK_THROWS_WITH(wm::MakeWorldModel(o), Catch::Contains("model.map=6"));
  o = SpatialOptions();
  o.map = 32;  // no downsampling at all
  o.latent_dim = 32 * 32 * 8;
  CHECK_THROWS_WITH(wm::MakeWorldModel(o), Catch::Contains("model.map=32"));
  o = SpatialOptions();
  o.latent_dim = 100;
  CHECK_THROWS_WITH(wm::MakeWorldModel(o), Catch::Contains("model.latent_dim=100"));
  // Clips longer than any episode: the horizon (times skip) is named.
  const auto episodes = BallFrames(2, 8, 1);
  wm::DataOptions data;
  data.input = "pixels";
  data.skip = 3;
  CHECK_THROWS_WITH(wm::ClipDataset(episodes, 3, 2, torch::kCPU, data),
                    Catch::Contains("model.skip=3") && Catch::Contains("model.horizon"));
  // Options JSON from before the spatial encoder existed loads as the global layout.
  auto global = SpatialOptions();
  global.encoder = "global";
  global.latent_dim = 16;
  auto json = nlohmann::json::parse(wm::OptionsToJson(global));
  for (const char* key : {"encoder", "map", "map_channels", "skip"}) json.erase(key);
  CHECK(wm::OptionsFromJson(json.dump()).encoder == "global");
  // A checkpoint of the old (global) layout loaded as the new one: refused, naming a tensor.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("darkmatter_spatial_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "checkpoint.pt").string();
  auto old_model = wm::MakeWorldModel(global);
  torch::optim::Adam optimizer(old_model->parameters(), torch::optim::AdamOptions(1e-3));
  wm::SaveCheckpoint(path, *old_model, optimizer, 1,
                     "{\"options\": " + wm::OptionsToJson(SpatialOptions()) + "}");
  CHECK_THROWS_AS(wm::LoadWorldModel(path, torch::kCPU), sim::BadInput);
  CHECK_THROWS_WITH(wm::LoadWorldModel(path, torch::kCPU), Catch::Contains("encoder."));
  std::filesystem::remove_all(dir);
}

TEST_CASE("ClipDataset: frame skip strides clips and averages actions", "[worldmodel][spatial]") {
  auto episodes = BallFrames(1, 12, 5);
  episodes[0].act_dim = 1;
  for (int t = 0; t < 12; ++t) episodes[0].actions.push_back(t);
  wm::DataOptions data;
  data.input = "pixels";
  data.skip = 3;
  wm::ClipDataset clips(episodes, 2, 2, torch::kCPU, data);
  CHECK(clips.NumClips() == 13 - 9);  // a clip spans (4 - 1) * 3 + 1 = 10 frames
  const auto batch = clips.Gather({1});
  const auto all = wm::EpisodeTensors(episodes[0], "pixels", torch::kCPU);
  CHECK(torch::equal(batch.observations[0][2], all.observations[0][1 + 2 * 3]));
  CHECK(batch.actions[0][1][0].item<float>() == Approx((4 + 5 + 6) / 3.0));
}

TEST_CASE("Spatial jepa: on a one-ball pixel scene it beats copying, and probed positions "
          "beat a random CNN's",
          "[worldmodel][spatial]") {
  const auto train = BallFrames(48, 12, 100), held = BallFrames(12, 12, 900);
  wm::DataOptions data;
  data.input = "pixels";
  const auto o = SpatialOptions();
  wm::ClipDataset clips(train, o.context, o.horizon, torch::kCPU, data);
  wm::ClipDataset held_clips(held, o.context, o.horizon, torch::kCPU, data);
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < held_clips.NumClips(); i += 2) indices.push_back(i);
  const auto held_batch = held_clips.Gather(indices);

  torch::manual_seed(7);
  auto model = std::make_shared<wm::JepaImpl>(o);
  auto random_cnn = std::make_shared<wm::JepaImpl>(o);  // same network, untrained
  const double ratio_before = HeldoutRatio(*model, held_batch);
  std::vector<torch::Tensor> trainable;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(2e-3));
  model->train();
  for (int step = 0; step < 300; ++step) {
    auto loss = model->Loss(clips.Batch(1, step, 16));
    optimizer.zero_grad();
    loss.total.backward();
    optimizer.step();
    model->AfterOptimizerStep();
  }
  const double ratio = HeldoutRatio(*model, held_batch);
  const double r2 = ProbeR2(*model, train, held), r2_random = ProbeR2(*random_cnn, train, held);
  INFO("held-out prediction/copy: before " << ratio_before << ", after " << ratio);
  INFO("positions R²: trained " << r2 << ", random CNN " << r2_random);
  CHECK(ratio < 0.8);
  CHECK(r2 > r2_random);
}

TEST_CASE("Train (spatial, frame skip): the held-out copy gate is logged and warned about, "
          "--resume stays exact",
          "[worldmodel][spatial]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("darkmatter_spatial_train_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "balls.h5").string();
  {
    sim::EpisodeWriter writer(file, {.task = "test/pixel_ball"});
    for (auto e : BallFrames(10, 12, 40)) {
      e.rng_states.assign(13 * 4, 0);
      e.elapsed_steps.resize(13);
      for (int t = 0; t <= 12; ++t) e.elapsed_steps[t] = t;
      writer.Append(e);
    }
    writer.Commit();
  }
  auto request = [&](const std::string& out, int steps, bool resume) {
    wm::TrainRequest r;
    r.data = file;
    r.out = (dir / out).string();
    r.device = "cpu";
    r.resume = resume;
    auto& s = r.settings;
    s.steps = steps;
    s.batch_size = 8;
    s.input = "pixels";
    s.channels = 4;
    s.map_channels = 4;
    s.hidden = 16;
    s.context = 3;
    s.horizon = 2;
    s.skip = 2;
    s.ema = 0.9;
    s.checkpoint_every = 3;
    s.log_every = 2;
    s.seed = 5;
    return r;
  };
  const auto full = wm::Train(request("full", 6, false));
  REQUIRE(full.last.count("heldout_ratio"));
  CHECK(std::isfinite(full.heldout_ratio));
  CHECK(full.heldout_ratio == full.last.at("heldout_ratio"));
  // The warning is given exactly when the run ends at or above copying.
  CHECK(full.warnings.empty() == (full.heldout_ratio < 1.0));
  std::ifstream run_file(dir / "full" / "run.json");
  const auto run = nlohmann::json::parse(run_file);
  CHECK(run["copy_gate"]["beats_copy"].get<bool>() == (full.heldout_ratio < 1.0));
  wm::Train(request("split", 3, false));
  const auto resumed = wm::Train(request("split", 6, true));
  CHECK(resumed.start_step == 3);
  CHECK(resumed.parameter_hash == full.parameter_hash);
  CHECK(resumed.last == full.last);
  // A map that does not divide the frame is refused before anything is written.
  auto bad = request("bad", 2, false);
  bad.settings.map = 5;
  CHECK_THROWS_WITH(wm::Train(bad), Catch::Contains("model.map=5"));
  CHECK(!std::filesystem::exists(dir / "bad"));
  // SIGReg's random directions come from (seed, step) held in a buffer: --resume stays exact.
  auto sig = [&](const std::string& out, int steps, bool resume) {
    auto r = request(out, steps, resume);
    r.settings.reg = "sigreg";
    r.settings.sigreg_projections = 8;
    return r;
  };
  const auto sig_full = wm::Train(sig("sig_full", 6, false));
  CHECK(sig_full.last.count("sigreg"));
  CHECK(sig_full.parameter_hash != full.parameter_hash);
  wm::Train(sig("sig_split", 3, false));
  const auto sig_resumed = wm::Train(sig("sig_split", 6, true));
  CHECK(sig_resumed.parameter_hash == sig_full.parameter_hash);
  CHECK(sig_resumed.last == sig_full.last);
  std::filesystem::remove_all(dir);
}

TEST_CASE("SIGReg: ~1 for standard normal samples, large for collapsed ones, strict options",
          "[worldmodel][spatial][sigreg]") {
  torch::manual_seed(11);
  const auto directions = wm::SigRegDirections(8, 32, 123, torch::TensorOptions());
  CHECK(torch::allclose(directions.norm(2, {0}), torch::ones({32}), 1e-5, 1e-5));
  // Same seed, same directions (the --resume guarantee); another seed, others.
  CHECK(torch::equal(directions, wm::SigRegDirections(8, 32, 123, torch::TensorOptions())));
  CHECK(!torch::equal(directions, wm::SigRegDirections(8, 32, 124, torch::TensorOptions())));
  const auto normal = torch::randn({4, 256, 8});  // 4 locations x 256 samples x 8 channels
  const double gaussian = wm::SigRegTerm(normal, directions).item<double>();
  const double collapsed = wm::SigRegTerm(0.01 * normal, directions).item<double>();
  const double shifted = wm::SigRegTerm(normal + 2.0, directions).item<double>();
  const double stretched = wm::SigRegTerm(3.0 * normal, directions).item<double>();
  INFO("gaussian " << gaussian << ", collapsed " << collapsed << ", shifted " << shifted
                   << ", stretched " << stretched);
  CHECK(gaussian < 2.0);  // E[statistic] ~ 1.06 under the null, whatever N
  CHECK(collapsed > 50 * gaussian);
  CHECK(shifted > 20 * gaussian);
  CHECK(stretched > 20 * gaussian);

  // Training settings: bad values exit naming key and value; the option survives JSON.
  wm::TrainSettings s;
  s.reg = "barlow";
  CHECK_THROWS_WITH(wm::ValidateTrainSettings(s), Catch::Contains("model.reg=barlow"));
  s.reg = "sigreg";
  s.sigreg_projections = 0;
  CHECK_THROWS_WITH(wm::ValidateTrainSettings(s), Catch::Contains("model.sigreg_projections=0"));
  s.sigreg_projections = 16;
  s.sigreg_weight = -1;
  CHECK_THROWS_WITH(wm::ValidateTrainSettings(s), Catch::Contains("model.sigreg_weight=-1"));
  auto o = SpatialOptions();
  o.reg = "sigreg";
  o.sigreg_weight = 0.5;
  o.sigreg_projections = 16;
  const auto back = wm::OptionsFromJson(wm::OptionsToJson(o));
  CHECK(back.reg == "sigreg");
  CHECK(back.sigreg_weight == 0.5);
  CHECK(back.sigreg_projections == 16);
}

TEST_CASE("Spatial jepa with SIGReg: on the one-ball pixel scene it beats copying",
          "[worldmodel][spatial][sigreg]") {
  const auto train = BallFrames(48, 12, 100), held = BallFrames(12, 12, 900);
  wm::DataOptions data;
  data.input = "pixels";
  auto o = SpatialOptions();
  o.reg = "sigreg";
  o.sigreg_weight = 1.0;
  o.sigreg_projections = 8;  // keeps the test in seconds
  o.ema = 0.0;  // SIGReg needs no EMA target (LeWorldModel); the target is the stop-gradient encoder
  wm::ClipDataset clips(train, o.context, o.horizon, torch::kCPU, data);
  wm::ClipDataset held_clips(held, o.context, o.horizon, torch::kCPU, data);
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < held_clips.NumClips(); i += 2) indices.push_back(i);
  const auto held_batch = held_clips.Gather(indices);
  torch::manual_seed(7);
  auto model = std::make_shared<wm::JepaImpl>(o);
  std::vector<torch::Tensor> trainable;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(2e-3));
  model->train();
  double first_sigreg = 0, last_sigreg = 0;
  for (int step = 0; step < 300; ++step) {
    auto loss = model->Loss(clips.Batch(1, step, 16));
    if (step == 0) first_sigreg = loss.metrics.at("sigreg");
    last_sigreg = loss.metrics.at("sigreg");
    optimizer.zero_grad();
    loss.total.backward();
    optimizer.step();
    model->AfterOptimizerStep();
  }
  const double ratio = HeldoutRatio(*model, held_batch);
  INFO("held-out prediction/copy " << ratio << "; sigreg " << first_sigreg << " -> " << last_sigreg);
  CHECK(last_sigreg < first_sigreg);
  CHECK(ratio < 0.8);
}
