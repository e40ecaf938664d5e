// darkmatter suite --preset quick|full --out DIR [--shard I/N] [key=value ...] [--json]:
// the comparison suite (eval/suite.h), with progress, the headline table and videos of the
// best and worst episode per method rendered like `darkmatter play --video`;
// darkmatter suite merge DIR... --out DIR: combine shard folders into one results.json.
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/compare_video.h"
#include "apps/commands.h"
#include "apps/episode_video.h"
#include "apps/progress.h"
#include "apps/size_option.h"
#include "apps/suite_submit.h"
#include "eval/suite.h"
#include "eval/suite_cluster.h"
#include "eval/suite_settings.h"
#include "sim/error.h"

namespace darkmatter::apps {
namespace {

struct SuiteCliOptions {
  std::string preset = "quick";
  std::string config;                  // YAML file applied over the preset
  std::vector<std::string> overrides;  // key=value
  std::string out;
  std::string shard = "0/1";
  std::string reuse;                   // tree whose finished cells are not rerun
  bool json = false;
  bool show_config = false;
  int stop_after = -1;                 // hidden: stop after K cells (simulates a kill)
  std::string command;
  // merge
  std::vector<std::string> merge_dirs;
  std::string merge_out;
};

// One episode of an episode file into an MP4: the same panes, captions and strip chart as
// `darkmatter play FILE --episode K --video OUT`, or with a checkpoint those of
// `play FILE --compare CKPT --video OUT` (real against imagined).
void RenderVideo(const std::string& h5, int64_t episode, const std::string& checkpoint,
                 const std::string& mp4, const std::string& size) {
  const auto [pane_width, pane_height] = ParseSize(size, "videos.size");
  if (!checkpoint.empty()) {
    WriteCompareVideo({.file = h5, .episode = episode, .checkpoint = checkpoint, .video = mp4,
                       .pane_width = pane_width, .pane_height = pane_height, .quiet = true});
    return;
  }
  WriteEpisodeVideo({.file = h5, .episode = episode, .pane_width = pane_width,
                     .pane_height = pane_height, .label = ""},
                    mp4);
}

std::string Duration(double seconds) {
  char text[32];
  if (seconds >= 60) {
    std::snprintf(text, sizeof(text), "%dm%02ds", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(text, sizeof(text), "%.1fs", seconds);
  }
  return text;
}

// One line per physics task: the watching model's VoE set score beside its nulls and its
// held-out prediction/copy ratio, means over the seeds' cells (chance 0.5; docs/suite.md).
std::string PhysicsLines(const nlohmann::json& results) {
  std::map<std::string, std::map<std::string, std::pair<double, int>>> sums;  // task -> metric
  for (const auto& cell : results.value("cells", nlohmann::json::array())) {
    const std::string task = cell.value("task", std::string());
    if (task.rfind("physics/", 0) != 0 || !cell.contains("metrics")) continue;
    for (const char* key : {"voe_accuracy", "voe_accuracy_null", "voe_accuracy_motion",
                            "heldout_copy_ratio"}) {
      if (cell["metrics"].contains(key) && cell["metrics"][key].is_number()) {
        auto& [sum, n] = sums[task][key];
        sum += cell["metrics"][key].get<double>();
        ++n;
      }
    }
  }
  std::string text;
  for (const auto& [task, metrics] : sums) {
    const auto mean = [&](const char* key) -> std::string {
      const auto it = metrics.find(key);
      if (it == metrics.end() || it->second.second == 0) return "-";
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.2f", it->second.first / it->second.second);
      return buffer;
    };
    text += "  " + task + ": jepa " + mean("voe_accuracy") + " | untrained " +
            mean("voe_accuracy_null") + " | motion energy " + mean("voe_accuracy_motion") +
            " | prediction/copy " + mean("heldout_copy_ratio") + " (below 1 predicts motion)\n";
  }
  return text;
}

void PrintSummary(const eval::SuiteSummary& s, bool json, const std::string& what) {
  if (json) {
    nlohmann::json out = {{"results", s.results_path},
                          {"report", s.report_path},
                          {"csv", {s.csv_dir + "/cells.csv", s.csv_dir + "/aggregates.csv"}},
                          {"config_hash", s.results["suite"]["config_hash"]},
                          {"cells", s.total},
                          {"in_shard", s.in_shard},
                          {"ran", s.ran},
                          {"skipped", s.skipped},
                          {"missing", s.missing},
                          {"stopped", s.stopped},
                          {"seconds", s.seconds},
                          {"notes", s.results.value("notes", nlohmann::json::array())},
                          {"aggregates", s.results["aggregates"]}};
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("\n%s: %d cells (%d run now, %d already finished, %d missing) in %s\n",
              what.c_str(), s.total, s.ran, s.skipped, s.missing, Duration(s.seconds).c_str());
  for (const auto& note : s.results.value("notes", nlohmann::json::array())) {
    std::printf("note: %s\n", note.get<std::string>().c_str());
  }
  std::printf("\nheadline: success, IQM over seeds [95%% CI], largest budget\n%s",
              eval::HeadlineTable(s.results).c_str());
  const std::string physics = PhysicsLines(s.results);
  if (!physics.empty()) {
    std::printf("\nphysics: violation of expectation on held-out matched twin sets (set score, "
                "chance 0.5), mean over seeds\n%s", physics.c_str());
  }
  std::printf("\nresults: %s\n", s.results_path.c_str());
  if (!s.report_path.empty()) std::printf("report:  %s\n", s.report_path.c_str());
}

void RunSuiteCommand(const SuiteCliOptions& o) {
  if (o.show_config) {
    std::printf("%s", eval::DescribeSuite(o.preset).c_str());
    return;
  }
  const eval::ResolvedSuite suite = eval::ResolveSuite(o.preset, o.config, o.overrides);
  if (o.out.empty()) throw sim::BadInput("--out DIR is required");
  const auto [index, count] = eval::ResolveShard(o.shard);
  eval::SuiteRunOptions options;
  options.out = o.out;
  options.shard_index = index;
  options.shard_count = count;
  options.reuse = o.reuse;
  options.stop_after = o.stop_after;
  options.command = o.command;
  options.render_video = RenderVideo;
  options.on_note = [](const std::string& note) { std::fprintf(stderr, "%s\n", note.c_str()); };
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ProgressBar> bar;
  double ran_seconds = 0;
  int ran = 0;
  const bool quiet = o.json;
  options.on_cell = [&](const eval::SuiteCellEvent& e) {
    if (!bar) bar = std::make_unique<ProgressBar>("suite", e.total);
    if (!e.skipped) {
      ran_seconds += e.seconds;
      ++ran;
    }
    const double eta = ran > 0 ? ran_seconds / ran * (e.total - e.done) : 0.0;
    if (!quiet) {
      char budget[32];
      std::snprintf(budget, sizeof(budget), "%g", e.cell->budget);
      std::string metric;
      for (const char* key : {"success", "voe_accuracy"}) {
        if (e.metrics.contains(key)) {
          char text[48];
          std::snprintf(text, sizeof(text), "%s %.2f", key, e.metrics[key].get<double>());
          metric = text;
          break;
        }
      }
      std::printf("[%*d/%d] %-22s %-12s seed %d %s %-6s %s  %s  eta %s\n",
                  e.total >= 100 ? 3 : 2, e.done, e.total, e.cell->task.c_str(),
                  e.cell->method.c_str(), e.cell->seed, e.cell->budget_kind.c_str(), budget,
                  metric.c_str(), e.skipped ? "(done before)" : Duration(e.seconds).c_str(),
                  Duration(eta).c_str());
      std::fflush(stdout);
    }
    bar->Update(e.done);
  };
  if (!quiet) {
    std::printf("suite %s (config %s) -> %s, shard %d/%d\n", suite.settings.name.c_str(),
                suite.config_hash.c_str(), o.out.c_str(), index, count);
  }
  eval::SuiteSummary summary = eval::RunSuite(suite, options);
  if (bar) bar->Finish();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PrintSummary(summary, o.json, summary.stopped ? "suite stopped early" : "suite");
}

void RunMergeCommand(const SuiteCliOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  eval::SuiteSummary summary = eval::MergeSuites(
      o.merge_dirs, o.merge_out, RenderVideo,
      [](const std::string& note) { std::fprintf(stderr, "%s\n", note.c_str()); });
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PrintSummary(summary, o.json, "merge");
}

}  // namespace

void AddSuiteCommand(CLI::App& app) {
  auto o = std::make_shared<SuiteCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "suite", "Run the comparison suite (tasks x methods x seeds x budgets) into DIR");
  cmd->add_option("--preset", o->preset, "Preset: quick, full or test")->capture_default_str();
  cmd->add_option("--config", o->config, "YAML file applied over the preset "
                                         "(e.g. configs/suite_full.yaml)");
  cmd->add_option("--out", o->out, "Suite folder: cells/, results.json, report.html, videos/");
  cmd->add_option("--shard", o->shard,
                  "Run only shard I of N (cells assigned by key), e.g. 0/2; auto: I and N from "
                  "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or RANK/WORLD_SIZE; auto/N: N given")
      ->capture_default_str();
  cmd->add_option("--reuse", o->reuse,
                  "Skip cells already finished in any suite folder (same config) under this "
                  "folder, e.g. the output tree of an array job");
  cmd->add_flag("--json", o->json, "Print the summary as JSON");
  cmd->add_flag("--show-config", o->show_config, "Print every settings key of the preset");
  cmd->add_option("--stop-after", o->stop_after, "Stop after running K cells")
      ->group("");  // hidden: simulates a killed run in tests
  cmd->add_option("overrides", o->overrides, "Settings as key=value, e.g. seeds=5");
  CLI::App* merge = cmd->add_subcommand(
      "merge", "Combine the cells of suite folders (same config) into one results.json + report");
  merge->add_option("dirs", o->merge_dirs, "Suite folders (e.g. shards)")->required();
  merge->add_option("--out", o->merge_out, "Merged suite folder")->required();
  merge->add_flag("--json", o->json, "Print the summary as JSON");
  merge->callback([o] { RunMergeCommand(*o); });
  auto submit_options = std::make_shared<SuiteSubmitOptions>();
  CLI::App* submit = cmd->add_subcommand(
      "submit", "Submit the suite to a scheduler: an array of N shard tasks into DIR/shards/I "
                "plus a merge job after them (docs/suite.md, On a cluster)");
  submit->add_flag("--slurm", submit_options->slurm, "Submit with Slurm's sbatch (required)");
  submit->add_option("--preset", submit_options->preset, "Preset: quick, full or test")
      ->capture_default_str();
  submit->add_option("--config", submit_options->config, "YAML file applied over the preset");
  submit->add_option("--out", submit_options->out, "Output tree (shards/, slurm/, the merged suite)")
      ->required();
  submit->add_option("--tasks", submit_options->tasks, "Array tasks (shards)")->capture_default_str();
  submit->add_option("--only", submit_options->only,
                     "Resubmit only these task indices, e.g. --only 1 (the merge job follows them)")
      ->delimiter(',');
  submit->add_option("--sbatch-arg", submit_options->sbatch_args,
                     "Extra sbatch option for both jobs, e.g. --sbatch-arg=--partition=cpu");
  submit->add_flag("--dry-run", submit_options->dry_run, "Print the scripts; submit nothing");
  submit->add_flag("--json", submit_options->json, "Print the job ids as JSON");
  submit->add_option("overrides", submit_options->overrides, "Settings as key=value");
  submit->callback([submit_options] { SubmitSuite(*submit_options); });
  cmd->callback([o, cmd, merge, submit] {
    if (merge->parsed() || submit->parsed()) return;
    o->command = "darkmatter suite --preset " + o->preset + " --out " + o->out;
    if (o->shard != "0/1") o->command += " --shard " + o->shard;
    if (!o->reuse.empty()) o->command += " --reuse " + o->reuse;
    for (const std::string& item : o->overrides) o->command += " " + item;
    RunSuiteCommand(*o);
  });
}

}  // namespace darkmatter::apps
