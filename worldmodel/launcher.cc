#include "worldmodel/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "sim/error.h"

extern char** environ;

namespace darkmatter::worldmodel {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// "exited with status 3" or "was killed by signal 9 (Killed)".
std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "was killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "stopped with wait status " + std::to_string(status);
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

bool IsWorkerProcess() {
  const char* world = std::getenv("WORLD_SIZE");
  return world != nullptr && *world != '\0';
}

std::string FirstSlurmHost(const std::string& node_list) {
  // The first entry at bracket depth 0, then the first name of its bracketed ranges.
  int depth = 0;
  size_t end = node_list.size();
  for (size_t i = 0; i < node_list.size(); ++i) {
    if (node_list[i] == '[') ++depth;
    if (node_list[i] == ']') --depth;
    if (node_list[i] == ',' && depth == 0) {
      end = i;
      break;
    }
  }
  const std::string entry = node_list.substr(0, end);
  const size_t open = entry.find('[');
  if (open == std::string::npos) return entry;
  const size_t stop = entry.find_first_of("-,]", open + 1);
  const size_t close = entry.find(']', open);
  if (stop == std::string::npos || close == std::string::npos) {
    throw sim::BadInput("Slurm node list '" + node_list + "' is malformed");
  }
  return entry.substr(0, open) + entry.substr(open + 1, stop - open - 1) +
         entry.substr(close + 1);
}

bool AdoptSlurmStep(int nproc) {
  const auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
  };
  if (IsWorkerProcess() || env("RANK") != "" || env("SLURM_STEP_ID").empty() ||
      env("SLURM_PROCID").empty()) {
    return false;
  }
  const auto number = [&](const char* name) {
    const std::string text = env(name);
    size_t used = 0;
    long value = -1;
    try {
      value = std::stol(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || value < 0) {
      throw sim::BadInput("environment variable " + std::string(name) + "='" + text +
                          "' is not a non-negative integer");
    }
    return value;
  };
  const char* tasks_name = env("SLURM_STEP_NUM_TASKS").empty() ? "SLURM_NTASKS"
                                                                : "SLURM_STEP_NUM_TASKS";
  const long tasks = number(tasks_name);
  if (tasks <= 1) return false;
  if (nproc != tasks) {
    throw sim::BadInput("--nproc " + std::to_string(nproc) + " under srun with " +
                        std::to_string(tasks) + " tasks (" + tasks_name + "=" +
                        std::to_string(tasks) + "): one rank per task, give --nproc " +
                        std::to_string(tasks));
  }
  const std::string nodes =
      env("SLURM_STEP_NODELIST").empty() ? env("SLURM_JOB_NODELIST") : env("SLURM_STEP_NODELIST");
  if (nodes.empty()) {
    throw sim::BadInput("srun step without SLURM_STEP_NODELIST or SLURM_JOB_NODELIST");
  }
  std::string port = env("MASTER_PORT");
  if (port.empty()) port = std::to_string(15000 + number("SLURM_JOB_ID") % 10000);
  setenv("RANK", std::to_string(number("SLURM_PROCID")).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(tasks).c_str(), 1);
  setenv("LOCAL_RANK",
         std::to_string(env("SLURM_LOCALID").empty() ? 0 : number("SLURM_LOCALID")).c_str(), 1);
  if (env("MASTER_ADDR").empty()) setenv("MASTER_ADDR", FirstSlurmHost(nodes).c_str(), 1);
  setenv("MASTER_PORT", port.c_str(), 1);
  return true;
}

std::vector<std::string> CommandLineArgs() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  if (!args.empty()) args.erase(args.begin());
  return args;
}

int FreePort(const std::string& addr) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("launcher: socket() failed: " + std::string(strerror(errno)));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  if (inet_pton(AF_INET, addr == "localhost" ? "127.0.0.1" : addr.c_str(), &sa.sin_addr) != 1) {
    close(fd);
    throw sim::BadInput("launcher: master_addr='" + addr + "' is not an IPv4 address");
  }
  socklen_t len = sizeof(sa);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    const std::string why = strerror(errno);
    close(fd);
    throw std::runtime_error("launcher: cannot find a free port on " + addr + ": " + why);
  }
  close(fd);
  return ntohs(sa.sin_port);
}

