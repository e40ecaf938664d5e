#include "eval/suite.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <unistd.h>

#include "agents/rollout.h"
#include "eval/report.h"
#include "eval/suite_cluster.h"
#include "eval/suite_folder.h"
#include "eval/suite_methods.h"
#include "eval/suite_videos.h"
#include "sim/episode_file.h"
#include "sim/folder_lock.h"
#include "sim/error.h"
#include "tasks/registry.h"
#include "worldmodel/run_files.h"

namespace darkmatter::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using worldmodel::ReadJsonFile;
using worldmodel::WriteJsonAtomically;

// Bumped when a cell's meaning changes (part of every cell key).
constexpr int kCellVersion = 3;  // 3: driving/follow success needs keeping up

std::string IsoNow() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

// The settings a cell's result depends on: keys under the given prefixes.
json SettingsUnder(const json& config, const std::vector<std::string>& prefixes) {
  json out = json::object();
  for (const auto& [key, value] : config.items()) {
    for (const std::string& prefix : prefixes) {
      if (key.rfind(prefix, 0) == 0) out[key] = value;
    }
  }
  return out;
}

SuiteCell MakeCell(const std::string& task, const std::string& method, int seed,
                   const std::string& kind, double budget, const json& settings) {
  SuiteCell cell{task, method, seed, kind, budget, json(), ""};
  cell.config = {{"task", task},
                 {"method", method},
                 {"seed", seed},
                 {"budget", {{"kind", kind}, {"value", budget}}},
                 {"settings", settings},
                 {"versions",
                  {{"darkmatter", DARKMATTER_VERSION}, {"cell", kCellVersion},
                   {"results_format", kResultsFormatVersion}}}};
  cell.key = ConfigHash(cell.config);
  return cell;
}

bool IsPhysics(const SuiteCell& cell) { return cell.method == "jepa" && cell.budget_kind == "frames" &&
                                               cell.config["settings"].contains("physics.task"); }

// A cell's settings with "device" resolved on this machine (auto -> cpu or cuda): cells
// computed on different devices have different keys.
json Resolved(json settings, const SuiteSettings& s) {
  if (settings.contains("device")) settings["device"] = SuiteDevice(s);
  return settings;
}

// Number of collision events (rising edges of info "collision") in an episode.
double Collisions(const sim::Episode& episode) {
  const int key = sim::FindInfoKey(episode.info_keys, "collision");
  if (key < 0) return 0;
  const size_t width = episode.info_keys.size();
  double count = 0;
  bool previous = false;
  for (int64_t t = 0; t < episode.Length(); ++t) {
    const bool now = episode.infos[t * width + key] != 0.0;
    count += now && !previous;
    previous = now;
  }
  return count;
}

