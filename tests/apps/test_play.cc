// darkmatter play: the canvas and its font, the pane layout arithmetic, and the headless
// video path end to end (ffprobe-checked H.264, frame counts, sizes, bad inputs, cleanup).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/canvas.h"
#include "apps/pane_layout.h"
#include "sim/episode_file.h"
#include "sim/error.h"
#include "tests/apps/cli_runner.h"

namespace fs = std::filesystem;
using darkmatter::apps::Canvas;
using darkmatter::apps::ChartContent;
using darkmatter::apps::PaneContent;
using darkmatter::apps::PaneLayout;
using darkmatter::apps::Rect;
using darkmatter::apps::Rgb;

namespace darkmatter::testing {
namespace {

// Counts pixels of `canvas` inside / outside `box` that are not `background`.
std::pair<int, int> CountInk(const Canvas& canvas, const Rect& box, Rgb background) {
  int inside = 0, outside = 0;
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) {
      if (canvas.At(x, y) == background) continue;
      const bool in = x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height;
      (in ? inside : outside) += 1;
    }
  }
  return {inside, outside};
}

struct Probe {
  std::string codec;
  int width = 0, height = 0;
  int64_t frames = 0;
};

// ffprobe's view of the first video stream of `path`.
Probe FfProbe(const std::string& path) {
  const Run run = Shell("ffprobe -v error -select_streams v:0 -count_frames -show_entries "
                        "stream=codec_name,width,height,nb_read_frames -of json '" + path + "'");
  REQUIRE(run.code == 0);
  const nlohmann::json json = nlohmann::json::parse(run.output);
  REQUIRE(json["streams"].size() == 1);
  const nlohmann::json& s = json["streams"][0];
  return {s["codec_name"].get<std::string>(), s["width"].get<int>(), s["height"].get<int>(),
          std::stoll(s["nb_read_frames"].get<std::string>())};
}

// Frame `index` of a video as (H x W x 3) RGB, decoded by ffmpeg.
std::vector<uint8_t> DecodeFrame(const std::string& path, int index, int width, int height) {
  const std::string command = "ffmpeg -v error -i '" + path + "' -vf 'select=eq(n\\," +
                              std::to_string(index) + ")' -vframes 1 -f rawvideo -pix_fmt rgb24 -";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  const size_t n = fread(rgb.data(), 1, rgb.size(), pipe);
  pclose(pipe);
  REQUIRE(n == rgb.size());
  return rgb;
}

// Episode lengths T of every episode in `path`.
std::vector<int64_t> Lengths(const std::string& path) {
  darkmatter::sim::EpisodeReader reader(path);
  std::vector<int64_t> lengths;
  for (int64_t k = 0; k < reader.NumEpisodes(); ++k) lengths.push_back(reader.Read(k).Length());
  return lengths;
}

}  // namespace

TEST_CASE("play: canvas text draws glyph pixels inside the text box only", "[play][canvas]") {
  const Rgb background{10, 20, 30}, red{255, 0, 0};
  Canvas canvas(120, 40, background);
  const int width = canvas.DrawText(7, 5, "Hi!", red, 2);
  CHECK(width == Canvas::TextWidth("Hi!", 2));
  CHECK(width == (3 * 6 - 1) * 2);
  const auto [inside, outside] =
      CountInk(canvas, {7, 5, width, Canvas::TextHeight(2)}, background);
  CHECK(inside > 40);
  CHECK(outside == 0);
  // 'H' is 10001 on its top row: first column inked, second not (2x2 blocks at scale 2).
  CHECK(canvas.At(7, 5) == red);
  CHECK(canvas.At(8, 6) == red);
  CHECK(canvas.At(9, 5) == background);
  CHECK(canvas.At(7 + 8, 5) == red);

  // Descenders use the eighth row; unknown bytes draw as '?'.
  Canvas p(10, 10, background);
  p.DrawText(0, 0, "p", red);
  int row7 = 0;
  for (int x = 0; x < 5; ++x) row7 += p.At(x, 7) == red;
  CHECK(row7 > 0);
  Canvas a(10, 10, background), b(10, 10, background);
  a.DrawText(0, 0, "\x01", red);
  b.DrawText(0, 0, "?", red);
  CHECK(a.pixels() == b.pixels());
  // Clipped drawing never writes outside the canvas (and does not crash).
  Canvas small(4, 4, background);
  small.DrawText(-3, -3, "WWW", red, 3);
  small.DrawLine(-10, -10, 10, 10, red);
  CHECK(small.At(2, 2) == red);
}

