#!/usr/bin/env python3
"""Checks a darkmatter episode file (docs/episode-format.md) with h5py, independently of C++.

Usage: python3 tests/python/check_episode_file.py FILE.h5 [FILE.h5 ...]

Prints one summary line per file and exits 0 when every file is valid; otherwise prints
each problem found ("FAIL <file>: <where>: <what>") and exits 1.
"""
import json
import math
import os
import re
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    # Debian's python3-h5py lives in the system interpreter; a pyenv/venv python3 first on
    # PATH may not see it.
    SYSTEM_PYTHON = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and os.path.exists(
        SYSTEM_PYTHON
    ):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    print("FAIL: h5py and numpy are required (apt-get install python3-h5py)")
    sys.exit(1)

FORMAT_VERSION = 1
FRAMES_GZIP_LEVEL = 4
NUMERIC_GZIP_LEVEL = 1  # shuffle + gzip on the other datasets of at least COMPRESS_MIN_BYTES
COMPRESS_MIN_BYTES = 4096
EPISODE_NAME = re.compile(r"^episode_(\d+)$")
# Episode-group attributes of the layout itself; label keys may not use them.
RESERVED_ATTRS = {"seed", "task", "length", "return", "info_keys", "scalar_keys", "string_keys"}
RESERVED_PREFIXES = ("final_", "any_")


class Checker:
    """Collects failures for one file."""

    def __init__(self, path):
        self.path = path
        self.failures = []

    def fail(self, where, what):
        self.failures.append(f"FAIL {self.path}: {where}: {what}")

    def expect(self, condition, where, what):
        if not condition:
            self.fail(where, what)
        return bool(condition)


def is_string(value):
    return isinstance(value, (str, bytes, np.bytes_, np.str_))


def as_text(value):
    return value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)


def scalar_attr(check, obj, where, name, kind):
    """Returns attribute `name` when present and of numpy kind ('i', 'u', 'f', 'S'), else None."""
    if name not in obj.attrs:
        check.fail(where, f"missing attribute '{name}'")
        return None
    value = obj.attrs[name]
    if kind == "S":
        if not check.expect(is_string(value), where, f"attribute '{name}' is not a string"):
            return None
        return as_text(value)
    value = np.asarray(value)
    if not check.expect(value.shape in ((), (1,)), where, f"attribute '{name}' is not a scalar"):
        return None
    kinds = "iu" if kind == "i" else kind
    if not check.expect(
        value.dtype.kind in kinds, where, f"attribute '{name}' has dtype {value.dtype}"
    ):
        return None
    return value.reshape(()).item()


def check_root(check, f):
    """Checks the file attributes; returns (total_episodes, total_steps) or None."""
    version = scalar_attr(check, f, "/", "format_version", "i")
    if version is not None:
        check.expect(version == FORMAT_VERSION, "/", f"format_version is {version}")
    task = scalar_attr(check, f, "/", "task", "S")
    if task is not None:
        check.expect(task != "", "/", "task is empty")
    creator = scalar_attr(check, f, "/", "creator", "S")
    if creator is not None:
        check.expect(creator != "", "/", "creator is empty")
    content_hash = scalar_attr(check, f, "/", "content_hash", "S")
    if content_hash is not None:
        check.expect(len(content_hash) == 16 and all(c in "0123456789abcdef" for c in content_hash),
                     "/", f"content_hash {content_hash!r} is not 16 hex digits")
    config = scalar_attr(check, f, "/", "config", "S")
    if config is not None:
        try:
            json.loads(config)
        except ValueError as error:
            check.fail("/", f"config is not valid JSON ({error})")
    episodes = scalar_attr(check, f, "/", "total_episodes", "i")
    steps = scalar_attr(check, f, "/", "total_steps", "i")
    for name in ("total_episodes", "total_steps"):
        if name in f.attrs:
            check.expect(f.attrs[name].dtype == np.int64, "/", f"{name} is not int64")
    return episodes, steps, task


