"""Episode files (docs/episode-format.md) into numpy, and recorded from Python with the same
validating reader, recorder and atomic writer as the CLI.

    with darkmatter.episodes.open("clips.h5") as f:
        for episode in f:
            frames = episode["frames"]          # (T+1, H, W, 3) uint8
"""

import json
import os

from . import _core
from .envs import make


class EpisodeFile:
    """A validated episode file: len(), [k] and iteration give dicts of numpy arrays
    (observations, actions, rewards, terminations, truncations, states, infos, frames,
    truth {field: array}, scalars, strings, task, seed)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._reader = _core.EpisodeReader(self.path)

    @property
    def header(self):
        """format_version, task, creator, config_json, content_hash."""
        return self._reader.header

    @property
    def task(self):
        return self.header["task"]

    @property
    def content_hash(self):
        return self.header["content_hash"]

    def __len__(self):
        return len(self._reader)

    def __getitem__(self, k):
        if k < 0:
            k += len(self)
        return self._reader.read(int(k))

    def __iter__(self):
        for k in range(len(self)):
            yield self._reader.read(k)

    def close(self):
        self._reader = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open(path):  # noqa: A001 - mirrors h5py.File / builtins.open
    """Opens an episode file; a missing, truncated or malformed file is a ValueError naming
    the file and the dataset."""
    return EpisodeFile(path)


class Writer:
    """Writes episodes (dicts as EpisodeFile gives them) to `path` atomically: nothing
    appears at `path` until commit(); used as a context manager it commits on success and
    leaves `path` untouched on an exception."""

    def __init__(self, path, task, config=None):
        self._writer = _core.EpisodeWriter(os.fspath(path), str(task),
                                           json.dumps(config or {}))

    def append(self, episode):
        self._writer.append(episode)

    def commit(self):
        self._writer.commit()
        self._writer = None

    def abort(self):
        """Drops the temporary file; `path` stays as it was."""
        self._writer = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self._writer is not None:
            self.commit()
        else:
            self.abort()


def record_episode(env, policy, seed):
    """Records one episode of `env` (a darkmatter.Env) from reset(seed) to its end:
    policy is a callable observation -> action, "random" or "expert"."""
    return _core.record_episode(env._core, policy, int(seed))


def record(task, policy, episodes, out, seed=0, render=None, camera="", **settings):
    """Records `episodes` episodes (seeds seed, seed+1, ...) of a task with a Python policy
    (or "random"/"expert") into the episode file `out`, as `darkmatter rollout` does;
    render=(W, H) stores RGB frames. Nothing is written unless every episode succeeds."""
    if render is not None:
        width, height = render
        settings = dict(settings, observation="state+pixels", frame_width=int(width),
                        frame_height=int(height), camera=camera)
    env = make(task, **settings)
    config = {"task": env.name, "policy": policy if isinstance(policy, str) else "python",
              "episodes": int(episodes), "seed": int(seed),
              "render": "" if render is None else f"{render[0]}x{render[1]}",
              "camera": camera, "env": env.settings, "frame_skip": env._core.frame_skip,
              "max_episode_steps": env._core.max_episode_steps}
    recorded = [record_episode(env, policy, seed + k) for k in range(int(episodes))]
    with Writer(out, env.name, config) as writer:
        for episode in recorded:
            writer.append(episode)
    return len(recorded)
