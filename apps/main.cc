// darkmatter: the command-line interface. Exit codes: 0 success, 2 bad usage or input,
// 1 any other failure.
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "sim/error.h"
#include "sim/mujoco_model.h"

namespace {

// The message of an unexpected failure, without LibTorch's C++ backtrace (which follows
// "Exception raised from" in c10 errors) and saying what std::bad_alloc means.
std::string FailureText(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e)) return "out of memory (std::bad_alloc)";
  std::string text = e.what();
  const size_t backtrace = text.find("Exception raised from");
  if (backtrace != std::string::npos) text.erase(backtrace);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"darkmatter: watch physics, learn world models, compare them fairly",
               "darkmatter"};
  app.set_version_flag("--version", "darkmatter " DARKMATTER_VERSION);
  app.require_subcommand(1);
  darkmatter::apps::AddTasksCommand(app);
  darkmatter::apps::AddRolloutCommand(app);
  darkmatter::apps::AddInfoCommand(app);
  darkmatter::apps::AddBenchCommand(app);
  darkmatter::apps::AddPlayCommand(app);
  darkmatter::apps::AddTrainCommand(app);
  darkmatter::apps::AddReportCommand(app);
  darkmatter::apps::AddEvalCommand(app);
  darkmatter::apps::AddSuiteCommand(app);
  darkmatter::sim::InstallMujocoHandlers();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const darkmatter::sim::BadInput& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", FailureText(e).c_str());
    return 1;
  }
  return 0;
}
