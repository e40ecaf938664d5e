// Test fixtures: NoMujocoWarnings fails the test when MuJoCo raised any warning during it.
#pragma once

#include <catch2/catch.hpp>

#include "sim/mujoco_model.h"

namespace darkmatter::testing {

class NoMujocoWarnings {
 public:
  NoMujocoWarnings() : start_(sim::MujocoWarningCount()) { sim::InstallMujocoHandlers(); }
  ~NoMujocoWarnings() {
    INFO("last MuJoCo warning: " << sim::LastMujocoWarning());
    CHECK(sim::MujocoWarningCount() == start_);
  }

 private:
  int64_t start_;
};

// A small MJCF scene with a free body, a hinge arm with a limited motor, and a mocap body.
inline constexpr const char* kTestSceneXml = R"(
<mujoco model="test_scene">
  <option timestep="0.005"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1"/>
    <body name="ball" pos="0 0 0.5">
      <freejoint/>
      <geom type="sphere" size="0.1" mass="1"/>
    </body>
    <body name="arm" pos="0.5 0 0.3">
      <joint name="shoulder" type="hinge" axis="0 1 0" damping="0.1"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/>
    </body>
    <body name="target" mocap="true" pos="1 1 0"><geom type="box" size="0.05 0.05 0.05" contype="0" conaffinity="0"/></body>
  </worldbody>
  <actuator>
    <motor name="shoulder" joint="shoulder" ctrllimited="true" ctrlrange="-1 1"/>
  </actuator>
</mujoco>
)";

}  // namespace darkmatter::testing
