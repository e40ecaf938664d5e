"""Observation and action spaces: gymnasium.spaces.Box when gymnasium is importable,
otherwise a small Box with the same fields (shape, low, high, dtype, sample, contains)."""

import numpy as np

try:  # pragma: no cover - depends on the machine
    import gymnasium as _gymnasium
except ImportError:  # pragma: no cover
    _gymnasium = None


class Box:
    """A box of `shape` with per-element bounds, as gymnasium.spaces.Box."""

    def __init__(self, low, high, shape, dtype):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.low = np.broadcast_to(np.asarray(low, dtype=self.dtype), self.shape).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=self.dtype), self.shape).copy()
        self._rng = np.random.default_rng()

    def seed(self, seed=None):
        """Re-seeds sample()."""
        self._rng = np.random.default_rng(seed)
        return [seed]

    def sample(self):
        """A uniform sample inside the bounds (normal where unbounded)."""
        low = np.where(np.isfinite(self.low), self.low, -1.0).astype(np.float64)
        high = np.where(np.isfinite(self.high), self.high, 1.0).astype(np.float64)
        if self.dtype.kind in "iu":
            return self._rng.integers(low, high + 1, size=self.shape).astype(self.dtype)
        value = self._rng.uniform(low, high, size=self.shape)
        unbounded = ~(np.isfinite(self.low) & np.isfinite(self.high))
        value[unbounded] = self._rng.normal(size=int(unbounded.sum()))
        return value.astype(self.dtype)

    def contains(self, x):
        """True when x has the shape and lies inside the bounds."""
        x = np.asarray(x)
        return (x.shape == self.shape and np.can_cast(x.dtype, self.dtype, "same_kind")
                and bool(np.all(x >= self.low)) and bool(np.all(x <= self.high)))

    __contains__ = contains

    def __repr__(self):
        if self.low.size == 0:
            return f"Box({self.shape}, {self.dtype})"
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"


class Dict(dict):
    """A mapping of named spaces, as gymnasium.spaces.Dict (sample and contains per key)."""

    def sample(self):
        return {key: space.sample() for key, space in self.items()}

    def contains(self, x):
        return isinstance(x, dict) and x.keys() == self.keys() and all(
            self[k].contains(x[k]) for k in self)

    @property
    def spaces(self):
        return dict(self)


def box(spec):
    """A Box from the C++ spec dict {shape, low, high, dtype}."""
    if _gymnasium is not None:
        return _gymnasium.spaces.Box(low=spec["low"].astype(spec["dtype"]),
                                     high=spec["high"].astype(spec["dtype"]),
                                     shape=spec["shape"], dtype=spec["dtype"])
    return Box(spec["low"], spec["high"], spec["shape"], spec["dtype"])


def dict_space(spaces):
    """A Dict space of named spaces."""
    if _gymnasium is not None:
        return _gymnasium.spaces.Dict(spaces)
    return Dict(spaces)


def batched(space, n):
    """The space of n stacked samples of a Box (EnvPool observations and actions)."""
    if isinstance(space, dict) or hasattr(space, "spaces") and not hasattr(space, "low"):
        return dict_space({k: batched(v, n) for k, v in dict(space.spaces if hasattr(space, "spaces") else space).items()})
    low = np.broadcast_to(space.low, (n,) + space.shape)
    high = np.broadcast_to(space.high, (n,) + space.shape)
    return box({"low": low, "high": high, "shape": (n,) + space.shape, "dtype": str(space.dtype)})