LaunchResult LaunchWorkers(const LaunchOptions& options, const std::vector<std::string>& args) {
  if (options.nproc < 1) {
    throw sim::BadInput("--nproc=" + std::to_string(options.nproc) + " must be at least 1");
  }
  if (options.master_port < 0 || options.master_port > 65535) {
    throw sim::BadInput("launcher: master_port=" + std::to_string(options.master_port) +
                        " is outside [0, 65535]");
  }
  const int port = options.master_port != 0 ? options.master_port : FreePort(options.master_addr);

  // Everything the children need is built before fork(): after it, only async-signal-safe
  // calls (this process may have other threads, e.g. torch's).
  const std::set<std::string> replaced = {
      "RANK",       "LOCAL_RANK",  "WORLD_SIZE", "LOCAL_WORLD_SIZE",
      "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT"};
  std::vector<std::string> base_env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (replaced.count(name) == 0 && options.env.count(name) == 0) base_env.push_back(entry);
  }
  for (const auto& [name, value] : options.env) base_env.push_back(name + "=" + value);
  base_env.push_back("WORLD_SIZE=" + std::to_string(options.nproc));
  base_env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(options.nproc));
  base_env.push_back("GROUP_RANK=0");
  base_env.push_back("MASTER_ADDR=" + options.master_addr);
  base_env.push_back("MASTER_PORT=" + std::to_string(port));

  std::vector<std::string> argv_strings;
  argv_strings.push_back(options.executable);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::vector<std::string>> env_strings(options.nproc, base_env);
  std::vector<std::vector<char*>> envp(options.nproc);
  for (int r = 0; r < options.nproc; ++r) {
    env_strings[r].push_back("RANK=" + std::to_string(r));
    env_strings[r].push_back("LOCAL_RANK=" + std::to_string(r));
    for (auto& e : env_strings[r]) envp[r].push_back(e.data());
    envp[r].push_back(nullptr);
  }

  std::fflush(stdout);
  std::fflush(stderr);
  const Clock::time_point t0 = Clock::now();
  const pid_t parent = getpid();
  std::vector<pid_t> pids(options.nproc, -1);
  std::vector<bool> running(options.nproc, false);
  LaunchResult result;
  for (int r = 0; r < options.nproc; ++r) {
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(1);
      execve(argv[0], argv.data(), envp[r].data());
      const char msg[] = "launcher: cannot execute ";
      [[maybe_unused]] ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
      n = write(STDERR_FILENO, argv[0], strlen(argv[0]));
      n = write(STDERR_FILENO, "\n", 1);
      _exit(127);
    }
    if (pid < 0) {
      result.exit_code = 1;
      result.failed_rank = r;
      result.message = "could not start rank " + std::to_string(r) + " of " +
                       std::to_string(options.nproc) + ": fork failed: " + strerror(errno);
      break;
    }
    pids[r] = pid;
    running[r] = true;
  }

  // Waits for every rank; the first failure terminates the rest.
  int alive = 0;
  for (int r = 0; r < options.nproc; ++r) alive += running[r] ? 1 : 0;
  bool terminating = result.failed_rank >= 0;
  Clock::time_point term_sent = Clock::now();
  bool killed = false;
  if (terminating) {
    for (int r = 0; r < options.nproc; ++r) {
      if (running[r]) kill(pids[r], SIGTERM);
    }
  }
  while (alive > 0) {
    bool reaped = false;
    for (int r = 0; r < options.nproc; ++r) {
      if (!running[r]) continue;
      int status = 0;
      const pid_t got = waitpid(pids[r], &status, WNOHANG);
      if (got == 0) continue;
      running[r] = false;
      --alive;
      reaped = true;
      const bool failed = got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
      if (failed && !terminating) {
        result.failed_rank = r;
        result.exit_code = got < 0 ? 1 : ExitCode(status);
        if (result.exit_code == 0) result.exit_code = 1;
        result.message =
            "rank " + std::to_string(r) + " of " + std::to_string(options.nproc) + " " +
            (got < 0 ? std::string("could not be waited for") : DescribeStatus(status));
        if (alive > 0) result.message += "; terminated the other ranks";
        terminating = true;
        term_sent = Clock::now();
        for (int other = 0; other < options.nproc; ++other) {
          if (running[other]) kill(pids[other], SIGTERM);
        }
      }
    }
    if (terminating && !killed && alive > 0 && Since(term_sent) > options.kill_grace_s) {
      for (int r = 0; r < options.nproc; ++r) {
        if (running[r]) kill(pids[r], SIGKILL);
      }
      killed = true;
    }
    if (!reaped && alive > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  result.seconds = Since(t0);
  return result;
}

}  // namespace darkmatter::worldmodel
