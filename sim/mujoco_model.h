// Loading MuJoCo models (compiled once, shared read-only by many envs) and routing
// MuJoCo's global warning/error callbacks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <mujoco/mujoco.h>

namespace darkmatter::sim {

// A compiled, immutable model shared across envs and threads.
using ModelPtr = std::shared_ptr<const mjModel>;

// Compiles an MJCF/URDF file. Throws BadInput naming the file on a missing file or a
// parse/compile error (MuJoCo's message included).
ModelPtr LoadModelFile(const std::string& path);
// Like LoadModelFile, but returns the already compiled model while any env still holds it.
ModelPtr SharedModelFile(const std::string& path);
// Compiles MJCF text; `name` is used in error messages.
ModelPtr LoadModelString(const std::string& xml, const std::string& name);

// Path of a file under the project's assets/ folder ($DARKMATTER_ASSETS overrides it).
std::string AssetPath(const std::string& relative);

// Installs the process-wide MuJoCo handlers once: warnings are counted (see
// MujocoWarningCount) instead of printed; a MuJoCo fatal error prints a message and exits 1;
// box-box contacts deeper than the boxes' smallest half-size (a MuJoCo 2.2 collider bug that
// launches resting boxes) are dropped.
void InstallMujocoHandlers();
// Number of MuJoCo warnings raised through the global callback since start.
int64_t MujocoWarningCount();
// Text of the last MuJoCo warning ("" if none).
std::string LastMujocoWarning();

// Sum of mjData's per-type warning counters (each counts repeated occurrences).
int TotalWarnings(const mjData* data);

}  // namespace darkmatter::sim
