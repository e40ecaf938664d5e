// `darkmatter suite submit --slurm`: the suite as a Slurm job array (task I runs shard I of N
// into OUT/shards/I, skipping cells finished anywhere under OUT) plus a merge job that
// starts when every task succeeded (--dependency=afterok) and writes OUT/results.json.
#pragma once

#include <string>
#include <vector>

namespace darkmatter::apps {

struct SuiteSubmitOptions {
  std::string preset = "quick";
  std::string config;                   // YAML over the preset (made absolute in the script)
  std::vector<std::string> overrides;   // key=value, passed on to every task
  std::string out;                      // output tree OUT
  int tasks = 3;                        // array tasks N (shards)
  std::vector<int> only;                // resubmit only these task indices (default: all)
  std::vector<std::string> sbatch_args; // extra sbatch options for both jobs, e.g. --partition=x
  bool slurm = false;                   // the scheduler (Slurm is the only one)
  bool dry_run = false;                 // print the scripts and commands, submit nothing
  bool json = false;
};

// Writes OUT/slurm/suite-array.sbatch and OUT/slurm/suite-merge.sbatch atomically and submits
// both with sbatch, printing the job ids (with dry_run: prints the scripts, writes and submits
// nothing). Throws sim::BadInput (exit 2) for a bad suite config or option, or when sbatch is
// not on PATH; std::runtime_error when sbatch fails.
void SubmitSuite(const SuiteSubmitOptions& options);

}  // namespace darkmatter::apps