// Runs one control cell: prepare the method's agent, evaluate it on held-out test seeds,
// record the episodes to DIR/episodes/<key>.h5. Returns the cell file's content.
json RunControlCell(const SuiteCell& cell, const ResolvedSuite& suite, const fs::path& dir) {
  const SuiteSettings& s = suite.settings;
  const SuiteMethod& method = FindSuiteMethod(cell.method);
  sim::EnvSettings env_settings;
  const bool driving = cell.task.rfind("driving/", 0) == 0;
  env_settings.max_episode_steps = driving ? s.driving_max_episode_steps : s.max_episode_steps;
  auto env = tasks::MakeEnv(cell.task, env_settings);
  const fs::path work = dir / "work" / cell.key;
  fs::remove_all(work);  // a killed run's leftovers
  fs::create_directories(work);
  const fs::path cache = dir / "work" / "shared";
  fs::create_directories(cache);
  MethodContext ctx{&s,           cell.task,          cell.seed,          cell.budget,
                    env_settings, work.string(),      SuiteDevice(s),     cache.string()};
  const auto train_start = std::chrono::steady_clock::now();
  PreparedAgent prepared = method.prepare(ctx, *env);
  const double train_seconds = prepared.reused_seconds +
      std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count();

  const fs::path episodes_path = dir / "episodes" / (cell.key + ".h5");
  sim::SettingsBinder env_binder;
  sim::BindEnvSettings(&env_settings, &env_binder);
  const json file_config = {{"task", cell.task},
                            {"policy", cell.method},
                            {"split", "test"},
                            {"suite_cell", cell.key},
                            {"frame_skip", env->FrameSkip()},
                            {"max_episode_steps", env->MaxEpisodeSteps()},
                            {"env", env_binder.Values()}};
  // Episodes are kept only where videos can come from them: on the video tasks, at the
  // method's largest budget, and of those only the cell's best and worst episode (the best
  // and worst over all seeds is one of them, VideoScore).
  const auto video_tasks = SplitList(s.video_tasks);
  const std::vector<double> budgets = MethodBudgets(method, s);
  const bool keep = s.videos &&
                    std::find(video_tasks.begin(), video_tasks.end(), cell.task) !=
                        video_tasks.end() &&
                    cell.budget == *std::max_element(budgets.begin(), budgets.end());
  struct Kept {
    double score;
    int index;  // in `episodes`
    sim::Episode episode;
  };
  std::optional<Kept> best, worst;
  double successes = 0, return_sum = 0, collisions = 0, route = 0, seconds = 0, steps = 0;
  const double calls_before = prepared.model_calls ? prepared.model_calls() : 0.0;
  json episodes = json::array();
  // Test (start, goal) pairs: the test split's seed block of this seed, disjoint from the
  // demonstration and training seeds of the train split.
  const uint64_t first_seed =
      sim::SplitSeedBase(sim::Split::kTest) +
      static_cast<uint64_t>(cell.seed) * kSuiteSeedStride;
  for (int k = 0; k < s.eval_episodes; ++k) {
    const auto start = std::chrono::steady_clock::now();
    sim::Episode episode =
        agents::RecordEpisode(*env, *prepared.agent, first_seed + static_cast<uint64_t>(k));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool success = episode.AnyInfo("success");
    const double hits = Collisions(episode);
    successes += success;
    return_sum += episode.Return();
    collisions += hits;
    route += episode.FinalInfo("route_completion");
    steps += static_cast<double>(episode.Length());
    episodes.push_back({{"index", k},
                        {"seed", episode.seed},
                        {"success", success},
                        {"return", episode.Return()},
                        {"collisions", hits},
                        {"length", episode.Length()}});
    const double score = VideoScore(success, episode.Return());
    if (keep && (!best || score > best->score)) best = Kept{score, k, episode};
    if (keep && (!worst || score < worst->score)) worst = Kept{score, k, std::move(episode)};
  }
  if (keep && best) {
    sim::EpisodeWriter writer(episodes_path.string(),
                              sim::EpisodeFileHeader{.task = cell.task,
                               .creator = "darkmatter " DARKMATTER_VERSION " suite",
                               .config_json = file_config.dump()});
    writer.Append(best->episode);
    episodes[best->index]["file_episode"] = 0;
    if (worst->index != best->index) {
      writer.Append(worst->episode);
      episodes[worst->index]["file_episode"] = 1;
    }
    writer.Commit();
  }
  const double n = s.eval_episodes;
  const double calls = prepared.model_calls ? prepared.model_calls() - calls_before : steps;
  json metrics = {{"success", successes / n},
                  {"return", return_sum / n},
                  {"seconds_per_action", seconds / std::max(steps, 1.0)},
                  {"model_calls_per_action", calls / std::max(steps, 1.0)},
                  {"episodes", n},
                  {"episode_length", steps / n},
                  {"train_seconds", train_seconds}};
  if (driving) {
    metrics["collisions"] = collisions / n;
    metrics["route_completion"] = route / n;
  }
  fs::remove_all(work);
  return {{"episodes", episodes},
          {"episodes_file", keep ? "episodes/" + cell.key + ".h5" : ""},
          {"metrics", metrics},
          {"training", prepared.training}};
}

json RunCell(const SuiteCell& cell, const ResolvedSuite& suite, const fs::path& dir) {
  json body;
  if (IsPhysics(cell)) {
    const fs::path work = dir / "work" / cell.key;
    fs::remove_all(work);
    fs::create_directories(work);
    body = RunPhysicsCell(suite.settings, cell.seed, cell.budget, work.string());
    // The test twins and the jepa stay, for the real-vs-imagined videos.
    const json artefacts = body["artefacts"];
    body.erase("artefacts");
    fs::rename(artefacts["episodes"].get<std::string>(), dir / "episodes" / (cell.key + ".h5"));
    fs::rename(artefacts["checkpoint"].get<std::string>(), ModelPath(dir, cell.key));
    body["episodes_file"] = "episodes/" + cell.key + ".h5";
    body["model_file"] = "models/" + cell.key + ".pt";
    fs::remove_all(work);
  } else {
    body = RunControlCell(cell, suite, dir);
  }
  body["key"] = cell.key;
  body["config"] = cell.config;
  body["cell"] = {{"task", cell.task},
                  {"method", cell.method},
                  {"seed", cell.seed},
                  {"budget", {{"kind", cell.budget_kind}, {"value", cell.budget}}},
                  {"metrics", body["metrics"]}};
  body.erase("metrics");
  return body;
}

