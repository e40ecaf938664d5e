#include "apps/suite_submit.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "eval/suite_settings.h"
#include "sim/error.h"
#include "sim/file_checks.h"

namespace darkmatter::apps {
namespace {

namespace fs = std::filesystem;

// `text` quoted for bash (single quotes, embedded quotes escaped).
std::string Quote(const std::string& text) {
  bool plain = !text.empty();
  for (char c : text) {
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || std::string("-_./=:,+%@").find(c) != std::string::npos);
  }
  if (plain) return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The directory of PATH holding `program`, or "" when none does.
std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::string dirs = path;
  size_t begin = 0;
  while (begin <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', begin), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(begin, end - begin)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    begin = end + 1;
  }
  return "";
}

// "0-2" for all tasks, "1,4" for some.
std::string ArraySpec(const SuiteSubmitOptions& o) {
  if (o.only.empty()) return "0-" + std::to_string(o.tasks - 1);
  std::string spec;
  for (int i : o.only) spec += (spec.empty() ? "" : ",") + std::to_string(i);
  return spec;
}

struct Scripts {
  std::string array, merge;  // file contents
  fs::path array_path, merge_path;
};

Scripts MakeScripts(const SuiteSubmitOptions& o, const std::string& config_hash) {
  const fs::path out = fs::absolute(o.out).lexically_normal();
  const std::string binary = fs::read_symlink("/proc/self/exe").string();
  const fs::path slurm = out / "slurm";
  Scripts s;
  s.array_path = slurm / "suite-array.sbatch";
  s.merge_path = slurm / "suite-merge.sbatch";
  std::string run = Quote(binary) + " suite --preset " + Quote(o.preset);
  if (!o.config.empty()) run += " --config " + Quote(fs::absolute(o.config).string());
  run += " --out " + Quote((out / "shards").string()) + "/\"$SLURM_ARRAY_TASK_ID\"" +
         " --shard auto/" + std::to_string(o.tasks) + " --reuse " + Quote(out.string());
  for (const std::string& item : o.overrides) run += " " + Quote(item);
  std::string extra;
  for (const std::string& arg : o.sbatch_args) extra += "#SBATCH " + arg + "\n";
  s.array = "#!/bin/bash\n"
            "# darkmatter suite " + o.preset + " (config " + config_hash + ") as a Slurm array of " +
            std::to_string(o.tasks) + " tasks: task I runs shard I/" + std::to_string(o.tasks) +
            " into shards/I,\n"
            "# skipping cells finished anywhere under " + out.string() + ".\n"
            "# Resubmit a failed task alone: sbatch --array=I " + s.array_path.string() + "\n"
            "#SBATCH --job-name=darkmatter-suite\n"
            "#SBATCH --array=" + ArraySpec(o) + "\n"
            "#SBATCH --output=" + (slurm / "logs" / "suite-%A_%a.out").string() + "\n" + extra +
            "set -euo pipefail\n"
            "exec " + run + "\n";
  s.merge = "#!/bin/bash\n"
            "# Merges the shard folders of the darkmatter suite array into " + out.string() +
            " (results.json, report.html, videos).\n"
            "# Submitted with --dependency=afterok on the array; rerun by hand: sbatch " +
            s.merge_path.string() + "\n"
            "#SBATCH --job-name=darkmatter-suite-merge\n"
            "#SBATCH --output=" + (slurm / "logs" / "merge-%j.out").string() + "\n" + extra +
            "set -euo pipefail\n"
            "exec " + Quote(binary) + " suite merge " + Quote((out / "shards").string()) +
            "/*/ --out " + Quote(out.string()) + "\n";
  return s;
}

void WriteAtomically(const fs::path& path, const std::string& text) {
  const fs::path temp = sim::TemporaryPathFor(path.string());
  {
    std::ofstream file(temp);
    file << text;
    if (!file) throw sim::BadInput("cannot write " + temp.string());
  }
  fs::permissions(temp, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  fs::rename(temp, path);
}

// Runs `command` (through sh) and returns its standard output; throws when it fails.
std::string Capture(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run: " + command);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  if (status != 0) {
    throw std::runtime_error("'" + command + "' failed (" +
                             (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                                : std::string("killed")) + ")");
  }
  return output;
}

// The job id from `sbatch --parsable` output ("123" or "123;cluster").
std::string JobId(const std::string& output, const std::string& command) {
  const std::string first = output.substr(0, output.find_first_of(";\n"));
  if (first.empty() || first.find_first_not_of("0123456789") != std::string::npos) {
    throw std::runtime_error("'" + command + "' printed '" + output + "', expected a job id");
  }
  return first;
}

}  // namespace

