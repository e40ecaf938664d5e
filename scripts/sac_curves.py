#!/usr/bin/env python3
"""Learning curves and final evaluations of `train --model sac` run directories, as Markdown.

Usage: scripts/sac_curves.py [--every N] RUN_DIR...  (runs of one task; columns per run)

Each row is one metrics.jsonl line (one chunk, sac.chunk_steps env steps) every N env steps:
the mean undiscounted return and the success fraction of the training (stochastic) episodes
that ended in that chunk. The last rows give each run's deterministic evaluation on the
held-out test seeds (run.json "evaluation") and the interquartile mean over runs with a 95%
percentile bootstrap interval (2000 resamples of runs, fixed seed). Standard library only.
"""
import json
import random
import sys
from pathlib import Path


def iqm(values):
    """Mean of the middle 50% (fractional weights at the quartile edges, as rliable)."""
    v = sorted(values)
    n = len(v)
    lo, hi = 0.25 * n, 0.75 * n
    total = weight = 0.0
    for i, x in enumerate(v):
        w = max(0.0, min(i + 1, hi) - max(i, lo))
        total += w * x
        weight += w
    return total / weight


def main(argv):
    every = 5000
    if len(argv) > 1 and argv[0] == "--every":
        every, argv = int(argv[1]), argv[2:]
    runs = [Path(a) for a in argv]
    curves, evals = [], []
    for run in runs:
        rows = {}
        for line in (run / "metrics.jsonl").read_text().splitlines():
            m = json.loads(line)
            rows[m["step"]] = m
        curves.append(rows)
        info = json.loads((run / "run.json").read_text())
        evals.append(info.get("evaluation"))
    steps = sorted({s for rows in curves for s in rows if s % every == 0})
    keys = ["episode_return", "episode_success"]
    if any("eval_return" in m for rows in curves for m in rows.values()):
        keys += ["eval_return", "eval_success"]  # sac.eval_every: deterministic, test seeds
        steps_with_eval = {s for rows in curves for s, m in rows.items() if "eval_return" in m}
    names = {"episode_return": "train return", "episode_success": "train success",
             "eval_return": "test return", "eval_success": "test success"}
    header = " | ".join(f"{r.name} {names[k]}" for r in runs for k in keys)
    print(f"| env steps | {header} |")
    print("| ---: |" + " ---: |" * (len(runs) * len(keys)))
    for s in steps:
        cells = []
        for rows in curves:
            m = rows.get(s, {})
            for k in keys:
                v = m.get(k)
                fmt = "{:.2f}" if k.endswith("success") else "{:.1f}"
                cells.append(fmt.format(v) if isinstance(v, (int, float)) else "–")
        print(f"| {s} | " + " | ".join(cells) + " |")
    print()
    for run, e in zip(runs, evals):
        if e:
            print(f"- {run.name}: test seeds {e['episodes']}, success {e['success_rate']:.2f}, "
                  f"return {e['mean_return']:.1f}, length {e['mean_length']:.1f}")
    for key in ("success_rate", "mean_return"):
        values = [e[key] for e in evals if e]
        if len(values) >= 2:
            rng = random.Random(0)
            boots = sorted(iqm([rng.choice(values) for _ in values]) for _ in range(2000))
            print(f"- IQM {key} over {len(values)} runs: {iqm(values):.3f} "
                  f"[{boots[49]:.3f}, {boots[1949]:.3f}]")


if __name__ == "__main__":
    main(sys.argv[1:])
