"""Shared fixtures: keys, per-dtype tolerances, matrix builders and a named-worst assert.

float64 checks carry ``@pytest.mark.x64``; they are skipped unless the process was started
with ``JAX_ENABLE_X64=1`` (x64 is process-wide), which ``.ci/run`` does in a second pass
with ``-m x64``.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

X64 = bool(jax.config.jax_enable_x64)

# Relative tolerances for well-conditioned work, by dtype.
RTOL = {np.dtype("float32"): 1e-5, np.dtype("float64"): 1e-10}


def pytest_collection_modifyitems(config, items):
    if X64:
        return
    skip = pytest.mark.skip(reason="float64 check: run with JAX_ENABLE_X64=1 -m x64")
    for item in items:
        if "x64" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def tol(dtype, scale: float = 1.0) -> float:
    """Relative tolerance for ``dtype`` (float32 1e-5, float64 1e-10), times ``scale``."""
    return RTOL[np.dtype(dtype)] * scale


def float_dtypes():
    """The float dtypes this process can test: float32, plus float64 under x64."""
    return [np.float32, np.float64] if X64 else [np.float32]


def random_matrix(rng, shape, *, cond: float | None = None, dtype=np.float64):
    """Random ``[..., m, n]`` matrices; with ``cond``, singular values span ``[1/cond, 1]``."""
    a = rng.standard_normal(shape)
    if cond is None:
        return a.astype(dtype)
    *batch, m, n = shape
    k = min(m, n)
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    s = np.logspace(0.0, -np.log10(cond), k)
    return ((u * s) @ vt).astype(dtype)


def random_spd(rng, shape, *, cond: float = 10.0, dtype=np.float64):
    """Random symmetric positive-definite ``[..., n, n]`` with condition number ``cond``."""
    *batch, n, _ = shape
    q, _ = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    w = np.logspace(0.0, -np.log10(cond), n)
    return ((q * w) @ np.swapaxes(q, -1, -2)).astype(dtype)


def random_rank_deficient(rng, shape, rank: int, *, dtype=np.float64):
    """Random ``[..., m, n]`` matrices of exactly ``rank``."""
    *batch, m, n = shape
    left = rng.standard_normal((*batch, m, rank))
    right = rng.standard_normal((*batch, rank, n))
    return (left @ right).astype(dtype)


def assert_close(actual, expected, *, rtol: float, atol: float = 0.0, name: str = "value"):
    """Assert ``|actual - expected| <= atol + rtol * max|expected|``, naming the worst entry.

    The scale is the largest magnitude of ``expected`` (a norm-wise test, as is right for
    linear-algebra results whose small entries carry absolute, not relative, error).
    """
    actual = np.asarray(actual, dtype=np.result_type(np.asarray(actual).dtype, np.float64))
    expected = np.asarray(expected, dtype=np.result_type(np.asarray(expected).dtype, np.float64))
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    if actual.size == 0:
        return
    both_nan = np.isnan(actual) & np.isnan(expected)
    err = np.where(both_nan, 0.0, np.abs(actual - expected))
    err = np.where(np.isnan(err), np.inf, err)
    scale = float(np.max(np.abs(np.where(np.isfinite(expected), expected, 0.0)), initial=0.0))
    bound = atol + rtol * scale
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    assert err[worst] <= bound, (
        f"{name}: worst entry {tuple(int(i) for i in worst)}: got {actual[worst]!r}, "
        f"expected {expected[worst]!r} (|err| {err[worst]:.3g} > bound {bound:.3g}; "
        f"rtol {rtol:g} x scale {scale:.3g} + atol {atol:g})"
    )


class CompileCounter:
    """Counts XLA backend compiles while active (``jax.monitoring`` duration events).

    Use as a context manager: ``with CompileCounter() as c: ...; assert c.count == 0``.
    """

    EVENT_SUFFIX = "backend_compile_duration"

    def __init__(self) -> None:
        self.count = 0
        self.events: list[str] = []

    def _listener(self, event: str, duration: float, **kwargs) -> None:
        if event.endswith(self.EVENT_SUFFIX):
            self.count += 1
            self.events.append(event)

    def __enter__(self) -> CompileCounter:
        jax.monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def __exit__(self, *exc) -> None:
        jax.monitoring.unregister_event_duration_listener(self._listener)


def compiles_on_repeat(fn, *calls) -> int:
    """Backend compiles during calls 2.. of ``fn`` (call 1 warms up).

    ``calls`` are argument tuples of the same shapes and dtypes with new values; results are
    blocked on, so asynchronous dispatch cannot hide a compile.
    """
    jax.block_until_ready(fn(*calls[0]))
    with CompileCounter() as counter:
        for args in calls[1:]:
            jax.block_until_ready(fn(*args))
    return counter.count


@pytest.fixture
def count_compiles():
    """The :func:`compiles_on_repeat` helper as a fixture."""
    return compiles_on_repeat


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    """Drop JAX's compiled-program caches after each test module.

    A full local run (2,260 tests in one process) crashed inside XLA's compiler after about
    1,100 tests, on a test that passes alone; keeping the process's caches small is the
    mitigation while the cause is open.
    """
    yield
    jax.clear_caches()
