// The `darkmatter` subcommands; each Add*Command registers one on the CLI11 app.
// Callbacks throw sim::BadInput for bad usage or input (exit 2), anything else exits 1.
#pragma once

namespace CLI {
class App;
}

namespace darkmatter::apps {

// darkmatter tasks [--json]
void AddTasksCommand(CLI::App& app);
// darkmatter rollout --task NAME | --mjcf FILE --policy random --episodes N --seed S ...
void AddRolloutCommand(CLI::App& app);
// darkmatter info FILE.h5 [--json]
void AddInfoCommand(CLI::App& app);
// darkmatter bench env|pool ...
void AddBenchCommand(CLI::App& app);
// darkmatter bench env: bare backend stepping vs the Env API on the same model.
void AddBenchEnvCommand(CLI::App& bench);
// darkmatter bench pool: EnvPool throughput for 1..nproc threads.
void AddBenchPoolCommand(CLI::App& bench);
// darkmatter bench render: headless frames/s at 64x64 and 256x256, 1 and all threads.
void AddBenchRenderCommand(CLI::App& bench);
// darkmatter bench train: jepa training steps/s in LibTorch against Debian's python3-torch.
void AddBenchTrainCommand(CLI::App& bench);
// darkmatter bench plan: planning ms/action in a state jepa (CEM, MPPI) vs the simulator.
void AddBenchPlanCommand(CLI::App& bench);
// bench sac: SAC gradient updates/s and env steps/s on 1 and 2 pool threads.
void AddBenchSacCommand(CLI::App& bench);
void AddBenchTdmpcCommand(CLI::App& bench);
// darkmatter play FILE.h5 [--episode K] [--video OUT.mp4 [--grid N --fps F --size WxH]] ...
void AddPlayCommand(CLI::App& app);
// darkmatter train --model jepa --data FILE.h5 [--config F] [key=value ...] --out DIR ...
void AddTrainCommand(CLI::App& app);
// darkmatter report RESULTS.json [--out report.html] [--csv DIR]
void AddReportCommand(CLI::App& app);
// darkmatter eval voe|ocp|probe|futures --model CKPT|untrained:NAME ... [--json]
void AddEvalCommand(CLI::App& app);
// darkmatter eval plan --task NAME --policy cem|mppi|cem:CKPT|... --episodes N (P4).
void AddEvalPlanCommand(CLI::App& eval);
// darkmatter suite --preset quick|full --out DIR [--shard I/N]; suite merge DIR... --out DIR
void AddSuiteCommand(CLI::App& app);

}  // namespace darkmatter::apps
