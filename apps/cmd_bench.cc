// darkmatter bench: registers the benchmark subcommands.
#include <CLI/CLI.hpp>

#include "apps/commands.h"

namespace darkmatter::apps {

void AddBenchCommand(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measure simulation and learning throughput");
  bench->require_subcommand(1);
  AddBenchEnvCommand(*bench);
  AddBenchPoolCommand(*bench);
  AddBenchRenderCommand(*bench);
  AddBenchTrainCommand(*bench);
  AddBenchPlanCommand(*bench);
  AddBenchSacCommand(*bench);
  AddBenchTdmpcCommand(*bench);
}

}  // namespace darkmatter::apps
