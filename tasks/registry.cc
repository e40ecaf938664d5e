#include "tasks/registry.h"

#include "sim/error.h"
#include "sim/mujoco_env.h"
#include "tasks/control/inverted_pendulum.h"
#include "tasks/physics/collide.h"

namespace darkmatter::tasks {

const std::vector<TaskInfo>& AllTasks() {
  static const std::vector<TaskInfo> tasks = {
      {"control/inverted_pendulum", "mujoco", "balance a pole on a cart",
       control::MakeInvertedPendulum},
      {"physics/collide", "mujoco", "a red ball rolls into a block", physics::MakeCollide},
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
