#include "apps/viewer.h"

#include <GLFW/glfw3.h>
#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/canvas.h"
#include "apps/pane_layout.h"
#include "sim/error.h"
#include "sim/renderer.h"

namespace darkmatter::apps {
namespace {

std::string glfw_error;  // last GLFW error description

void OnGlfwError(int code, const char* description) { glfw_error = description; }

// Everything the callbacks and the frame loop share.
struct Viewer {
  EpisodeGroup* group = nullptr;
  GLFWwindow* window = nullptr;
  const mjModel* model = nullptr;  // model of pane 0; the panes share one scene
  mjvCamera camera;
  mjvOption option;
  mjvScene scene;
  mjrContext context;
  bool playing = true;
  double speed = 1.0;     // playback speed relative to real time
  double position = 0.0;  // current frame, fractional while playing
  bool left = false, right = false, middle = false;
  double last_x = 0, last_y = 0;
  Canvas canvas{0, 0};
  std::vector<uint8_t> flipped;  // canvas rows bottom-up for mjr_drawPixels
  std::exception_ptr error;      // thrown in a callback, rethrown by the frame loop

  void Step(int delta) {
    playing = false;
    position = std::clamp(std::floor(position) + delta, 0.0,
                          static_cast<double>(group->NumFrames() - 1));
  }
  void ShowEpisodes(int64_t first) {
    group->ShowFrom(first);
    position = 0.0;
  }
};

Viewer& From(GLFWwindow* window) { return *static_cast<Viewer*>(glfwGetWindowUserPointer(window)); }

void HandleKey(GLFWwindow* window, int key, int action) {
  if (action == GLFW_RELEASE) return;
  Viewer& v = From(window);
  const int64_t page = v.group->size();
  switch (key) {
    case GLFW_KEY_SPACE: v.playing = !v.playing; break;
    case GLFW_KEY_RIGHT: v.Step(+1); break;
    case GLFW_KEY_LEFT: v.Step(-1); break;
    case GLFW_KEY_UP: case GLFW_KEY_EQUAL: case GLFW_KEY_KP_ADD:
      v.speed = std::min(v.speed * 2, 64.0);
      break;
    case GLFW_KEY_DOWN: case GLFW_KEY_MINUS: case GLFW_KEY_KP_SUBTRACT:
      v.speed = std::max(v.speed / 2, 1.0 / 64);
      break;
    case GLFW_KEY_PAGE_DOWN: case GLFW_KEY_N: v.ShowEpisodes(v.group->first() + page); break;
    case GLFW_KEY_PAGE_UP: case GLFW_KEY_P: v.ShowEpisodes(v.group->first() - page); break;
    case GLFW_KEY_HOME: v.position = 0; break;
    case GLFW_KEY_END: v.position = static_cast<double>(v.group->NumFrames() - 1); break;
    case GLFW_KEY_ESCAPE: case GLFW_KEY_Q: glfwSetWindowShouldClose(window, GLFW_TRUE); break;
    default: break;
  }
}

// Exceptions must not cross GLFW's C frames: keep the first one for the frame loop.
void OnKey(GLFWwindow* window, int key, int scancode, int action, int mods) {
  try {
    HandleKey(window, key, action);
  } catch (...) {
    Viewer& v = From(window);
    if (!v.error) v.error = std::current_exception();
    glfwSetWindowShouldClose(window, GLFW_TRUE);
  }
}

void OnMouseButton(GLFWwindow* window, int button, int action, int mods) {
  Viewer& v = From(window);
  v.left = glfwGetMouseButton(window, GLFW_MOUSE_BUTTON_LEFT) == GLFW_PRESS;
  v.right = glfwGetMouseButton(window, GLFW_MOUSE_BUTTON_RIGHT) == GLFW_PRESS;
  v.middle = glfwGetMouseButton(window, GLFW_MOUSE_BUTTON_MIDDLE) == GLFW_PRESS;
  glfwGetCursorPos(window, &v.last_x, &v.last_y);
}

// Moving a fixed scene camera switches to a free camera at MuJoCo's default framing.
void MoveCamera(Viewer& v, int action, double dx, double dy) {
  if (v.camera.type != mjCAMERA_FREE) mjv_defaultFreeCamera(v.model, &v.camera);
  mjv_moveCamera(v.model, action, dx, dy, &v.scene, &v.camera);
}

void OnCursor(GLFWwindow* window, double x, double y) {
  Viewer& v = From(window);
  const double dx = x - v.last_x, dy = y - v.last_y;
  v.last_x = x;
  v.last_y = y;
  if (!v.left && !v.right && !v.middle) return;
  int width = 1, height = 1;
  glfwGetWindowSize(window, &width, &height);
  const bool shift = glfwGetKey(window, GLFW_KEY_LEFT_SHIFT) == GLFW_PRESS ||
                     glfwGetKey(window, GLFW_KEY_RIGHT_SHIFT) == GLFW_PRESS;
  const int action = v.right    ? mjMOUSE_ZOOM
                     : v.left   ? (shift ? mjMOUSE_ROTATE_H : mjMOUSE_ROTATE_V)
                                : (shift ? mjMOUSE_MOVE_H : mjMOUSE_MOVE_V);
  MoveCamera(v, action, dx / std::max(height, 1), dy / std::max(height, 1));
}

void OnScroll(GLFWwindow* window, double xoffset, double yoffset) {
  MoveCamera(From(window), mjMOUSE_ZOOM, 0, -0.05 * yoffset);
}

std::string SpeedText(double speed) {
  char text[32];
  std::snprintf(text, sizeof text, speed >= 1 ? "%.0fx" : "1/%.0fx", speed >= 1 ? speed : 1 / speed);
  return text;
}

// Draws one frame: the composed canvas, then each pane natively, then the heads-up text.
void DrawFrame(Viewer& v) {
  int width = 0, height = 0;
  glfwGetFramebufferSize(v.window, &width, &height);
  if (width < 1 || height < 1) return;  // minimised
  const mjrRect window_rect{0, 0, width, height};
  mjr_setBuffer(mjFB_WINDOW, &v.context);
  mjr_rectangle(window_rect, 0, 0, 0, 1);
  const PaneLayout layout = FitLayout(width, height, v.group->size());
  std::vector<PaneContent> panes;
  ChartContent chart;
  v.group->Describe(&panes, &chart);
  const std::string status = v.group->Status() + "  " + (v.playing ? "playing" : "paused") +
                             "  speed " + SpeedText(v.speed) + "   space  arrows  n/p  drag";
  layout.Compose(panes, status, chart, &v.canvas);
  // mjr_drawPixels wants bottom-up rows; the canvas sits at the window's top-left.
  const int cw = std::min(v.canvas.width(), width), ch = std::min(v.canvas.height(), height);
  v.flipped.resize(static_cast<size_t>(cw) * ch * 3);
  for (int y = 0; y < ch; ++y) {
    std::copy_n(&v.canvas.pixels()[static_cast<size_t>(ch - 1 - y) * v.canvas.width() * 3],
                static_cast<size_t>(cw) * 3, &v.flipped[static_cast<size_t>(y) * cw * 3]);
  }
  mjr_drawPixels(v.flipped.data(), nullptr, {0, height - ch, cw, ch}, &v.context);
  for (int i = 0; i < v.group->size(); ++i) {
    EpisodePlayer& player = v.group->player(i);
    const Rect pane = layout.PaneRect(i);
    const mjrRect viewport{pane.x, height - pane.y - pane.height, pane.width, pane.height};
    mjv_updateScene(player.mujoco()->model(), const_cast<mjData*>(player.mujoco()->data()),
                    &v.option, nullptr, &v.camera, mjCAT_ALL, &v.scene);
    mjr_render(viewport, &v.scene, &v.context);
    // Heads-up lines: step, time, reward and the episode's info flags at this frame.
    std::string titles = "step\ntime", values = std::to_string(player.frame()) + "/" +
                                                std::to_string(player.NumFrames() - 1) + "\n";
    char time[32];
    std::snprintf(time, sizeof time, "%.2f s", player.Time());
    values += time;
    const std::vector<std::string>& keys = player.episode().info_keys;
    const int64_t step = player.frame() - 1;
    titles += "\nreward";
    values += "\n" + (step < 0 ? std::string("-") : FormatNumber(player.episode().rewards[step]));
    for (size_t k = 0; k < keys.size(); ++k) {
      titles += "\n" + keys[k];
      values += "\n" + (step < 0 ? std::string("-")
                                 : FormatNumber(player.episode().infos[step * keys.size() + k]));
    }
    mjr_overlay(mjFONT_NORMAL, mjGRID_TOPLEFT, viewport, titles.c_str(), values.c_str(),
                &v.context);
  }
}

}  // namespace

void RunViewer(EpisodeGroup& group, const ViewerOptions& options) {
  Viewer v;
  v.group = &group;
  for (int i = 0; i < group.size(); ++i) {
    if (!group.player(i).mujoco()) {
      throw sim::BadInput("the viewer shows MuJoCo scenes only; use --video OUT.mp4 for " +
                          group.player(i).env().Name());
    }
  }
  v.model = group.player(0).mujoco()->model();
  const int camera_id = sim::FindCamera(v.model, options.camera);  // BadInput when unknown
  glfwSetErrorCallback(OnGlfwError);
  if (!glfwInit()) {
    throw sim::BadInput("no display (" + glfw_error + "); use --video OUT.mp4");
  }
  struct Terminate {
    ~Terminate() { glfwTerminate(); }
  } terminate;
  // Shrink the requested size, keeping its aspect, to fit 90% of the screen.
  int width = std::max(options.width, 1), height = std::max(options.height, 1);
  GLFWmonitor* monitor = glfwGetPrimaryMonitor();
  if (const GLFWvidmode* mode = monitor ? glfwGetVideoMode(monitor) : nullptr) {
    const double fit = std::min({1.0, 0.9 * mode->width / width, 0.9 * mode->height / height});
    width = std::max(static_cast<int>(width * fit), 1);
    height = std::max(static_cast<int>(height * fit), 1);
  }
  glfwWindowHint(GLFW_VISIBLE, GLFW_TRUE);
  v.window = glfwCreateWindow(width, height, options.title.c_str(), nullptr, nullptr);
  if (!v.window) throw std::runtime_error("cannot create a window: " + glfw_error);
  glfwMakeContextCurrent(v.window);
  glfwSwapInterval(1);
  mjv_defaultCamera(&v.camera);
  if (camera_id >= 0) {
    v.camera.type = mjCAMERA_FIXED;
    v.camera.fixedcamid = camera_id;
  } else {
    mjv_defaultFreeCamera(v.model, &v.camera);
  }
  mjv_defaultOption(&v.option);
  mjv_defaultScene(&v.scene);
  mjv_makeScene(v.model, &v.scene, 2000);
  // Same look as the headless video frames (see sim::RenderOptions).
  v.scene.flags[mjRND_SHADOW] = 0;
  v.scene.flags[mjRND_REFLECTION] = 0;
  v.scene.flags[mjRND_SKYBOX] = 0;
  mjr_defaultContext(&v.context);
  mjr_makeContext(v.model, &v.context, mjFONTSCALE_150);
  struct Free {
    Viewer& v;
    ~Free() {
      mjr_freeContext(&v.context);
      mjv_freeScene(&v.scene);
      glfwDestroyWindow(v.window);
    }
  } free_resources{v};
  glfwSetWindowUserPointer(v.window, &v);
  glfwSetKeyCallback(v.window, OnKey);
  glfwSetMouseButtonCallback(v.window, OnMouseButton);
  glfwSetCursorPosCallback(v.window, OnCursor);
  glfwSetScrollCallback(v.window, OnScroll);

  const double start = glfwGetTime();
  double last = start;
  while (!glfwWindowShouldClose(v.window)) {
    const double now = glfwGetTime();
    if (options.exit_after > 0 && now - start >= options.exit_after) break;
    const double frames = static_cast<double>(group.NumFrames());
    if (v.playing) {
      v.position += (now - last) * v.speed / group.player(0).StepSeconds();
      if (v.position >= frames) v.position = std::fmod(v.position, frames);  // loop
    }
    last = now;
    group.Seek(static_cast<int64_t>(v.position));
    DrawFrame(v);
    glfwSwapBuffers(v.window);
    glfwPollEvents();
  }
  if (v.error) std::rethrow_exception(v.error);
}

}  // namespace darkmatter::apps
