// The task registry: every task is one folder under tasks/ and one line in registry.cc.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/env.h"

namespace darkmatter::tasks {

using EnvMaker = std::function<std::unique_ptr<sim::Env>(const sim::EnvSettings&)>;

// A registered task.
struct TaskInfo {
  std::string name;         // "family/name"
  std::string backend;      // "mujoco" or "bullet"
  std::string description;  // one line
  EnvMaker make;            // builds one env
};

// Every registered task, in registration order.
const std::vector<TaskInfo>& AllTasks();
// The task called `name`; throws BadInput listing the known tasks when there is none.
const TaskInfo& FindTask(const std::string& name);
// Builds an env of task `name`, or a generic MJCF env when `name` starts with "mjcf:".
std::unique_ptr<sim::Env> MakeEnv(const std::string& name, const sim::EnvSettings& settings = {});

}  // namespace darkmatter::tasks
