"""numpy or torch at the boundary with a user's callable."""

import numpy as np

try:
    import torch as _torch
except ImportError:  # pragma: no cover - depends on the machine
    _torch = None


def torch_available():
    """True when python3-torch is importable."""
    return _torch is not None


def wrap(fn, tensors):
    """fn taking numpy arrays (tensors="numpy") or torch tensors (tensors="torch": arrays,
    also inside dicts, become tensors); its result, or each item of a tuple result, comes
    back as numpy. "auto" means torch when importable."""
    if tensors == "auto":
        tensors = "torch" if _torch is not None else "numpy"
    if tensors == "numpy":
        return fn
    if tensors != "torch":
        raise ValueError(f"tensors={tensors!r}: expected 'numpy', 'torch' or 'auto'")
    if _torch is None:
        raise ValueError("tensors='torch': python3-torch is not importable")

    def to_torch(value):
        if isinstance(value, np.ndarray):
            return _torch.from_numpy(np.ascontiguousarray(value))
        if isinstance(value, dict):
            return {key: to_torch(item) for key, item in value.items()}
        return value

    def to_numpy(value):
        if isinstance(value, _torch.Tensor):
            return value.detach().cpu().numpy()
        if isinstance(value, tuple):
            return tuple(to_numpy(item) for item in value)
        return value

    def call(*arrays):
        return to_numpy(fn(*[to_torch(a) for a in arrays]))

    return call
