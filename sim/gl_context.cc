#include "sim/gl_context.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GL/osmesa.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

namespace darkmatter::sim {
namespace {

// A headless context owned by one thread; destroyed when the thread exits.
class ThreadGlContext {
 public:
  ThreadGlContext() {
    const char* choice = std::getenv("DARKMATTER_GL");  // "egl", "osmesa" or unset (auto)
    const std::string wanted = choice ? choice : "";
    const bool ok = wanted == "osmesa" ? CreateOsMesa()
                    : wanted == "egl"  ? CreateEgl()
                                       : (CreateEgl() || CreateOsMesa());
    if (!ok) {
      throw std::runtime_error(
          "no headless OpenGL: EGL (Mesa surfaceless) and OSMesa both failed; install "
          "libegl-mesa0 and libgl1-mesa-dri");
    }
  }
  ~ThreadGlContext() {
    if (egl_context_ != EGL_NO_CONTEXT) {
      eglMakeCurrent(egl_display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
      eglDestroyContext(egl_display_, egl_context_);
    }
    if (osmesa_context_) OSMesaDestroyContext(osmesa_context_);
  }
  void MakeCurrent() {
    if (egl_context_ != EGL_NO_CONTEXT) {
      if (eglGetCurrentContext() != egl_context_ &&
          !eglMakeCurrent(egl_display_, EGL_NO_SURFACE, EGL_NO_SURFACE, egl_context_)) {
        throw std::runtime_error("eglMakeCurrent failed");
      }
    } else if (OSMesaGetCurrentContext() != osmesa_context_) {
      OSMesaMakeCurrent(osmesa_context_, osmesa_buffer_.data(), GL_UNSIGNED_BYTE, 1, 1);
    }
  }
  const std::string& backend() const { return backend_; }

 private:
  bool CreateEgl() {
    auto get_platform_display = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
        eglGetProcAddress("eglGetPlatformDisplayEXT"));
    if (!get_platform_display) return false;
    egl_display_ =
        get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
    if (egl_display_ == EGL_NO_DISPLAY) return false;
    EGLint major = 0, minor = 0;
    if (!eglInitialize(egl_display_, &major, &minor)) return false;
    const EGLint attributes[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT,
                                 EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
                                 EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8,
                                 EGL_ALPHA_SIZE, 8, EGL_DEPTH_SIZE, 24, EGL_NONE};
    EGLConfig config;
    EGLint count = 0;
    if (!eglChooseConfig(egl_display_, attributes, &config, 1, &count) || count < 1) return false;
    if (!eglBindAPI(EGL_OPENGL_API)) return false;
    egl_context_ = eglCreateContext(egl_display_, config, EGL_NO_CONTEXT, nullptr);
    if (egl_context_ == EGL_NO_CONTEXT) return false;
    if (!eglMakeCurrent(egl_display_, EGL_NO_SURFACE, EGL_NO_SURFACE, egl_context_)) {
      eglDestroyContext(egl_display_, egl_context_);
      egl_context_ = EGL_NO_CONTEXT;
      return false;
    }
    backend_ = "egl";
    return true;
  }
  bool CreateOsMesa() {
    osmesa_context_ = OSMesaCreateContextExt(OSMESA_RGBA, 24, 8, 0, nullptr);
    if (!osmesa_context_) return false;
    osmesa_buffer_.resize(4);
    if (!OSMesaMakeCurrent(osmesa_context_, osmesa_buffer_.data(), GL_UNSIGNED_BYTE, 1, 1)) {
      return false;
    }
    backend_ = "osmesa";
    return true;
  }

  EGLDisplay egl_display_ = EGL_NO_DISPLAY;
  EGLContext egl_context_ = EGL_NO_CONTEXT;
  OSMesaContext osmesa_context_ = nullptr;
  std::vector<unsigned char> osmesa_buffer_;  // 1x1 default framebuffer; we draw offscreen
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
