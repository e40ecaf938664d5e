#!/usr/bin/env bash
# A file written by `darkmatter rollout` is read and checked by Python's h5py.
set -euo pipefail
darkmatter=$1 checker=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$darkmatter" rollout --task control/inverted_pendulum --episodes 3 --seed 1 --out "$dir/a.h5"
/usr/bin/python3 "$checker" "$dir/a.h5"
