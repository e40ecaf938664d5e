// Headless OpenGL: one context per thread, created on first use and made current.
// EGL surfaceless on Mesa first; OSMesa when EGL is unavailable.
#pragma once

#include <string>

namespace darkmatter::sim {

// Makes this thread's headless GL context current (creating it on first use).
// Throws std::runtime_error when neither EGL nor OSMesa can provide one.
void MakeThreadGlContextCurrent();
// "egl" or "osmesa": the backend of this thread's context ("" before the first use).
std::string ThreadGlBackend();

}  // namespace darkmatter::sim
