#!/usr/bin/env bash
# Against a real Slurm (munged + slurmctld + slurmd on localhost, generated config, stopped at
# the end, tests/e2e/slurm_cluster.sh):
#  1. `suite submit --slurm --tasks 3` (an array of 3 shard tasks + an afterok merge job) gives
#     the same cells as the unsharded run; a task resubmitted alone reruns nothing;
#  2. `srun -n 2 darkmatter train --nproc 2` trains the same model as the local 2-process run.
# Exit 77 (ctest: skipped, with the reason printed) when the Slurm or munge packages are
# missing. The suite is the quick preset restricted to one task and three methods (12 cells,
# no videos) to keep CI time small.
# usage: slurm_suite.sh DARKMATTER_BIN
set -euo pipefail
darkmatter=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/slurm_cluster.sh"
missing=$(slurm_cluster_missing)
if [[ -n $missing ]]; then
  echo "SKIPPED: real-Slurm test needs$missing (apt-get install slurmctld slurmd slurm-client munge; scripts/test installs them)"
  exit 77
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIPPED: real-Slurm test needs root (slurmd starts job steps as their user; scripts/test runs as root)"
  exit 77
fi
# A test run inside someone's Slurm job must not talk to that cluster.
for variable in $(compgen -e | grep '^SLURM_' || true); do unset "$variable"; done
dir=$(mktemp -d /tmp/darkmatter-slurm.XXXXXX)
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 && -d $dir/cluster/log ]]; then
    echo "--- slurm logs (test failed) ---" >&2
    tail -n 30 "$dir"/cluster/log/*.log >&2 || true
    tail -n 30 "$dir"/tree/slurm/logs/* >&2 2>/dev/null || true
  fi
  slurm_cluster_stop
  rm -rf "$dir"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
slurm_cluster_start "$dir/cluster"
echo "slurm: one node up ($SLURM_CONF)"

# Waits (at most $2 seconds) until job $1 has left the queue; fails when it did not.
wait_for_job() {
  local job=$1 limit=$2 i
  for ((i = 0; i < limit; ++i)); do
    [[ -z $(squeue -h -j "$job" -o %i 2>/dev/null) ]] && return 0
    sleep 1
  done
  echo "job $job still queued/running after ${limit}s:" >&2
  squeue >&2 || true
  return 1
}

# ---- 1. the suite as an array of 3 + merge, against the unsharded run.
settings=(tasks=manipulation/reach methods=random,expert,bc videos.enabled=false videos.tasks= physics.protocols=)
start=$(date +%s%N)
timeout 600 "$darkmatter" suite --preset quick --out "$dir/whole" "${settings[@]}" --json > "$dir/whole.json"
whole_s=$(( ($(date +%s%N) - start) / 1000000 ))
"$darkmatter" suite submit --slurm --preset quick --tasks 3 --out "$dir/tree" "${settings[@]}" \
  --dry-run > "$dir/dry.txt"
grep -q -- '--array=0-2' "$dir/dry.txt"
grep -q -- '--shard auto/3' "$dir/dry.txt"
[[ ! -e $dir/tree/slurm ]] || { echo "--dry-run wrote files" >&2; exit 1; }
start=$(date +%s%N)
"$darkmatter" suite submit --slurm --preset quick --tasks 3 --out "$dir/tree" "${settings[@]}" \
  --json > "$dir/submit.json"
array_job=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["array_job"])' "$dir/submit.json")
merge_job=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["merge_job"])' "$dir/submit.json")
echo "submitted array job $array_job, merge job $merge_job"
wait_for_job "$array_job" 600
wait_for_job "$merge_job" 300
array_s=$(( ($(date +%s%N) - start) / 1000000 ))
state=$(scontrol show job "$merge_job" 2>/dev/null | grep -o 'JobState=[A-Z]*' || echo "JobState=gone")
[[ -f $dir/tree/results.json ]] || { echo "merge job ($state) wrote no results.json" >&2; exit 1; }
python3 - "$dir/whole/results.json" "$dir/tree/results.json" "$dir/tree/shards" <<'PY'
import json, os, sys
whole, merged = (json.load(open(p)) for p in sys.argv[1:3])
def cells(results):
    # Everything but wall-clock timings, which differ between any two runs.
    out = []
    for c in results["cells"]:
        m = {k: v for k, v in c["metrics"].items() if "seconds" not in k}
        out.append((c["task"], c["method"], c["seed"], json.dumps(c["budget"]), json.dumps(m, sort_keys=True)))
    return sorted(out)
assert merged["suite"]["config_hash"] == whole["suite"]["config_hash"]
assert len(whole["cells"]) == 12, len(whole["cells"])
assert cells(merged) == cells(whole), "merged cells differ from the unsharded run"
shards = sorted(os.listdir(sys.argv[3]))
assert shards == ["0", "1", "2"], shards
ran = [len(os.listdir(os.path.join(sys.argv[3], s, "cells"))) for s in shards]
assert sum(ran) == 12 and all(n > 0 for n in ran), ran
print(f"slurm array: 3 tasks ran {ran} cells, merged = unsharded ({len(whole['cells'])} cells)")
PY
# A task resubmitted alone finds its cells finished under the tree and runs none.
rm -rf "$dir/tree/shards/1/cells"
job=$(sbatch --parsable --array=1 "$dir/tree/slurm/suite-array.sbatch")
wait_for_job "$job" 300
log=$(ls "$dir"/tree/slurm/logs/suite-"${job}"_1.out)
grep -q 'shard 1/3' "$log" || { echo "resubmitted task did not run shard 1/3:" >&2; cat "$log" >&2; exit 1; }
grep -q '(0 run now' "$log" || { echo "resubmitted task reran cells:" >&2; cat "$log" >&2; exit 1; }
echo "resubmitted task 1 alone: shard 1/3, 0 cells rerun (finished under the tree)"
echo "timing: unsharded ${whole_s} ms, array of 3 + merge ${array_s} ms (submit to merged)"

# ---- 2. srun -n 2 train --nproc 2 against the local 2-process run.
"$darkmatter" rollout --task control/inverted_pendulum --episodes 4 --seed 1 --out "$dir/pendulum.h5" > /dev/null
train=(train --model jepa --data "$dir/pendulum.h5" --device cpu train.batch_size=4 model.hidden=16
       model.latent_dim=8 train.seed=3 train.steps=6 --nproc 2 --json)
timeout 300 "$darkmatter" "${train[@]}" --out "$dir/local" > "$dir/local.json"
timeout 300 srun -n 2 --time=5 "$darkmatter" "${train[@]}" --out "$dir/srun" > "$dir/srun.json"
python3 - "$dir/local.json" "$dir/srun.json" "$dir/srun/run.json" <<'PY'
import json, sys
def last_json(path):
    text = open(path).read()
    return json.loads(text[text.index("{"):text.rindex("}") + 1])
local = last_json(sys.argv[1])
run = json.load(open(sys.argv[3]))
assert run["processes"] == 2, run["processes"]
assert run["parameter_hash"] == local["parameter_hash"], (run["parameter_hash"], local["parameter_hash"])
print(f"srun -n 2: 2 ranks, parameter hash {run['parameter_hash']} = the local 2-process run")
PY
# Mismatched --nproc under srun is bad usage (exit 2), not a hang.
set +e
timeout 120 srun -n 2 --time=2 "$darkmatter" train --model jepa --data "$dir/pendulum.h5" --out "$dir/bad" --nproc 3 > "$dir/bad.txt" 2>&1
rc=$?
set -e
[[ $rc -ne 0 ]] && grep -q 'give --nproc 2' "$dir/bad.txt" || { echo "srun with --nproc 3: rc $rc" >&2; cat "$dir/bad.txt" >&2; exit 1; }
echo "PASS: real Slurm array + merge, resubmission and srun training"
