// darkmatter bench render: headless frames/s of the 10-primitive scene at 64x64 and 256x256,
// on one thread and on all threads (one GL context per thread).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/bench_util.h"
#include "apps/commands.h"
#include "apps/size_option.h"
#include "sim/error.h"
#include "sim/gl_context.h"
#include "sim/mujoco_model.h"
#include "sim/renderer.h"

namespace darkmatter::apps {
namespace {

struct BenchRenderOptions {
  std::string mjcf;                      // scene; default assets/bench/ten_primitives.xml
  std::string camera = "front";          // scene camera
  std::vector<std::string> sizes = {"64x64", "256x256"};
  double seconds = 1.0;
  int repeats = 2;
  bool json = false;
};

// Renders RGB frames on `threads` threads for about `seconds`; returns total frames/s.
double FramesPerSecond(const sim::ModelPtr& model, const sim::RenderOptions& options,
                       int threads, double seconds) {
  std::atomic<int64_t> frames{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  std::string backend;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      try {
        mjData* data = mj_makeData(model.get());
        mj_forward(model.get(), data);
        sim::Renderer renderer(model, options);
        std::vector<uint8_t> rgb(size_t{3} * options.width * options.height);
        renderer.Render(data, rgb.data(), nullptr, nullptr);  // warm-up: context creation
        int64_t local = 0;
        const auto begin = std::chrono::steady_clock::now();
        while (SecondsSince(begin) < seconds) {
          renderer.Render(data, rgb.data(), nullptr, nullptr);
          ++local;
        }
        frames += local;
        mj_deleteData(data);
      } catch (...) {
        failed = true;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  if (failed) throw std::runtime_error("rendering failed (no headless OpenGL?)");
  (void)start;
  return frames / seconds;
}

void RunBenchRender(const BenchRenderOptions& o) {
  const std::string path = o.mjcf.empty() ? sim::AssetPath("bench/ten_primitives.xml") : o.mjcf;
  if (!(o.seconds > 0)) throw sim::BadInput("--seconds must be > 0");
  if (o.repeats < 1) throw sim::BadInput("--repeats must be >= 1");
  const sim::ModelPtr model = sim::LoadModelFile(path);
  sim::FindCamera(model.get(), o.camera);
  const int all = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<int> thread_counts = {1};
  if (all > 1) thread_counts.push_back(all);
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& size : o.sizes) {
    const auto [width, height] = ParseSize(size, "--sizes");
    sim::RenderOptions options;
    options.width = width;
    options.height = height;
    options.camera.name = o.camera;
    for (int threads : thread_counts) {
      double best = 0.0;
      for (int r = 0; r < o.repeats; ++r) {
        best = std::max(best, FramesPerSecond(model, options, threads, o.seconds));
      }
      results.push_back(
          {{"width", width}, {"height", height}, {"threads", threads}, {"frames_per_s", best}});
    }
  }
  sim::MakeThreadGlContextCurrent();
  const nlohmann::json summary = {{"scene", path}, {"camera", o.camera},
                                  {"ngeom", model->ngeom}, {"gl", sim::ThreadGlBackend()},
                                  {"results", results}};
  if (o.json) {
    std::printf("%s\n", summary.dump(2).c_str());
    return;
  }
  std::printf("bench render %s (%d geoms, camera %s, %s, RGB only, shadows/reflections/skybox "
              "off, best of %d x %.1f s)\n",
              path.c_str(), model->ngeom, o.camera.c_str(), sim::ThreadGlBackend().c_str(),
              o.repeats, o.seconds);
  for (const auto& r : results) {
    std::printf("  %4dx%-4d threads %d: %9.0f frames/s\n", r["width"].get<int>(),
                r["height"].get<int>(), r["threads"].get<int>(), r["frames_per_s"].get<double>());
  }
}

}  // namespace

void AddBenchRenderCommand(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("render", "Headless rendering frames per second");
  auto o = std::make_shared<BenchRenderOptions>();
  cmd->add_option("--mjcf", o->mjcf, "Scene (default: assets/bench/ten_primitives.xml)");
  cmd->add_option("--camera", o->camera, "Scene camera")->capture_default_str();
  cmd->add_option("--sizes", o->sizes, "Frame sizes WxH")->capture_default_str();
  cmd->add_option("--seconds", o->seconds, "Seconds per measurement")->capture_default_str();
  cmd->add_option("--repeats", o->repeats, "Measurements; the best is reported")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { RunBenchRender(*o); });
}

}  // namespace darkmatter::apps