json MachineJson(const SuiteSettings& s) {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return {{"hostname", host},
          {"os", "Linux"},
          {"cores", static_cast<int>(std::thread::hardware_concurrency())},
          {"device", SuiteDevice(s)}};
}

// Writes results.json, CSV and report.html from the finished cells of `cells` in `dir`.
SuiteSummary Finalize(const ResolvedSuite& suite, const std::vector<SuiteCell>& cells,
                      const fs::path& dir, const std::string& command, const std::string& started,
                      double wall_seconds, const VideoFn& render,
                      const std::function<void(const std::string&)>& note) {
  SuiteSummary summary;
  summary.total = static_cast<int>(cells.size());
  std::map<std::string, json> done;
  json result_cells = json::array();
  json notes = json::array();
  for (const SuiteCell& cell : cells) {
    json body = LoadCell(dir, cell);
    if (body.is_null()) {
      ++summary.missing;
      continue;
    }
    result_cells.push_back(body["cell"]);
    for (const json& n : body.value("notes", json::array())) {
      notes.push_back(cell.task + " seed " + std::to_string(cell.seed) + ": " + n.get<std::string>());
    }
    done[cell.key] = std::move(body);
  }
  json methods = json::object();
  for (const std::string& name : SplitList(suite.settings.methods)) {
    const SuiteMethod& m = FindSuiteMethod(name);
    methods[name] = {{"family", m.family},
                     {"description", m.unavailable.empty() ? m.description
                                                           : m.description + " — " + m.unavailable}};
    if (!m.unavailable.empty()) notes.push_back(name + ": " + m.unavailable);
    for (const std::string& task : SplitList(suite.settings.tasks)) {
      if (m.unavailable.empty() && task.rfind(m.task_prefix, 0) != 0) {
        notes.push_back(name + ": not available on " + task + " (runs on " + m.task_prefix +
                        "* tasks only)");
      }
    }
  }
  if (!SplitList(suite.settings.physics_protocols).empty()) {
    methods["jepa"] = {{"family", "ssl"},
                       {"description", "physics protocols (P1-P3): a JEPA trained on reward-free "
                                       "clips of " + suite.settings.physics_task +
                                       " (budget: frames watched), vs an untrained null"}};
  }
  if (summary.missing > 0) {
    notes.push_back(std::to_string(summary.missing) + " of " + std::to_string(summary.total) +
                    " cells have no result in this folder (other shards or a stopped run)");
  }
  AggregationSettings aggregation;
  aggregation.replicates = suite.settings.bootstrap;
  json aggregates = ComputeAggregates(result_cells, aggregation);
  json results = {{"format", "darkmatter-results"},
                  {"format_version", kResultsFormatVersion},
                  {"suite",
                   {{"name", suite.settings.name},
                    {"darkmatter_version", DARKMATTER_VERSION},
                    {"config", suite.config},
                    {"config_hash", suite.config_hash},
                    {"headline_metric", "success"},
                    {"command", command}}},
                  {"machine", MachineJson(suite.settings)},
                  {"time", {{"started", started}, {"finished", IsoNow()},
                            {"wall_seconds", wall_seconds}}},
                  {"methods", methods},
                  {"cells", result_cells},
                  {"aggregation",
                   {{"statistic", "iqm"}, {"confidence", aggregation.confidence},
                    {"replicates", aggregation.replicates}, {"seed", aggregation.seed}}},
                  {"aggregates", aggregates},
                  {"notes", notes},
                  {"progress", {{"cells", summary.total}, {"finished", summary.total - summary.missing}}}};
  // Physics sections: the largest budget's lowest seed.
  const SuiteCell* physics = nullptr;
  for (const SuiteCell& c : cells) {
    if (!IsPhysics(c) || !done.count(c.key)) continue;
    if (!physics || c.budget > physics->budget ||
        (c.budget == physics->budget && c.seed < physics->seed)) {
      physics = &c;
    }
  }
  if (physics) {
    for (const auto& [key, section] : done[physics->key]["sections"].items()) results[key] = section;
  }
  // Planning: one operating point per (planner, task): means over seeds.
  json planning = json::object();
  for (const std::string& name : SplitList(suite.settings.methods)) {
    if (FindSuiteMethod(name).family != "oracle" && name != "jepa-cem") continue;
    std::map<std::string, std::vector<const json*>> by_task;
    for (const SuiteCell& c : cells) {
      if (c.method == name && done.count(c.key)) by_task[c.task].push_back(&done[c.key]["cell"]["metrics"]);
    }
    for (const auto& [task, list] : by_task) {
      double sec = 0, success = 0, calls = 0;
      for (const json* m : list) {
        sec += (*m)["seconds_per_action"].get<double>();
        success += (*m)["success"].get<double>();
        calls += (*m)["model_calls_per_action"].get<double>();
      }
      const double n = static_cast<double>(list.size());
      if (sec <= 0) continue;
      planning[name].push_back({{"seconds_per_action", sec / n},
                                {"success", success / n},
                                {"model_calls_per_action", calls / n},
                                {"setting", task + " " + suite.config["plan.samples"].get<std::string>() +
                                                "x" + suite.config["plan.iterations"].get<std::string>() +
                                                " h" + suite.config["plan.horizon"].get<std::string>()}});
    }
  }
  if (!planning.empty()) results["planning"] = planning;
  results["videos"] = RenderSuiteVideos(
      suite, cells, done, physics, physics ? ModelPath(dir, physics->key) : fs::path(), dir,
      render, note);

  ValidateResults(results, (dir / "results.json").string());
  summary.results_path = (dir / "results.json").string();
  WriteJsonAtomically(summary.results_path, results);
  ReportOptions options;
  options.source = summary.results_path;
  options.suite_dir = dir.string();
  summary.csv_dir = dir.string();
  WriteCsv(results, dir.string(), options);
  summary.report_path = (dir / "report.html").string();
  try {
    WriteReport(results, summary.report_path, options);
  } catch (const sim::BadInput& e) {
    // e.g. the plotting libraries are not installed: results and CSV stand on their own.
    summary.report_path.clear();
    if (note) note(std::string("report.html not written: ") + e.what());
  }
  summary.results = std::move(results);
  return summary;
}

}  // namespace