def dataset(check, group, where, name, dtype, shape):
    """Returns dataset `name` as an array when it has `dtype` and `shape` (None = any)."""
    if name not in group:
        check.fail(where, f"missing dataset '{name}'")
        return None
    ds = group[name]
    if not check.expect(isinstance(ds, h5py.Dataset), where, f"'{name}' is not a dataset"):
        return None
    ok = check.expect(ds.dtype == np.dtype(dtype), f"{where}/{name}",
                      f"dtype {ds.dtype}, expected {np.dtype(dtype)}")
    shape_ok = len(ds.shape) == len(shape) and all(
        want is None or want == got for want, got in zip(shape, ds.shape))
    wanted = tuple("*" if s is None else s for s in shape)
    ok &= check.expect(shape_ok, f"{where}/{name}", f"shape {ds.shape}, expected {wanted}")
    return ds[()] if ok else None


def string_list_attr(check, obj, where, name):
    """Returns 1-D fixed-length string attribute `name` as a list of str, or None."""
    raw = np.asarray(obj.attrs[name])
    if not check.expect(raw.ndim == 1 and raw.dtype.kind == "S", where,
                        f"{name} is {raw.dtype} {raw.shape}, expected 1-D fixed-length strings"):
        return None
    return [as_text(k) for k in raw]


def plain_name(name):
    return bool(name) and name != "." and "/" not in name


def check_truth(check, g, where, t, diverged):
    """Optional truth group: each name in 'truth_names' is a float64 (T+1, ...) dataset."""
    if "truth" not in g:
        return False
    tg, tw = g["truth"], f"{where}/truth"
    if not check.expect(isinstance(tg, h5py.Group), where, "'truth' is not a group"):
        return True
    if "truth_names" not in tg.attrs:
        check.fail(tw, "missing attribute 'truth_names'")
        return True
    names = string_list_attr(check, tg, tw, "truth_names") or []
    check.expect(len(set(names)) == len(names) and all(map(plain_name, names)), tw,
                 f"bad truth_names {names}")
    arrays = {}
    for name in names:
        if name not in tg or not isinstance(tg[name], h5py.Dataset):
            check.fail(tw, f"missing dataset '{name}' listed in truth_names")
            continue
        shape = (t + 1,) + (None,) * max(tg[name].ndim - 1, 0)
        arrays[f"truth/{name}"] = dataset(check, tg, tw, name, np.float64, shape)
    check_finite(check, where, arrays, diverged)
    return True


def check_labels(check, g, where):
    """Keys listed in 'scalar_keys' / 'string_keys' exist as float64 / string attributes."""
    seen = set()
    for list_name, kind in (("scalar_keys", "f"), ("string_keys", "S")):
        if list_name not in g.attrs:
            continue
        for key in string_list_attr(check, g, where, list_name) or []:
            check.expect(plain_name(key) and key not in RESERVED_ATTRS and key not in seen
                         and not key.startswith(RESERVED_PREFIXES), where,
                         f"{list_name} lists a bad, reserved or repeated key '{key}'")
            seen.add(key)
            scalar_attr(check, g, where, key, kind)
            if kind == "f" and key in g.attrs:
                check.expect(np.asarray(g.attrs[key]).dtype == np.float64, where,
                             f"scalar label '{key}' is not float64")


def check_finite(check, where, arrays, diverged):
    """Every float is finite, except the final observation/state/truth of a diverged episode."""
    for name, array in arrays.items():
        if array is None or not array.size:
            continue
        if diverged and (name in ("observations", "states") or name.startswith("truth/")):
            array = array[:-1]
        if not np.all(np.isfinite(array)):
            check.fail(f"{where}/{name}", "contains NaN or infinity")


def check_flags(check, where, name, flags):
    """Flags are 0/1 and only the last step may be set."""
    if flags is None:
        return
    check.expect(np.all((flags == 0) | (flags == 1)), f"{where}/{name}", "values other than 0/1")
    check.expect(not np.any(flags[:-1]), f"{where}/{name}", "set before the last step")


