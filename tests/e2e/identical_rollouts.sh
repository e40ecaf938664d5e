#!/usr/bin/env bash
# Two identical rollout commands (one with 1 thread, one with 2) give files whose datasets
# and attributes are identical under h5diff.
set -euo pipefail
darkmatter=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$darkmatter" rollout --task control/inverted_pendulum --episodes 6 --seed 9 --threads 1 --out "$dir/a.h5"
"$darkmatter" rollout --task control/inverted_pendulum --episodes 6 --seed 9 --threads 2 --out "$dir/b.h5"
h5diff -c "$dir/a.h5" "$dir/b.h5"
echo "identical: h5diff found no differences"
"$darkmatter" rollout --task control/inverted_pendulum --episodes 6 --seed 10 --out "$dir/c.h5"
if h5diff -q "$dir/a.h5" "$dir/c.h5"; then
  echo "a different seed gave an identical file" >&2
  exit 1
fi
