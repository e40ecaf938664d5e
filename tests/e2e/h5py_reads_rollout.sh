#!/usr/bin/env bash
# A file written by `darkmatter rollout` is read and checked by Python's h5py.
set -euo pipefail
darkmatter=$1 checker=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$darkmatter" rollout --task control/inverted_pendulum --episodes 3 --seed 1 --out "$dir/a.h5"
/usr/bin/python3 "$checker" "$dir/a.h5"
# Long enough that the numeric datasets are compressed (shuffle + gzip), and the same
# episodes written uncompressed: both read and check in h5py, with the same contents.
"$darkmatter" rollout --task driving/lane_keep --episodes 2 --seed 3 --max-steps 200 --out "$dir/packed.h5"
"$darkmatter" rollout --task driving/lane_keep --episodes 2 --seed 3 --max-steps 200 --uncompressed --out "$dir/plain.h5"
/usr/bin/python3 "$checker" "$dir/packed.h5" "$dir/plain.h5"
/usr/bin/python3 - "$dir/packed.h5" "$dir/plain.h5" <<'PY'
import sys
import h5py
import numpy as np
packed, plain = (h5py.File(p, "r") for p in sys.argv[1:3])
states = packed["episode_0/states"]
assert states.compression == "gzip" and states.shuffle, (states.compression, states.shuffle)
assert plain["episode_0/states"].compression is None
for k in range(2):
    for name in ("observations", "actions", "rewards", "states", "infos", "rng_states"):
        a, b = packed[f"episode_{k}/{name}"][()], plain[f"episode_{k}/{name}"][()]
        assert a.dtype == b.dtype and np.array_equal(a, b), name
assert packed.attrs["content_hash"] == plain.attrs["content_hash"]
print("h5py: compressed and uncompressed files hold the same episodes")
PY