def check_info_attrs(check, g, where, keys, infos):
    """final_<key> / any_<key> attributes agree with the infos dataset."""
    for i, key in enumerate(keys):
        final = scalar_attr(check, g, where, f"final_{key}", "f")
        any_set = scalar_attr(check, g, where, f"any_{key}", "u")
        if f"any_{key}" in g.attrs:
            check.expect(g.attrs[f"any_{key}"].dtype == np.uint8, where, f"any_{key} is not uint8")
        if infos is None:
            continue
        column = infos[:, i]
        want_final = float(column[-1]) if len(column) else 0.0
        if final is not None:
            check.expect(final == want_final or (math.isnan(final) and math.isnan(want_final)),
                         where, f"final_{key} = {final}, infos says {want_final}")
        if any_set is not None:
            check.expect(any_set == int(np.any(column != 0)), where,
                         f"any_{key} = {any_set} disagrees with infos")


def check_frames(check, g, where, t):
    """Optional frames: uint8 (T+1, H, W, 3), one frame per chunk, gzip level 4."""
    if "frames" not in g:
        return False
    ds = g["frames"]
    name = f"{where}/frames"
    check.expect(ds.dtype == np.uint8, name, f"dtype {ds.dtype}, expected uint8")
    if not check.expect(len(ds.shape) == 4 and ds.shape[0] == t + 1 and ds.shape[3] == 3, name,
                        f"shape {ds.shape}, expected ({t + 1}, H, W, 3)"):
        return True
    _, h, w, _ = ds.shape
    check.expect(h > 0 and w > 0, name, "empty frames")
    check.expect(ds.chunks == (1, h, w, 3), name, f"chunks {ds.chunks}, expected (1, {h}, {w}, 3)")
    check.expect(ds.compression == "gzip" and ds.compression_opts == FRAMES_GZIP_LEVEL, name,
                 f"compression {ds.compression} {ds.compression_opts}, expected gzip 4")
    ds[-1]  # the last chunk decompresses
    return True


def check_storage(check, g, where):
    """Numeric datasets of at least 4 KiB are chunked, shuffled and gzip level 1 (as
    docs/episode-format.md says), or all contiguous (a file written with --uncompressed);
    smaller or empty ones are contiguous."""
    def visit(name, ds):
        if not isinstance(ds, h5py.Dataset) or name == "frames":
            return
        path = f"{where}/{name}"
        pays = ds.nbytes >= COMPRESS_MIN_BYTES and all(n > 0 for n in ds.shape)
        if ds.compression is None:
            check.expect(ds.chunks is None, path, f"chunked {ds.chunks} without compression")
            return
        check.expect(pays, path, f"compressed but only {ds.nbytes} bytes")
        check.expect(ds.compression == "gzip" and ds.compression_opts == NUMERIC_GZIP_LEVEL and
                     ds.shuffle, path,
                     f"compression {ds.compression} {ds.compression_opts} shuffle {ds.shuffle}, "
                     f"expected gzip {NUMERIC_GZIP_LEVEL} with shuffle")
        ds[-1]  # the last chunk decompresses
    g.visititems(visit)