TEST_CASE("play: canvas rectangles, lines and blits", "[play][canvas]") {
  const Rgb black{}, white{255, 255, 255};
  Canvas canvas(8, 6, black);
  canvas.FillRect({6, 4, 10, 10}, white);  // clipped to 2x2
  CHECK(CountInk(canvas, {6, 4, 2, 2}, black) == std::pair{4, 0});
  canvas.Fill(black);
  canvas.DrawLine(0, 5, 5, 0, white);
  for (int i = 0; i <= 5; ++i) CHECK(canvas.At(i, 5 - i) == white);
  CHECK(CountInk(canvas, {0, 0, 8, 6}, black).first == 6);
  const std::vector<uint8_t> image = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // 2x2
  canvas.Blit(image.data(), 2, 2, 7, 5);  // only the top-left pixel lands
  CHECK(canvas.At(7, 5) == Rgb{1, 2, 3});
}

TEST_CASE("play: pane layout size arithmetic", "[play][layout]") {
  // One 320x240 pane: text scale 2, lines of 22 px, a caption bar of 2 lines, a status line
  // and a chart of max(3 lines, 240 / 3) = 80 px.
  const PaneLayout one({.pane_width = 320, .pane_height = 240, .num_panes = 1});
  CHECK(one.text_scale() == 2);
  CHECK(one.width() == 320);
  CHECK(one.height() == 44 + 240 + 22 + 80);
  CHECK(one.CaptionRect(0) == Rect{0, 0, 320, 44});
  CHECK(one.PaneRect(0) == Rect{0, 44, 320, 240});
  CHECK(one.StatusRect() == Rect{0, 284, 320, 22});
  CHECK(one.ChartRect() == Rect{0, 306, 320, 80});

  // Three 160x120 panes: 2 columns x 2 rows, scale 1 (11 px lines), chart max(33, 40).
  const PaneLayout three({.pane_width = 160, .pane_height = 120, .num_panes = 3});
  CHECK(three.columns() == 2);
  CHECK(three.rows() == 2);
  CHECK(three.width() == 320);
  CHECK(three.height() == 2 * (22 + 120) + 11 + 40 + 1);  // 335 rounded up to even
  CHECK(three.PaneRect(1) == Rect{160, 22, 160, 120});
  CHECK(three.PaneRect(2) == Rect{0, 142 + 22, 160, 120});

  // Odd totals are rounded up to even sizes (H.264 yuv420p): 65 -> 66, 49+22+11+33 -> 116.
  const PaneLayout odd({.pane_width = 65, .pane_height = 49, .num_panes = 1});
  CHECK(odd.width() == 66);
  CHECK(odd.height() == 116);
  CHECK(PaneLayout({.num_panes = 2}).columns() == 2);
  CHECK(PaneLayout({.num_panes = 5}).columns() == 3);
  CHECK_THROWS_AS(PaneLayout({.pane_width = 0}), darkmatter::sim::BadInput);
  CHECK_THROWS_AS(PaneLayout({.num_panes = 0}), darkmatter::sim::BadInput);

  // FitLayout fills a window without exceeding it.
  const PaneLayout fit = darkmatter::apps::FitLayout(1000, 700, 2);
  CHECK(fit.width() <= 1000);
  CHECK(fit.height() <= 700);
  CHECK(fit.width() >= 998);
  CHECK(fit.height() >= 690);
}

