// The --task NAME | --mjcf FILE pair of options shared by rollout and bench.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "sim/error.h"

namespace darkmatter::apps {

struct EnvSource {
  std::string task;  // registered task name
  std::string mjcf;  // path of an MJCF file for a generic env

  // Adds --task and --mjcf (mutually exclusive) to `cmd`.
  void AddOptions(CLI::App* cmd) {
    auto* t = cmd->add_option("--task", task, "Registered task name (see `darkmatter tasks`)");
    auto* m = cmd->add_option("--mjcf", mjcf, "Any MJCF file: obs (qpos, qvel), action ctrl");
    t->excludes(m);
  }
  // The name tasks::MakeEnv understands; throws BadInput when neither option was given.
  std::string EnvName(const std::string& fallback_mjcf = "") const {
    if (!task.empty()) return task;
    if (!mjcf.empty()) return "mjcf:" + mjcf;
    if (!fallback_mjcf.empty()) return "mjcf:" + fallback_mjcf;
    throw sim::BadInput("one of --task NAME or --mjcf FILE is required");
  }
};

}  // namespace darkmatter::apps
