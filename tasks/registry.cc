#include "tasks/registry.h"

#include "sim/error.h"
#include "sim/mujoco_env.h"
#include "tasks/control/inverted_pendulum.h"
#include "tasks/driving/driving.h"
#include "tasks/physics/collide.h"
#include "tasks/physics/occlude.h"
#include "tasks/physics/pegs.h"
#include "tasks/physics/drop.h"
#include "tasks/physics/roll.h"
#include "tasks/physics/dominoes.h"
#include "tasks/physics/stack.h"
#include "tasks/manipulation/reach.h"
#include "tasks/manipulation/push.h"
#include "tasks/manipulation/pick_place.h"
#include "tasks/manipulation/stack.h"

namespace darkmatter::tasks {

const std::vector<TaskInfo>& AllTasks() {
  static const std::vector<TaskInfo> tasks = {
      {"control/inverted_pendulum", "mujoco", "balance a pole on a cart",
       control::MakeInvertedPendulum},
      {"physics/collide", "mujoco", "a ball rolls into the red block", physics::MakeCollide},
      {"physics/occlude", "mujoco", "a red box slides behind a screen", physics::MakeOcclude},
      {"physics/pegs", "mujoco", "a ball dropped onto a peg falls left or right",
       physics::MakePegs},
      {"physics/roll", "mujoco", "balls and a capsule roll down a ramp", physics::MakeRoll},
      {"physics/drop", "mujoco", "objects fall onto a table or the floor", physics::MakeDrop},
      {"physics/stack", "mujoco", "a tower of blocks may topple", physics::MakeStack},
      {"physics/dominoes", "mujoco", "a pushed chain of dominoes", physics::MakeDominoes},
      {"manipulation/reach", "mujoco", "move the gripper to a target", manipulation::MakeReach},
      {"manipulation/push", "mujoco", "push a block to a goal", manipulation::MakePush},
      {"manipulation/pick_place", "mujoco", "lift a block to a goal above the table",
       manipulation::MakePickPlace},
      {"manipulation/stack", "mujoco", "put the red block on the blue one", manipulation::MakeStack},
      {"driving/lane_keep", "bullet", "follow a winding road at a target speed in traffic",
       driving::MakeLaneKeep},
      {"driving/follow", "bullet", "follow a lead car that brakes hard or is cut in on",
       driving::MakeFollow},
      {"driving/avoid", "bullet", "pass static obstacles and slow cars by changing lanes",
       driving::MakeAvoid},
      {"driving/occluded_pedestrian", "bullet",
       "a pedestrian hidden by a parked van crosses the road", driving::MakeOccludedPedestrian},
  };
  return tasks;
}

const TaskInfo& FindTask(const std::string& name) {
  for (const TaskInfo& task : AllTasks()) {
    if (task.name == name) return task;
  }
  std::string known;
  for (const TaskInfo& task : AllTasks()) known += (known.empty() ? "" : ", ") + task.name;
  throw sim::BadInput("unknown task '" + name + "' (known tasks: " + known + ")");
}

std::unique_ptr<sim::Env> MakeEnv(const std::string& name, const sim::EnvSettings& settings) {
  const std::string prefix = "mjcf:";
  if (name.rfind(prefix, 0) == 0) {
    const std::string path = name.substr(prefix.size());
    return sim::MakeMjcfEnv(name, sim::SharedModelFile(path), settings);
  }
  return FindTask(name).make(settings);
}

}  // namespace darkmatter::tasks
