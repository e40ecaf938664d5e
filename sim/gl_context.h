// Headless OpenGL: one EGL context per thread, created on first use and made current.
// EGL's surfaceless platform (Mesa) first, then EGL devices (a GPU driver or Mesa's software
// device); DARKMATTER_GL=surfaceless|device forces one.
#pragma once

#include <string>

namespace darkmatter::sim {

// Makes this thread's headless GL context current (creating it on first use).
// Throws std::runtime_error when no EGL display gives a context.
void MakeThreadGlContextCurrent();
// "egl-surfaceless" or "egl-device": the backend of this thread's context ("" before use).
std::string ThreadGlBackend();

}  // namespace darkmatter::sim
