// Shared pieces of the benchmarks: the default scene and timing helpers.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace darkmatter::apps {

// MuJoCo's stock humanoid (Debian's libmujoco-samples), the default benchmark scene.
inline const std::string kStockHumanoid = "/usr/share/mujoco/model/humanoid/humanoid.xml";

// The humanoid when installed, otherwise "" (then --task/--mjcf is required).
inline std::string DefaultBenchScene() {
  std::error_code ec;
  return std::filesystem::exists(kStockHumanoid, ec) ? kStockHumanoid : "";
}

// Seconds since `start`.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace darkmatter::apps
