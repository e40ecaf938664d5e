// A one-line progress bar on stderr, shown only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace darkmatter::apps {

class ProgressBar {
 public:
  // A bar labelled `label` counting up to `total` units.
  ProgressBar(std::string label, int64_t total);
  ~ProgressBar();
  // Sets the number of finished units (redraws at most ~10 times a second).
  void Update(int64_t done);
  // Draws the final state and ends the line.
  void Finish();

 private:
  void Draw(int64_t done);
  std::string label_;
  int64_t total_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace darkmatter::apps