def check_episode(check, g, where):
    """Checks one episode group; returns (T, has_frames) or (None, False)."""
    for name, kind in (("seed", "u"), ("length", "i"), ("return", "f")):
        scalar_attr(check, g, where, name, kind)
    for name, dtype in (("seed", np.uint64), ("length", np.int64), ("return", np.float64)):
        if name in g.attrs:
            check.expect(g.attrs[name].dtype == dtype, where,
                         f"attribute '{name}' is not {np.dtype(dtype)}")
    scalar_attr(check, g, where, "task", "S")
    if "info_keys" not in g.attrs:
        check.fail(where, "missing attribute 'info_keys'")
        return None, False
    raw_keys = np.asarray(g.attrs["info_keys"])
    if not check.expect(raw_keys.ndim == 1 and raw_keys.dtype.kind == "S", where,
                        f"info_keys is {raw_keys.dtype} {raw_keys.shape}, "
                        "expected 1-D fixed-length strings"):
        return None, False
    keys = [as_text(k) for k in raw_keys]
    check.expect(len(set(keys)) == len(keys) and all(keys), where, f"bad info_keys {keys}")
    if "rewards" not in g:
        check.fail(where, "missing dataset 'rewards'")
        return None, False
    t = g["rewards"].shape[0] if g["rewards"].ndim == 1 else -1
    if "length" in g.attrs:
        check.expect(int(g.attrs["length"]) == t, where,
                     f"length = {g.attrs['length']}, rewards has {t} rows")

    arrays = {
        "observations": dataset(check, g, where, "observations", np.float64, (t + 1, None)),
        "actions": dataset(check, g, where, "actions", np.float64, (t, None)),
        "rewards": dataset(check, g, where, "rewards", np.float64, (t,)),
        "states": dataset(check, g, where, "states", np.float64, (t + 1, None)),
        "infos": dataset(check, g, where, "infos", np.float64, (t, len(keys))),
    }
    terminations = dataset(check, g, where, "terminations", np.uint8, (t,))
    truncations = dataset(check, g, where, "truncations", np.uint8, (t,))
    rng_states = dataset(check, g, where, "rng_states", np.uint64, (t + 1, 4))
    elapsed = dataset(check, g, where, "elapsed_steps", np.int64, (t + 1,))

    diverged = "final_diverged" in g.attrs and g.attrs["final_diverged"] != 0
    check_finite(check, where, arrays, diverged)
    check_flags(check, where, "terminations", terminations)
    check_flags(check, where, "truncations", truncations)
    if elapsed is not None:
        check.expect(np.array_equal(elapsed, np.arange(t + 1)), f"{where}/elapsed_steps",
                     "does not count 0..T")
    if rng_states is not None and t >= 0:
        check.expect(np.all(np.any(rng_states != 0, axis=1)), f"{where}/rng_states",
                     "an all-zero xoshiro state")
    rewards = arrays["rewards"]
    if rewards is not None and "return" in g.attrs:
        total = math.fsum(rewards.tolist())
        tolerance = 1e-9 * max(1.0, math.fsum(np.abs(rewards).tolist()))
        check.expect(abs(float(g.attrs["return"]) - total) <= tolerance, where,
                     f"return = {g.attrs['return']!r}, sum(rewards) = {total!r}")
    check_info_attrs(check, g, where, keys, arrays["infos"])
    check_truth(check, g, where, t, diverged)
    check_labels(check, g, where)
    check_storage(check, g, where)
    return t, check_frames(check, g, where, t)


def check_file(path):
    check = Checker(path)
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        check.fail("file", f"cannot open ({error})")
        return check.failures, None
    try:
        with f:
            summary = check_contents(check, f)
    except (OSError, KeyError, ValueError, TypeError) as error:  # unreadable data
        check.fail("file", f"cannot read ({type(error).__name__}: {error})")
        summary = None
    return check.failures, summary


def check_contents(check, f):
    """Checks an open file; returns the summary line."""
    episodes, steps, task = check_root(check, f)
    names = sorted((k for k in f if EPISODE_NAME.match(k)), key=lambda k: int(k[8:]))
    if episodes is not None:
        check.expect(names == [f"episode_{k}" for k in range(episodes)], "/",
                     f"total_episodes = {episodes} but groups are {names}")
    total, with_frames = 0, 0
    for name in names:
        t, has_frames = check_episode(check, f[name], name)
        total += max(t or 0, 0)
        with_frames += has_frames
    if steps is not None:
        check.expect(steps == total, "/", f"total_steps = {steps}, episodes hold {total}")
    return (f"OK {check.path}: format {FORMAT_VERSION}, task {task}, {len(names)} episodes, "
            f"{total} steps, frames in {with_frames}")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip())
        return 1
    ok = True
    for path in argv[1:]:
        failures, summary = check_file(path)
        for failure in failures:
            print(failure)
        if failures:
            ok = False
        else:
            print(summary)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
