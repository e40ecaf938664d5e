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
    """fn taking numpy arrays (tensors="numpy") or torch tensors (tensors="torch"); its
    result comes back as numpy. "auto" means torch when importable."""
    if tensors == "auto":
        tensors = "torch" if _torch is not None else "numpy"
    if tensors == "numpy":
        return fn
    if tensors != "torch":
        raise ValueError(f"tensors={tensors!r}: expected 'numpy', 'torch' or 'auto'")
    if _torch is None:
        raise ValueError("tensors='torch': python3-torch is not importable")

    def call(*arrays):
        result = fn(*[_torch.from_numpy(np.ascontiguousarray(a)) for a in arrays])
        if isinstance(result, _torch.Tensor):
            result = result.detach().cpu().numpy()
        return result

    return call