TEST_CASE("play: compose puts images, captions and curves in their rectangles",
          "[play][layout]") {
  const PaneLayout layout({.pane_width = 40, .pane_height = 30, .num_panes = 2});
  std::vector<uint8_t> green(40 * 30 * 3);
  for (size_t i = 0; i < green.size(); i += 3) green[i + 1] = 200;
  const Rgb orange{255, 160, 40}, cyan{80, 200, 255};
  const std::vector<PaneContent> panes = {{"ep 0", "r 1", green.data(), orange},
                                          {"ep 1", "r 0", nullptr, cyan}};
  ChartContent chart;
  chart.title = "reward";
  chart.cursor = 2;
  chart.series = {{"ep 0", {NAN, 1, 2, 3, 2}, orange, 2}, {"ep 1", {NAN, 0, 0, 1}, cyan, 2}};
  Canvas canvas(1, 1);
  layout.Compose(panes, "step 2/4", chart, &canvas);
  REQUIRE(canvas.width() == layout.width());
  REQUIRE(canvas.height() == layout.height());
  const Rect pane0 = layout.PaneRect(0), pane1 = layout.PaneRect(1);
  CHECK(canvas.At(pane0.x + 20, pane0.y + 15) == Rgb{0, 200, 0});
  CHECK(canvas.At(pane1.x + 20, pane1.y + 15) == Rgb{0, 0, 0});  // null image stays black
  const auto count = [&](const Rect& r, Rgb color) {
    int n = 0;
    for (int y = r.y; y < r.y + r.height; ++y) {
      for (int x = r.x; x < r.x + r.width; ++x) n += canvas.At(x, y) == color;
    }
    return n;
  };
  CHECK(count(layout.CaptionRect(0), orange) > 10);
  CHECK(count(layout.CaptionRect(1), cyan) > 10);
  CHECK(count(layout.ChartRect(), orange) > 20);  // curve and legend
  CHECK(count(layout.ChartRect(), cyan) > 20);
  CHECK(count(pane0, orange) == 0);
}

TEST_CASE("play --video writes an H.264 MP4 with one frame per state", "[play][video]") {
  Scratch s;
  REQUIRE(Darkmatter("rollout " + kPendulum + " --episodes 3 --seed 0 --out " + s / "eps.h5")
              .code == 0);
  const std::vector<int64_t> lengths = Lengths(s / "eps.h5");
  REQUIRE(lengths.size() == 3);

  const Run one = Darkmatter("play " + s / "eps.h5" + " --episode 1 --video " + s / "one.mp4");
  REQUIRE(one.code == 0);
  const Probe probe = FfProbe(s / "one.mp4");
  CHECK(probe.codec == "h264");
  CHECK(probe.frames == lengths[1] + 1);
  CHECK(probe.width == 320);
  CHECK(probe.height == 386);  // 240 pane + 2 caption lines + status + 80 px chart
  CHECK(s.Files() == std::set<std::string>{"eps.h5", "one.mp4"});

  // The decoded frame shows a scene (many colours) and an orange caption above it.
  const std::vector<uint8_t> rgb = DecodeFrame(s / "one.mp4", 0, probe.width, probe.height);
  std::set<uint32_t> scene_colours;
  int caption_orange = 0;
  for (int y = 0; y < probe.height; ++y) {
    for (int x = 0; x < probe.width; ++x) {
      const uint8_t* p = &rgb[(static_cast<size_t>(y) * probe.width + x) * 3];
      if (y >= 44 && y < 284) scene_colours.insert(p[0] << 16 | p[1] << 8 | p[2]);
      if (y < 22 && p[0] > 200 && p[1] > 110 && p[1] < 210 && p[2] < 110) ++caption_orange;
    }
  }
  CHECK(scene_colours.size() > 20);
  CHECK(caption_orange > 30);

  // --grid 3: a 2x2 grid of 160x120 panes; shorter episodes hold their last frame.
  REQUIRE(*std::min_element(lengths.begin(), lengths.end()) !=
          *std::max_element(lengths.begin(), lengths.end()));
  const Run grid = Darkmatter("play " + s / "eps.h5" + " --grid 3 --size 160x120 --fps 12 " +
                              "--chart diverged --video " + s / "grid.mp4");
  REQUIRE(grid.code == 0);
  const Probe g = FfProbe(s / "grid.mp4");
  const PaneLayout layout({.pane_width = 160, .pane_height = 120, .num_panes = 3});
  CHECK(g.codec == "h264");
  CHECK(g.frames == *std::max_element(lengths.begin(), lengths.end()) + 1);
  CHECK(g.width == layout.width());
  CHECK(g.height == layout.height());
  CHECK(g.width == 320);
  CHECK(g.height == 2 * (22 + 120) + 11 + 40 + 1);  // 335 rounded up to even
  CHECK(s.Files() == std::set<std::string>{"eps.h5", "one.mp4", "grid.mp4"});
}

