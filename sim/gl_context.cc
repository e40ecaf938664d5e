#include "sim/gl_context.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

namespace darkmatter::sim {
namespace {

// A headless EGL context owned by one thread; destroyed when the thread exits. Displays are
// tried in order: Mesa's surfaceless platform (no GPU, no display server), then each EGL
// device (a GPU's own driver, e.g. NVIDIA's, or Mesa's software device). OSMesa is not used:
// MuJoCo 2.2 loads OpenGL through libGL's glvnd dispatch, which cannot reach an OSMesa
// context ("gladLoadGL error").
class ThreadGlContext {
 public:
  ThreadGlContext() {
    const char* choice = std::getenv("DARKMATTER_GL");  // "surfaceless", "device" or unset
    const std::string wanted = choice ? choice : "";
    if (wanted != "device" && CreateOn(SurfacelessDisplay())) {
      backend_ = "egl-surfaceless";
    } else if (wanted != "surfaceless" && CreateOnDevice()) {
      backend_ = "egl-device";
    } else {
      throw std::runtime_error(
          "no headless OpenGL: neither EGL's surfaceless platform nor an EGL device gave a "
          "context (DARKMATTER_GL='" + wanted + "'); install libegl-mesa0 and libgl1-mesa-dri");
    }
  }
  ~ThreadGlContext() {
    eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    eglDestroyContext(display_, context_);
  }
  void MakeCurrent() {
    if (eglGetCurrentContext() != context_ &&
        !eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, context_)) {
      throw std::runtime_error("eglMakeCurrent failed");
    }
  }
  const std::string& backend() const { return backend_; }

 private:
  static EGLDisplay SurfacelessDisplay() {
    auto get_platform_display = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
        eglGetProcAddress("eglGetPlatformDisplayEXT"));
    if (!get_platform_display) return EGL_NO_DISPLAY;
    return get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
  }

  bool CreateOnDevice() {
    auto query_devices =
        reinterpret_cast<PFNEGLQUERYDEVICESEXTPROC>(eglGetProcAddress("eglQueryDevicesEXT"));
    auto get_platform_display = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
        eglGetProcAddress("eglGetPlatformDisplayEXT"));
    if (!query_devices || !get_platform_display) return false;
    EGLint count = 0;
    if (!query_devices(0, nullptr, &count) || count < 1) return false;
    std::vector<EGLDeviceEXT> devices(count);
    if (!query_devices(count, devices.data(), &count)) return false;
    for (EGLDeviceEXT device : devices) {
      if (CreateOn(get_platform_display(EGL_PLATFORM_DEVICE_EXT, device, nullptr))) return true;
    }
    return false;
  }

  // Initialises `display` and makes a desktop-OpenGL context current on it without a surface.
  bool CreateOn(EGLDisplay display) {
    if (display == EGL_NO_DISPLAY) return false;
    EGLint major = 0, minor = 0;
    if (!eglInitialize(display, &major, &minor)) return false;
    const EGLint attributes[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT,
                                 EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
                                 EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8,
                                 EGL_ALPHA_SIZE, 8, EGL_DEPTH_SIZE, 24, EGL_NONE};
    EGLConfig config;
    EGLint configs = 0;
    if (!eglChooseConfig(display, attributes, &config, 1, &configs) || configs < 1) return false;
    if (!eglBindAPI(EGL_OPENGL_API)) return false;
    EGLContext context = eglCreateContext(display, config, EGL_NO_CONTEXT, nullptr);
    if (context == EGL_NO_CONTEXT) return false;
    if (!eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, context)) {
      eglDestroyContext(display, context);
      return false;
    }
    display_ = display;
    context_ = context;
    return true;
  }

  EGLDisplay display_ = EGL_NO_DISPLAY;
  EGLContext context_ = EGL_NO_CONTEXT;
  std::string backend_;
};

thread_local std::unique_ptr<ThreadGlContext> thread_context;

}  // namespace

void MakeThreadGlContextCurrent() {
  if (!thread_context) thread_context = std::make_unique<ThreadGlContext>();
  thread_context->MakeCurrent();
}

std::string ThreadGlBackend() { return thread_context ? thread_context->backend() : ""; }

}  // namespace darkmatter::sim
