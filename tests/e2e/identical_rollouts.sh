#!/usr/bin/env bash
# Two identical rollout commands (one with 1 thread, one with 2) give files whose datasets
# and attributes are identical under h5diff: for a control task, physics twins with frames,
# a manipulation expert with frames and a driving expert. A different seed differs.
set -euo pipefail
darkmatter=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
check() {  # name, then rollout arguments
  local name=$1
  shift
  "$darkmatter" rollout "$@" --threads 1 --out "$dir/$name-1.h5" > /dev/null
  "$darkmatter" rollout "$@" --threads 2 --out "$dir/$name-2.h5" > /dev/null
  h5diff -c "$dir/$name-1.h5" "$dir/$name-2.h5"
  echo "identical: $name"
}
check pendulum --task control/inverted_pendulum --episodes 6 --seed 9
check twins --task physics/stack --twins --episodes 3 --render 32x32 --camera main
check arm --task manipulation/stack --policy expert --episodes 3 --render 32x32
check car --task driving/avoid --policy expert --episodes 3
"$darkmatter" rollout --task control/inverted_pendulum --episodes 6 --seed 10 --out "$dir/c.h5" > /dev/null
if h5diff -q "$dir/pendulum-1.h5" "$dir/c.h5"; then
  echo "a different seed gave an identical file" >&2
  exit 1
fi