TEST_CASE("play --camera renders from a scene camera", "[play][video]") {
  Scratch s;
  REQUIRE(Darkmatter("rollout --mjcf /usr/share/mujoco/model/humanoid/humanoid.xml "
                     "--max-steps 10 --out " + s / "h.h5").code == 0);
  const std::string common = "play " + s / "h.h5" + " --size 64x48";
  REQUIRE(Darkmatter(common + " --video " + s / "free.mp4").code == 0);
  REQUIRE(Darkmatter(common + " --camera side --video " + s / "side.mp4").code == 0);
  const Probe probe = FfProbe(s / "side.mp4");
  CHECK(probe.frames == 11);
  const PaneLayout layout({.pane_width = 64, .pane_height = 48, .num_panes = 1});
  REQUIRE(probe.width == layout.width());
  REQUIRE(probe.height == layout.height());
  const auto free = DecodeFrame(s / "free.mp4", 0, probe.width, probe.height);
  const auto side = DecodeFrame(s / "side.mp4", 0, probe.width, probe.height);
  // Same captions, different view: the pane pixels differ substantially (mean absolute
  // difference summed over R, G, B; ~60 here, ~0 for two renders from the same camera).
  const Rect pane = layout.PaneRect(0);
  double difference = 0;
  for (int y = pane.y; y < pane.y + pane.height; ++y) {
    for (int x = pane.x; x < pane.x + pane.width; ++x) {
      const size_t i = (static_cast<size_t>(y) * probe.width + x) * 3;
      for (int c = 0; c < 3; ++c) difference += std::abs(free[i + c] - side[i + c]);
    }
  }
  CHECK(difference / (pane.width * pane.height) > 20);
}

TEST_CASE("play: bad inputs exit 2, name the value, and leave no video or temp file",
          "[play][errors]") {
  Scratch s;
  REQUIRE(Darkmatter("rollout " + kPendulum + " --episodes 2 --out " + s / "eps.h5").code == 0);
  const std::string file = s / "eps.h5", out = " --video " + s / "out.mp4";
  struct Case {
    std::string args, needle;
  };
  const std::vector<Case> cases = {
      {s / "missing.h5" + out, "missing.h5"},
      {file + " --episode 7" + out, "--episode 7"},
      {file + " --episode 1 --grid 2" + out, "--grid 2"},
      {file + " --camera nocam" + out, "nocam"},
      {file + " --video " + s / "no/such/dir/out.mp4", "no/such/dir"},
      {file + " --size 0x5" + out, "0x5"},
      {file + " --size big" + out, "big"},
      {file + " --fps 0" + out, "--fps 0"},
      {file + " --grid 0" + out, "--grid 0"},
      {file + " --chart nokey" + out, "nokey"},
  };
  for (const Case& c : cases) {
    INFO("play " << c.args);
    const Run run = Darkmatter("play " + c.args);
    CHECK(run.code == 2);
    CHECK_THAT(run.output, Catch::Contains(c.needle));
    CHECK(s.Files() == std::set<std::string>{"eps.h5"});
  }
  // A failed play leaves an existing video untouched.
  std::ofstream(s / "out.mp4") << "old";
  CHECK(Darkmatter("play " + file + " --camera nocam" + out).code == 2);
  std::stringstream old;
  old << std::ifstream(s / "out.mp4").rdbuf();
  CHECK(old.str() == "old");
  // Without a display the viewer refuses politely.
  const Run no_display =
      Shell("env -u DISPLAY -u WAYLAND_DISPLAY " + std::string(DARKMATTER_BIN) + " play " + file);
  CHECK(no_display.code == 2);
  CHECK_THAT(no_display.output, Catch::Contains("no display; use --video OUT.mp4"));
}

TEST_CASE("play: a failing ffmpeg leaves no partial video behind", "[play][video][errors]") {
  Scratch s;
  REQUIRE(Darkmatter("rollout " + kPendulum + " --episodes 1 --out " + s / "eps.h5").code == 0);
  // A stand-in ffmpeg that writes a partial file to its output argument, then fails.
  fs::create_directories(s / "bin");
  std::ofstream(s / "bin/ffmpeg") << "#!/bin/sh\nfor last; do :; done\n"
                                     "echo partial > \"$last\"\nexit 1\n";
  fs::permissions(s / "bin/ffmpeg", fs::perms::owner_all);
  const Run run = Shell("PATH=" + s / "bin" + ":$PATH " + DARKMATTER_BIN + " play " +
                        s / "eps.h5" + " --video " + s / "out.mp4");
  CHECK(run.code == 1);
  CHECK_THAT(run.output, Catch::Contains("no video written"));
  CHECK(s.Files() == std::set<std::string>{"eps.h5", "bin"});
}

}  // namespace darkmatter::testing
