// `--nproc N`: the parent re-executes its own binary N times as ranks 0..N-1 of one
// data-parallel group on this machine (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT set as torchrun sets them), shares its stdout/stderr with them, and waits.
// When one rank fails, the others are terminated and the failure names the rank.
// No torch here.
//
// Wiring in a command (e.g. `darkmatter train --nproc N ...`):
//   if (nproc > 1 && !IsWorkerProcess()) {
//     LaunchOptions launch;
//     launch.nproc = nproc;
//     const LaunchResult r = LaunchWorkers(launch, {argv + 1, argv + argc});
//     if (r.exit_code != 0) std::fprintf(stderr, "error: %s\n", r.message.c_str());
//     return r.exit_code;
//   }
#pragma once

#include <map>
#include <string>
#include <vector>

namespace darkmatter::worldmodel {

struct LaunchOptions {
  int nproc = 1;                              // worker processes (ranks 0..nproc-1)
  std::string executable = "/proc/self/exe";  // program every worker runs
  std::string master_addr = "127.0.0.1";      // MASTER_ADDR given to the workers
  int master_port = 0;                        // MASTER_PORT; 0 picks a free port
  double kill_grace_s = 5;                    // seconds between SIGTERM and SIGKILL
  std::map<std::string, std::string> env;     // extra variables for every worker
};

struct LaunchResult {
  int exit_code = 0;     // 0 when every rank succeeded, else the first failing rank's exit
                         // status (128 + signal number when a signal killed it)
  int failed_rank = -1;  // the first rank that failed, -1 when none did
  double seconds = 0;    // wall time from the first start to the last exit
  std::string message;   // names the failing rank and how it failed; empty on success
};

// Starts `executable args...` once per rank (argv[0] = executable) with the rank variables
// set (replacing any inherited ones) and waits for all of them. When one exits non-zero or
// is killed, sends SIGTERM to the rest, SIGKILL after kill_grace_s, and reports that rank.
// Workers get SIGTERM if this process dies. Throws BadInput when nproc < 1 or the port is
// outside [0, 65535].
LaunchResult LaunchWorkers(const LaunchOptions& options, const std::vector<std::string>& args);

// True when this process already is a worker (WORLD_SIZE is set), so it must not launch.
bool IsWorkerProcess();

// The first host of a Slurm node list: "node[07-09,12],gpu1" -> "node07", "vm" -> "vm".
std::string FirstSlurmHost(const std::string& node_list);

// Under `srun` with several tasks (SLURM_STEP_ID, SLURM_PROCID and SLURM_NTASKS > 1 set, and
// RANK/WORLD_SIZE not): makes this task one rank of `nproc` by setting RANK=SLURM_PROCID,
// WORLD_SIZE=SLURM_NTASKS, LOCAL_RANK=SLURM_LOCALID, MASTER_ADDR = the first host of
// SLURM_STEP_NODELIST and MASTER_PORT (kept when set, else 15000 + the job id's last four
// digits, the same on every task). Returns true when it did. Throws BadInput when `nproc`
// differs from the number of tasks (one rank per task) or a variable is malformed. Outside
// a multi-task step it does nothing (a one-task srun launches `nproc` local workers).
bool AdoptSlurmStep(int nproc);

// This process's own arguments without argv[0] (from /proc/self/cmdline), for commands that
// no longer hold argv when they decide to launch.
std::vector<std::string> CommandLineArgs();

// A TCP port on `addr` that was free a moment ago (bind to port 0, read, close).
int FreePort(const std::string& addr = "127.0.0.1");

}  // namespace darkmatter::worldmodel
