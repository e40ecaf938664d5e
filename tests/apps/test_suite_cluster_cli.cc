// The suite on a scheduler from the command line: --shard auto from the array variables,
// --reuse of cells finished elsewhere in the tree, `suite submit --slurm` (dry run, no
// sbatch), merge of different configs, and `train` under srun's variables.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"

using darkmatter::testing::Darkmatter;
using darkmatter::testing::Scratch;
using darkmatter::testing::Shell;

namespace {

// `darkmatter ARGS` with the scheduler variables cleared and then `vars` set.
darkmatter::testing::Run WithEnv(const std::string& vars, const std::string& args) {
  return Shell("env -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_COUNT -u RANK -u WORLD_SIZE "
               "-u SLURM_STEP_ID -u SLURM_PROCID -u SLURM_NTASKS " + vars + " " +
               DARKMATTER_BIN + " " + args);
}

nlohmann::json LastJson(const std::string& output) {
  return nlohmann::json::parse(output.substr(output.find('{')));
}

}  // namespace

TEST_CASE("suite --shard auto: outside an array job exits 2 naming the variables",
          "[suite][cluster]") {
  Scratch scratch;
  const auto none = WithEnv("", "suite --preset test --shard auto --out " + (scratch / "s"));
  CHECK(none.code == 2);
  CHECK_THAT(none.output, Catch::Contains("SLURM_ARRAY_TASK_ID") &&
                              Catch::Contains("SLURM_ARRAY_TASK_COUNT") &&
                              Catch::Contains("RANK") && Catch::Contains("WORLD_SIZE"));
  const auto half = WithEnv("SLURM_ARRAY_TASK_ID=1",
                            "suite --preset test --shard auto --out " + (scratch / "s"));
  CHECK(half.code == 2);
  CHECK_THAT(half.output, Catch::Contains("SLURM_ARRAY_TASK_COUNT"));
  const auto bad = WithEnv("RANK=x WORLD_SIZE=2",
                           "suite --preset test --shard auto --out " + (scratch / "s"));
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Catch::Contains("RANK='x'"));
  const auto alone = WithEnv("SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=1",
                             "suite --preset test --shard auto --out " + (scratch / "s"));
  CHECK(alone.code == 2);
  CHECK_THAT(alone.output, Catch::Contains("auto/N"));
  CHECK_FALSE(std::filesystem::exists(scratch / "s/results.json"));
}

TEST_CASE("suite --shard auto runs the array task's shard, and --reuse skips cells done elsewhere",
          "[suite][cluster]") {
  Scratch scratch;
  const std::string common = "suite --preset test --json seeds=1 ";
  // Task 1 of 2 by Slurm's variables, task 0 of 2 by the generic ones.
  const auto one = LastJson(WithEnv("SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2",
                                    common + "--shard auto --out " + (scratch / "tree/shards/1")).output);
  const auto zero = LastJson(WithEnv("RANK=0 WORLD_SIZE=2",
                                     common + "--shard auto --out " + (scratch / "tree/shards/0")).output);
  CHECK(one["in_shard"].get<int>() + zero["in_shard"].get<int>() == one["cells"].get<int>());
  CHECK(one["ran"] == one["in_shard"]);
  // Resubmitted alone (an array of one task, index 1): auto/2 keeps the shard, and every
  // cell is found finished under the tree, so nothing runs again.
  const auto again = LastJson(WithEnv("SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=1",
                                      common + "--shard auto/2 --reuse " + (scratch / "tree") +
                                          " --out " + (scratch / "tree/shards/1b")).output);
  CHECK(again["in_shard"] == one["in_shard"]);
  CHECK(again["ran"] == 0);
  CHECK(again["skipped"] == one["in_shard"]);
  // The whole suite in one more folder under --reuse runs nothing either.
  const auto all = LastJson(Darkmatter(common + "--reuse " + (scratch / "tree") + " --out " +
                                       (scratch / "tree/all")).output);
  CHECK(all["ran"] == 0);
  CHECK(all["missing"] == 0);
  // Another config's cells under the tree are not reused.
  const auto other = LastJson(Darkmatter(common + "eval.episodes=1 --reuse " + (scratch / "tree") +
                                         " --out " + (scratch / "other")).output);
  CHECK(other["ran"] == other["cells"]);
}

TEST_CASE("suite submit --slurm: dry run prints both scripts, no sbatch exits 2",
          "[suite][cluster]") {
  Scratch scratch;
  const auto dry = Darkmatter("suite submit --slurm --preset test --tasks 3 --out " +
                              (scratch / "tree") + " seeds=1 --dry-run");
  REQUIRE(dry.code == 0);
  CHECK_THAT(dry.output, Catch::Contains("#SBATCH --array=0-2") &&
                             Catch::Contains("--shard auto/3") &&
                             Catch::Contains("--reuse ") && Catch::Contains("seeds=1") &&
                             Catch::Contains("suite merge ") &&
                             Catch::Contains("--dependency=afterok"));
  CHECK_FALSE(std::filesystem::exists(scratch / "tree"));
  const auto only = Darkmatter("suite submit --slurm --preset test --tasks 3 --only 1 --out " +
                               (scratch / "tree") + " --dry-run");
  CHECK_THAT(only.output, Catch::Contains("#SBATCH --array=1\n"));
  const auto no_sbatch = Shell("env PATH=/nonexistent " + std::string(DARKMATTER_BIN) +
                               " suite submit --slurm --preset test --out " + (scratch / "tree"));
  CHECK(no_sbatch.code == 2);
  CHECK_THAT(no_sbatch.output, Catch::Contains("sbatch is not on PATH"));
  const auto no_scheduler = Darkmatter("suite submit --preset test --out " + (scratch / "t"));
  CHECK(no_scheduler.code == 2);
  CHECK_THAT(no_scheduler.output, Catch::Contains("--slurm"));
  const auto bad_key = Darkmatter("suite submit --slurm --preset test --out " + (scratch / "t") +
                                  " nokey=1 --dry-run");
  CHECK(bad_key.code == 2);
  CHECK_THAT(bad_key.output, Catch::Contains("nokey"));
  const auto bad_only = Darkmatter("suite submit --slurm --tasks 2 --only 2 --out " +
                                   (scratch / "t") + " --dry-run");
  CHECK(bad_only.code == 2);
}

TEST_CASE("suite merge of shards of different configs exits 2 naming both hashes",
          "[suite][cluster]") {
  Scratch scratch;
  const auto a = LastJson(Darkmatter("suite --preset test --json seeds=1 --out " + (scratch / "a")).output);
  const auto b = LastJson(Darkmatter("suite --preset test --json seeds=1 eval.episodes=1 --out " +
                                     (scratch / "b")).output);
  const auto merge = Darkmatter("suite merge " + (scratch / "a") + " " + (scratch / "b") +
                                " --out " + (scratch / "m"));
  CHECK(merge.code == 2);
  CHECK_THAT(merge.output, Catch::Contains(a["config_hash"].get<std::string>()) &&
                               Catch::Contains(b["config_hash"].get<std::string>()));
}

TEST_CASE("train under srun's variables: --nproc must match the tasks (exit 2)",
          "[cluster][train]") {
  Scratch scratch;
  const auto run = WithEnv("SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_JOB_ID=7 "
                           "SLURM_STEP_NODELIST=localhost",
                           "train --model jepa --data " + (scratch / "none.h5") + " --out " +
                               (scratch / "o") + " --nproc 3");
  CHECK(run.code == 2);
  CHECK_THAT(run.output, Catch::Contains("give --nproc 2") && Catch::Contains("SLURM_NTASKS=2"));
}
