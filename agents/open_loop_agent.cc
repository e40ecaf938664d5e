#include "agents/open_loop_agent.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sim/error.h"

namespace darkmatter::agents {

OpenLoopAgent::OpenLoopAgent(std::vector<double> actions, int act_dim)
    : actions_(std::move(actions)), act_dim_(act_dim) {
  if (act_dim_ < 1 || actions_.empty() || actions_.size() % act_dim_ != 0) {
    throw sim::BadInput("open-loop actions must be a non-empty (rows x " +
                        std::to_string(act_dim_) + ") table");
  }
}

void OpenLoopAgent::Act(std::span<const double> observations, std::span<double> actions) {
  const size_t rows = actions_.size() / act_dim_;
  std::copy_n(actions_.begin() + (next_row_ % rows) * act_dim_, act_dim_, actions.begin());
  ++next_row_;
}

std::vector<double> LoadActionCsv(const std::string& path, int act_dim) {
  std::ifstream in(path);
  if (!in) throw sim::BadInput(path + ": cannot open action file");
  std::vector<double> actions;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    line = line.substr(0, line.find('#'));
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream fields(line);
    std::string field;
    int count = 0;
    const std::string where = path + " line " + std::to_string(line_number);
    while (fields >> field) {
      char* end = nullptr;
      errno = 0;
      const double value = std::strtod(field.c_str(), &end);
      if (end == field.c_str() || *end != '\0') {
        throw sim::BadInput(where + ": '" + field + "' is not a number");
      }
      if (!std::isfinite(value)) {
        throw sim::BadInput(where + ": action value '" + field + "' is not finite");
      }
      actions.push_back(value);
      ++count;
    }
    if (count != 0 && count != act_dim) {
      throw sim::BadInput(where + ": action has " + std::to_string(count) +
                          " values, expected " + std::to_string(act_dim));
    }
  }
  if (actions.empty()) throw sim::BadInput(path + ": no actions in file");
  return actions;
}

}  // namespace darkmatter::agents
