"""Optional peers: PyTorch (CPU) and CuPy contenders when they import, never required."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .harness import Contender


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def torch_cpu(op: Callable) -> list[Contender]:
    """A host contender applying ``op(torch, *tensors)`` to zero-copy views of the inputs."""
    torch = _module("torch")
    if torch is None:
        return []

    def fn(*arrays):
        out = op(torch, *(torch.from_numpy(a) for a in arrays))
        return out.numpy()

    return [Contender("torch (cpu)", fn, "host")]


def cupy_gpu(op: Callable) -> list[Contender]:
    """A host-driven CuPy contender; inputs are moved to the GPU once, outside the timing."""
    cupy = _module("cupy")
    if cupy is None:
        return []
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            return []
    except Exception:  # no driver or no device: CuPy imports but cannot run
        return []
    cache: dict[tuple[int, ...], tuple] = {}

    def fn(*arrays):
        key = tuple(id(a) for a in arrays)
        if key not in cache:
            cache.clear()
            cache[key] = tuple(cupy.asarray(a) for a in arrays)
        out = op(cupy, *cache[key])
        cupy.cuda.Stream.null.synchronize()
        return _Lazy(out)

    return [Contender("cupy (gpu)", fn, "host")]


class _Lazy:
    """A CuPy result copied to the host only when the correctness check reads it."""

    def __init__(self, value):
        self.value = value

    def __array__(self, dtype=None, copy=None):
        host = self.value.get()
        return host if dtype is None else host.astype(dtype)
