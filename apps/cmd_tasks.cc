// darkmatter tasks [--json]: every registered task with backend and shapes.
#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/json_util.h"
#include "tasks/registry.h"

namespace darkmatter::apps {

void AddTasksCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("tasks", "List the registered tasks");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([json] {
    nlohmann::json list = nlohmann::json::array();
    for (const tasks::TaskInfo& task : tasks::AllTasks()) {
      auto env = task.make({});
      const nlohmann::json principles = env->Principles();
      std::vector<std::string> truth;
      for (const auto& field : env->TruthFields()) truth.push_back(field.name);
      list.push_back({{"name", task.name},
                      {"backend", task.backend},
                      {"description", task.description},
                      {"observation", SpecJson(env->ObservationSpec())},
                      {"action", SpecJson(env->ActionSpec())},
                      {"info_keys", env->InfoKeys()},
                      {"principles", principles},
                      {"truth", truth},
                      {"frame_skip", env->FrameSkip()},
                      {"max_episode_steps", env->MaxEpisodeSteps()}});
    }
    if (*json) {
      std::printf("%s\n", list.dump(2).c_str());
      return;
    }
    std::printf("%-28s %-8s %-12s %-8s %s\n", "task", "backend", "observation", "action",
                "description");
    for (const auto& task : list) {
      std::string description = task["description"].get<std::string>();
      std::string principles;
      for (const auto& p : task["principles"]) {
        principles += (principles.empty() ? "" : ", ") + p.get<std::string>();
      }
      if (!principles.empty()) description += " [twins: " + principles + "]";
      std::printf("%-28s %-8s %-12s %-8s %s\n", task["name"].get<std::string>().c_str(),
                  task["backend"].get<std::string>().c_str(),
                  task["observation"]["shape_text"].get<std::string>().c_str(),
                  task["action"]["shape_text"].get<std::string>().c_str(), description.c_str());
    }
  });
}

}  // namespace darkmatter::apps
