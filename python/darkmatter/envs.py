"""darkmatter.make and darkmatter.EnvPool: the C++ envs with Gymnasium semantics."""

import numpy as np

from . import _core
from . import spaces as _spaces

_DEFAULT_CAMERA = object()


def _setting_text(key, value):
    """The text the C++ settings binder parses for one keyword setting."""
    if isinstance(value, bool):
        raise TypeError(f"setting {key}={value!r}: expected a number or text, not a bool")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return value
    raise TypeError(f"setting {key}={value!r}: expected a number or text, got "
                    f"{type(value).__name__}")


def _settings_dict(settings):
    return {key: _setting_text(key, value) for key, value in settings.items()}


def _task_name(task, mjcf):
    if mjcf is not None:
        if task is not None:
            raise ValueError("give a task or mjcf=FILE, not both")
        return "mjcf:" + str(mjcf)
    if task is None:
        raise ValueError("a task name (see darkmatter.tasks()) or mjcf=FILE is required")
    return str(task)


def _observation_space(core):
    state = _spaces.box(core.observation_spec) if core.observes_state else None
    pixels = _spaces.box(core.pixel_spec) if core.observes_pixels else None
    if state is not None and pixels is not None:
        return _spaces.dict_space({"state": state, "pixels": pixels})
    return pixels if state is None else state


class Env:
    """One environment with Gymnasium semantics (reset, step, spaces, render).

    Observations are float64 state vectors, uint8 (H, W, 3) frames (observation="pixels"),
    or {"state", "pixels"} (observation="state+pixels"). After terminated or truncated,
    call reset() before the next step().
    """

    metadata = {"render_modes": ["rgb_array"]}
    render_mode = "rgb_array"

    def __init__(self, task=None, mjcf=None, **settings):
        self._core = _core.Env(_task_name(task, mjcf), _settings_dict(settings))
        self.observation_space = _observation_space(self._core)
        self.action_space = _spaces.box(self._core.action_spec)
        s = self._core.settings
        self._frame = (int(s["env.frame_width"]), int(s["env.frame_height"]), s["env.camera"])

    @property
    def name(self):
        return self._core.name

    @property
    def info_keys(self):
        return self._core.info_keys

    @property
    def settings(self):
        """Every env setting with its value as text, e.g. {"env.frame_skip": "2", ...}."""
        return self._core.settings

    @property
    def unwrapped(self):
        return self

    def reset(self, seed=None, options=None):
        """Starts an episode -> (obs, info); with a seed the env's RNG is re-seeded."""
        if options:
            raise ValueError(f"reset: options {sorted(options)} are not accepted (none are)")
        if seed is not None:
            seed = int(seed)
            if seed < 0:
                raise ValueError(f"reset: seed {seed} must be >= 0")
        return self._core.reset(seed)

    def step(self, action):
        """One control step -> (obs, reward, terminated, truncated, info).

        The action must have the action space's shape; NaN or infinite values are a
        ValueError, values outside the bounds are clipped."""
        return self._core.step(action)

    def render(self, width=None, height=None, camera=_DEFAULT_CAMERA):
        """RGB (H, W, 3) uint8 of the current state from the task's camera (env.camera;
        env.frame_width x env.frame_height unless given)."""
        w, h, c = self._frame
        return self._core.render(w if width is None else int(width),
                                 h if height is None else int(height),
                                 c if camera is _DEFAULT_CAMERA else str(camera))

    def get_state(self):
        """Everything that determines the future: {"physics", "rng", "elapsed_steps",
        "needs_reset"}; the same state plus the same actions gives the same trajectory."""
        return self._core.get_state()

    def set_state(self, state):
        """Restores a state from get_state() of an env of the same task and settings."""
        self._core.set_state(state)

    def truth(self):
        """Privileged ground truth of the current state: {field: array}."""
        return self._core.truth()

    def labels(self):
        """Episode labels (scalars, strings), valid once the episode has ended."""
        return self._core.labels()

    def expert_action(self):
        """The task's scripted expert action for the current state (has_expert tasks)."""
        return self._core.expert_action()

    def close(self):
        pass

    def __repr__(self):
        return f"darkmatter.Env({self.name!r})"


def make(task=None, mjcf=None, **settings):
    """An env of a registered task (darkmatter.tasks()) or of any MJCF model (mjcf=FILE).

    Settings are the env.* keys without the prefix, e.g. make("physics/collide",
    observation="pixels", frame_width=64); an unknown key or a bad value is a ValueError
    naming it."""
    return Env(task, mjcf=mjcf, **settings)


def tasks():
    """Every registered task: name, backend, description, observation and action specs,
    info keys, principles (twin sets), truth fields, expert, frame_skip, max_episode_steps."""
    return _core.task_entries()


class EnvPool:
    """num_envs envs of one task stepped by `threads` worker threads (0 = all cores).

    Env i is seeded seed + i; results are identical to the C++ pool (sim/env_pool.h) for
    any thread count. Arrays returned by reset/step/recv are read-only views into the
    pool's own buffers (no copy per step): they are overwritten by the next call, so copy
    what you keep. Next-step autoreset: an env whose episode ended is reset by the
    following step (its action ignored, reward 0, flags False)."""

    def __init__(self, task=None, num_envs=1, threads=0, seed=0, mjcf=None, **settings):
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self._core = _core.EnvPool(_task_name(task, mjcf), int(num_envs), int(threads),
                                   _settings_dict(settings))
        self.seed = int(seed)
        self.num_envs = self._core.num_envs
        self.single_observation_space = _observation_space(self._core)
        self.single_action_space = _spaces.box(self._core.action_spec)
        self.observation_space = _spaces.batched(self.single_observation_space, self.num_envs)
        self.action_space = _spaces.batched(self.single_action_space, self.num_envs)

    @property
    def num_threads(self):
        return self._core.num_threads

    @property
    def info_keys(self):
        return self._core.info_keys

    def reset(self, seed=None, options=None):
        """Resets every env (env i with seed + i) -> (obs, info)."""
        if options:
            raise ValueError(f"reset: options {sorted(options)} are not accepted (none are)")
        if seed is not None:
            self.seed = int(seed)
        return self._core.reset(self.seed)

    def step(self, actions):
        """Steps every env with its row of actions (num_envs x action shape)."""
        return self._core.step(actions)

    def send(self, actions, env_ids=None):
        """Queues one step for each env in env_ids (all when None), rows of actions."""
        ids = None if env_ids is None else [int(i) for i in np.asarray(env_ids).ravel()]
        self._core.send(actions, ids)

    def recv(self, batch_size=None):
        """Waits for batch_size of the queued steps (all when None); rows in completion
        order, info["env_id"] names their envs."""
        return self._core.recv(batch_size)

    def close(self):
        pass