void SubmitSuite(const SuiteSubmitOptions& o) {
  if (!o.slurm) throw sim::BadInput("suite submit: give the scheduler: --slurm (the only one supported)");
  if (o.out.empty()) throw sim::BadInput("suite submit: --out DIR is required");
  if (o.tasks < 1) throw sim::BadInput("suite submit: --tasks " + std::to_string(o.tasks) + " must be at least 1");
  for (int i : o.only) {
    if (i < 0 || i >= o.tasks) {
      throw sim::BadInput("suite submit: --only " + std::to_string(i) + " is not a task of 0.." +
                          std::to_string(o.tasks - 1));
    }
  }
  // Bad settings fail here, before anything is submitted.
  const eval::ResolvedSuite suite = eval::ResolveSuite(o.preset, o.config, o.overrides);
  const std::string sbatch = FindOnPath("sbatch");
  if (!o.dry_run && sbatch.empty()) {
    throw sim::BadInput("suite submit --slurm: sbatch is not on PATH (run it on a Slurm login "
                        "node, or --dry-run to print the scripts)");
  }
  const Scripts s = MakeScripts(o, suite.config_hash);
  const std::string array_command = "sbatch --parsable " + Quote(s.array_path.string());
  const std::string merge_command =
      "sbatch --parsable --dependency=afterok:<array job> " + Quote(s.merge_path.string());
  if (o.dry_run) {
    std::printf("# %s\n%s\n# %s\n%s\n# submit: %s\n# then:   %s\n", s.array_path.c_str(),
                s.array.c_str(), s.merge_path.c_str(), s.merge.c_str(), array_command.c_str(),
                merge_command.c_str());
    return;
  }
  fs::create_directories(s.array_path.parent_path() / "logs");
  fs::create_directories(fs::path(o.out) / "shards");
  WriteAtomically(s.array_path, s.array);
  WriteAtomically(s.merge_path, s.merge);
  const std::string array_job = JobId(Capture(Quote(sbatch) + " --parsable " +
                                              Quote(s.array_path.string())), array_command);
  const std::string merge_run = Quote(sbatch) + " --parsable --dependency=afterok:" + array_job +
                                " " + Quote(s.merge_path.string());
  const std::string merge_job = JobId(Capture(merge_run), merge_run);
  if (o.json) {
    const nlohmann::json summary = {{"array_job", array_job},
                                    {"merge_job", merge_job},
                                    {"array", ArraySpec(o)},
                                    {"tasks", o.tasks},
                                    {"config_hash", suite.config_hash},
                                    {"array_script", s.array_path.string()},
                                    {"merge_script", s.merge_path.string()},
                                    {"logs", (s.array_path.parent_path() / "logs").string()}};
    std::printf("%s\n", summary.dump(2).c_str());
    return;
  }
  std::printf("array job %s: tasks %s of %d (%s)\nmerge job %s: after every task succeeds "
              "(afterok:%s) -> %s/results.json\nlogs: %s\n",
              array_job.c_str(), ArraySpec(o).c_str(), o.tasks, s.array_path.c_str(),
              merge_job.c_str(), array_job.c_str(), o.out.c_str(),
              (s.array_path.parent_path() / "logs").c_str());
}

}  // namespace darkmatter::apps