std::vector<SuiteCell> EnumerateCells(const ResolvedSuite& suite) {
  const SuiteSettings& s = suite.settings;
  std::vector<SuiteCell> cells;
  for (const std::string& task : SplitList(s.tasks)) {
    for (const std::string& name : SplitList(s.methods)) {
      const SuiteMethod& method = FindSuiteMethod(name);
      if (!method.unavailable.empty()) continue;
      if (task.rfind(method.task_prefix, 0) != 0) continue;  // e.g. goal-conditioned: arms only
      std::vector<std::string> prefixes = {"eval."};
      prefixes.insert(prefixes.end(), method.setting_prefixes.begin(), method.setting_prefixes.end());
      const json settings = Resolved(SettingsUnder(suite.config, prefixes), s);
      for (double budget : MethodBudgets(method, s)) {
        for (int seed = 0; seed < s.seeds; ++seed) {
          cells.push_back(MakeCell(task, name, seed, method.budget_kind, budget, settings));
        }
      }
    }
  }
  if (!SplitList(s.physics_protocols).empty()) {
    const json settings =
        Resolved(SettingsUnder(suite.config, {"physics.", "jepa.", "bootstrap", "device"}), s);
    for (double budget : ParseBudgets(s.physics_budgets, "physics.budgets")) {
      for (int seed = 0; seed < s.seeds; ++seed) {
        cells.push_back(MakeCell(s.physics_task, "jepa", seed, "frames", budget, settings));
      }
    }
  }
  return cells;
}

bool InShard(const std::string& key, int index, int count) {
  return std::stoull(key, nullptr, 16) % static_cast<uint64_t>(count) ==
         static_cast<uint64_t>(index);
}

std::pair<int, int> ParseShard(const std::string& text) {
  const auto slash = text.find('/');
  int index = -1, count = 0;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t used = 0;
    index = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("index");
    const std::string rest = text.substr(slash + 1);
    count = std::stoi(rest, &used);
    if (used != rest.size()) throw std::invalid_argument("count");
  } catch (const std::exception&) {
    throw sim::BadInput("--shard '" + text + "': expected I/N, e.g. 0/2");
  }
  if (count < 1 || index < 0 || index >= count) {
    throw sim::BadInput("--shard '" + text + "': need 0 <= I < N");
  }
  return {index, count};
}

