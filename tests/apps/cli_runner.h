// Helpers for the end-to-end tests of the darkmatter CLI: running a command line (exit code
// and output) and a fresh scratch directory per test.
#pragma once

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace darkmatter::testing {

// A finished command.
struct Run {
  int code;            // exit code; -1 when it did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs a shell command line; returns exit code and output.
inline Run Shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// Runs `darkmatter <args>` (the binary under test) through the shell.
inline Run Darkmatter(const std::string& args) {
  return Shell(std::string(DARKMATTER_BIN) + " " + args);
}

// Runs each `darkmatter ARGS` of `cases` and checks that it exits 2 with NEEDLE in its output.
inline void CheckBadInputs(const std::vector<std::pair<std::string, std::string>>& cases) {
  for (const auto& [args, needle] : cases) {
    INFO(args);
    const Run run = Darkmatter(args);
    CHECK(run.code == 2);
    CHECK_THAT(run.output, Catch::Contains(needle));
  }
}

// The whole contents of a file ("" when missing).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` as the whole contents of `path`.
inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The task option of the runs where any small task will do.
inline const std::string kPendulum = "--task control/inverted_pendulum";

// A fresh scratch directory per test, removed with its contents.
struct Scratch {
  std::filesystem::path dir;
  Scratch() {
    dir = std::filesystem::temp_directory_path() /
          ("darkmatter_apps_" + std::to_string(::getpid()) + "_" +
           std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir);
  }
  ~Scratch() { std::filesystem::remove_all(dir); }
  // Path of `name` inside the directory.
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
  // Names of the entries in the directory.
  std::set<std::string> Files() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }
};

}  // namespace darkmatter::testing
