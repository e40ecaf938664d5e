#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <thread>

#include "sim/error.h"
#include "sim/gl_context.h"
#include "sim/mujoco_env.h"
#include "sim/renderer.h"
#include "tests/mujoco_fixture.h"

namespace sim = darkmatter::sim;
using darkmatter::testing::NoMujocoWarnings;

namespace {

// A camera 2 m above a floor plane looking straight down at a red box and a blue sphere.
constexpr const char* kSceneXml = R"(
<mujoco model="render_test">
  <visual><map znear="0.01" zfar="50"/></visual>
  <worldbody>
    <light pos="0 0 5" dir="0 0 -1"/>
    <camera name="top" pos="0 0 2" xyaxes="1 0 0 0 1 0" fovy="60"/>
    <geom name="floor" type="plane" size="5 5 0.1" rgba="0.5 0.5 0.5 1"/>
    <body name="box" pos="-0.3 0 0.1">
      <freejoint/>
      <geom type="box" size="0.1 0.1 0.1" rgba="1 0 0 1"/>
    </body>
    <body name="ball" pos="0.3 0 0.1">
      <freejoint/>
      <geom type="sphere" size="0.1" rgba="0 0 1 1"/>
    </body>
  </worldbody>
</mujoco>)";

std::unique_ptr<sim::Env> MakeEnv(sim::EnvSettings settings = {}) {
  return sim::MakeMjcfEnv("render_test", sim::LoadModelString(kSceneXml, "render_test"),
                          settings);
}

sim::CameraSpec Top() {
  sim::CameraSpec camera;
  camera.name = "top";
  return camera;
}

}  // namespace

TEST_CASE_METHOD(NoMujocoWarnings, "Renderer: same state gives identical pixels",
                 "[sim][render]") {
  auto env = MakeEnv();
  env->Reset(3);
  sim::RenderOutput a, b;
  env->Render(Top(), 64, 48, &a, true, true);
  env->Render(Top(), 64, 48, &b, true, true);
  CHECK(a.rgb.size() == 64 * 48 * 3);
  CHECK(a.rgb == b.rgb);
  CHECK(a.depth == b.depth);
  CHECK(a.segmentation == b.segmentation);
  // A different state gives different pixels, and restoring the state restores them.
  const sim::EnvState state = env->GetState();
  for (int t = 0; t < 30; ++t) env->Step({});
  sim::RenderOutput moved;
  env->Render(Top(), 64, 48, &moved);
  env->SetState(state);
  sim::RenderOutput restored;
  env->Render(Top(), 64, 48, &restored);
  CHECK(restored.rgb == a.rgb);
}

TEST_CASE_METHOD(NoMujocoWarnings, "Renderer: depth is in metres", "[sim][render]") {
  auto env = MakeEnv({.reset_noise_scale = 0.0});
  env->Reset(0);
  sim::RenderOutput out;
  env->Render(Top(), 64, 64, &out, true, false);
  // Image corner: the floor, 2 m below the camera. Centre: between the objects, also floor.
  CHECK(out.depth[0] == Approx(2.0).margin(0.01));
  CHECK(out.depth[32 * 64 + 32] == Approx(2.0).margin(0.01));
  // The top face of the box (0.2 m high) is 1.8 m away; box centre is at x = -0.3 m, which
  // at 2 m with a 60 degree field of view is 0.3 / (2 tan 30deg) * 32 px left of centre.
  const int box_x = 32 - static_cast<int>(std::round(0.3 / (2 * std::tan(M_PI / 6)) * 32));
  CHECK(out.depth[32 * 64 + box_x] == Approx(1.8).margin(0.01));
}

TEST_CASE_METHOD(NoMujocoWarnings, "Renderer: segmentation ids are body ids", "[sim][render]") {
  auto env = MakeEnv({.reset_noise_scale = 0.0});
  env->Reset(0);
  sim::RenderOutput out;
  env->Render(Top(), 64, 64, &out, false, true);
  const auto* m = dynamic_cast<sim::MujocoEnv&>(*env).model();
  const int box = mj_name2id(m, mjOBJ_BODY, "box"), ball = mj_name2id(m, mjOBJ_BODY, "ball");
  const int box_x = 32 - static_cast<int>(std::round(0.3 / (2 * std::tan(M_PI / 6)) * 32));
  const int ball_x = 64 - box_x;
  CHECK(out.segmentation[32 * 64 + box_x] == box);
  CHECK(out.segmentation[32 * 64 + ball_x] == ball);
  CHECK(out.segmentation[0] == 0);  // floor belongs to the world body
  // Where the segmentation says "box", the RGB image is red.
  sim::RenderOutput rgb;
  env->Render(Top(), 64, 64, &rgb);
  const size_t p = 32 * 64 + box_x;
  CHECK(rgb.rgb[3 * p] > 2 * rgb.rgb[3 * p + 2]);
  const std::set<int32_t> ids(out.segmentation.begin(), out.segmentation.end());
  CHECK(ids == std::set<int32_t>{0, box, ball});
}

TEST_CASE_METHOD(NoMujocoWarnings, "Renderer: pixel observations", "[sim][render]") {
  auto env = MakeEnv({.observation = "pixels", .frame_width = 32, .frame_height = 24,
                      .camera = "top"});
  CHECK(env->ObservationSpec().Size() == 0);
  CHECK(env->PixelSpec().shape == std::vector<int64_t>{24, 32, 3});
  const sim::StepResult r = env->Reset(0);
  CHECK(r.observation.empty());
  REQUIRE(r.pixels.size() == 24 * 32 * 3);
  CHECK(*std::max_element(r.pixels.begin(), r.pixels.end()) > 0);
  sim::RenderOutput again;
  env->Render(Top(), 32, 24, &again);
  CHECK(std::equal(again.rgb.begin(), again.rgb.end(), r.pixels.begin()));
}

TEST_CASE("Renderer: bad camera, size and observation mode are clear errors",
          "[sim][render][errors]") {
  CHECK_THROWS_WITH(MakeEnv({.observation = "pixels", .camera = "nope"}),
                    Catch::Contains("'nope'") && Catch::Contains("top"));
  CHECK_THROWS_WITH(MakeEnv({.observation = "smell"}), Catch::Contains("'smell'"));
  auto env = MakeEnv();
  env->Reset(0);
  sim::RenderOutput out;
  sim::CameraSpec missing;
  missing.name = "nope";
  CHECK_THROWS_AS(env->Render(missing, 8, 8, &out), sim::BadInput);
  CHECK_THROWS_AS(env->Render(Top(), 0, 8, &out), sim::BadInput);
}

TEST_CASE_METHOD(NoMujocoWarnings, "Renderer: both headless EGL paths render the same image",
                 "[sim][render][gl]") {
  // Each thread creates its own context; DARKMATTER_GL picks the EGL display for new ones.
  auto render_on_new_thread = [](const char* backend) {
    setenv("DARKMATTER_GL", backend, 1);
    sim::RenderOutput out;
    std::string used;
    std::thread([&] {
      auto env = MakeEnv({.reset_noise_scale = 0.0});
      env->Reset(0);
      env->Render(Top(), 32, 32, &out);
      used = sim::ThreadGlBackend();
    }).join();
    unsetenv("DARKMATTER_GL");
    return std::make_pair(used, out.rgb);
  };
  const auto [surfaceless, a] = render_on_new_thread("surfaceless");
  const auto [device, b] = render_on_new_thread("device");
  CHECK(surfaceless == "egl-surfaceless");
  CHECK(device == "egl-device");
  CHECK(a == b);
  CHECK(*std::max_element(a.begin(), a.end()) > 0);
}