SuiteSummary RunSuite(const ResolvedSuite& suite, const SuiteRunOptions& o) {
  if (o.out.empty()) throw sim::BadInput("--out DIR is required");
  if (o.shard_count < 1 || o.shard_index < 0 || o.shard_index >= o.shard_count) {
    throw sim::BadInput("--shard: need 0 <= I < N");
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string started = IsoNow();
  const fs::path dir(o.out);
  SuiteDevice(suite.settings);  // device=cuda without CUDA fails before any folder is made
  const sim::FolderLock lock(dir.string(), "darkmatter suite");
  ClaimFolder(dir, suite);
  const std::vector<SuiteCell> cells = EnumerateCells(suite);
  std::vector<const SuiteCell*> mine;
  for (const SuiteCell& cell : cells) {
    if (InShard(cell.key, o.shard_index, o.shard_count)) mine.push_back(&cell);
  }
  const std::map<std::string, fs::path> elsewhere =
      o.reuse.empty() ? std::map<std::string, fs::path>()
                      : FinishedCellsUnder(o.reuse, suite.config_hash);
  int done = 0, ran = 0, skipped = 0;
  bool stopped = false;
  for (const SuiteCell* cell : mine) {
    SuiteCellEvent event;
    event.total = static_cast<int>(mine.size());
    event.cell = cell;
    json body = LoadCell(dir, *cell);
    if (body.is_null() && elsewhere.count(cell->key) > 0) {
      // Finished by another task: adopted into this folder, not run again.
      const fs::path file = elsewhere.at(cell->key);
      body = LoadCellFile(file, *cell);
      if (!body.is_null()) AdoptCell(file.parent_path().parent_path(), dir, *cell, body);
    }
    if (!body.is_null()) {
      ++skipped;
      event.skipped = true;
    } else {
      if (o.stop_after >= 0 && ran >= o.stop_after) {
        stopped = true;
        break;
      }
      const auto cell_start = std::chrono::steady_clock::now();
      body = RunCell(*cell, suite, dir);
      event.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - cell_start).count();
      body["seconds"] = event.seconds;
      WriteJsonAtomically(CellPath(dir, cell->key), body);
      ++ran;
    }
    event.done = ++done;
    event.metrics = body["cell"]["metrics"];
    if (o.on_cell) o.on_cell(event);
  }
  fs::remove_all(dir / "work");
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SuiteSummary summary =
      Finalize(suite, cells, dir, o.command, started, wall, o.render_video, o.on_note);
  summary.in_shard = static_cast<int>(mine.size());
  summary.ran = ran;
  summary.skipped = skipped;
  summary.stopped = stopped;
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

SuiteSummary MergeSuites(const std::vector<std::string>& dirs, const std::string& out,
                         const VideoFn& render_video,
                         const std::function<void(const std::string&)>& on_note) {
  if (dirs.empty()) throw sim::BadInput("suite merge: give at least one suite folder");
  if (out.empty()) throw sim::BadInput("suite merge: --out DIR is required");
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::pair<std::string, json>> identities;
  for (const std::string& dir : dirs) {
    const json identity = ReadJsonFile(fs::path(dir) / "suite.json");
    if (!identity.is_object() || !identity.contains("config_hash") || !identity.contains("config")) {
      throw sim::BadInput("suite merge: '" + dir + "' is not a suite folder (no readable suite.json)");
    }
    identities.emplace_back(dir, identity);
  }
  std::string mismatch;
  for (const auto& [dir, identity] : identities) {
    if (identity["config_hash"] != identities[0].second["config_hash"]) {
      mismatch += " '" + dir + "' (" + identity["config_hash"].get<std::string>() + ")";
    }
  }
  if (!mismatch.empty()) {
    throw sim::BadInput("suite merge: different suite configs: '" + identities[0].first + "' (" +
                        identities[0].second["config_hash"].get<std::string>() + ") vs" + mismatch);
  }
  const ResolvedSuite suite =
      SuiteFromConfig(identities[0].second["config"], dirs[0] + "/suite.json");
  if (suite.config_hash != identities[0].second["config_hash"]) {
    throw sim::BadInput("suite merge: '" + dirs[0] + "/suite.json' config does not match its hash");
  }
  const std::vector<SuiteCell> cells = EnumerateCells(suite);
  // Every source cell is read once first: a damaged one is refused before --out is touched.
  for (const std::string& dir : dirs) {
    for (const SuiteCell& cell : cells) (void)LoadCell(dir, cell);
  }
  const fs::path target(out);
  const sim::FolderLock lock(target.string(), "darkmatter suite");
  ClaimFolder(target, suite);
  for (const std::string& dir : dirs) {
    if (fs::exists(target) && fs::exists(dir) && fs::equivalent(target, dir)) continue;
    for (const SuiteCell& cell : cells) {
      if (!LoadCell(target, cell).is_null()) continue;
      const json body = LoadCell(dir, cell);
      if (body.is_null()) continue;
      AdoptCell(dir, target, cell, body);
    }
  }
  std::string command = "darkmatter suite merge";
  for (const std::string& dir : dirs) command += " " + dir;
  command += " --out " + out;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SuiteSummary summary =
      Finalize(suite, cells, target, command, IsoNow(), wall, render_video, on_note);
  summary.in_shard = summary.total;
  return summary;
}

}  // namespace darkmatter::eval
