"""The batched Jacobi fast path for tiny symmetric matrices, on hard spectra."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import linalg
from mlmath_jax.linalg import _small_eigh
from tests.conftest import assert_close


def _hard_batch(rng, batch, n):
    """Random orthogonal bases with repeated, nearly repeated, equal and graded spectra."""
    q, _ = np.linalg.qr(rng.standard_normal((batch, n, n)))
    w = rng.standard_normal((batch, n))
    k = batch // 6
    w[:k, 1] = w[:k, 0]  # a double eigenvalue
    w[k : 2 * k, :] = 1.0  # a multiple of the identity (rotated: rounding off-diagonals)
    w[2 * k : 3 * k, 1] = w[2 * k : 3 * k, 0] * (1 + 1e-6)  # nearly repeated
    w[3 * k : 4 * k] *= np.logspace(0, -6, n)  # graded
    w[4 * k : 5 * k, :-1] = 0.0  # rank one
    a = (q * w[:, None, :]) @ np.swapaxes(q, -1, -2)
    a = (a + np.swapaxes(a, -1, -2)) / 2
    a[5 * k] = 0.0  # the zero matrix
    return a


def _check(a, w, v, rtol):
    a = a.astype(np.float64)
    w = np.asarray(w, np.float64)
    v = np.asarray(v, np.float64)
    n = a.shape[-1]
    assert np.all(np.diff(w, axis=-1) >= 0)
    scale = np.maximum(np.abs(a).max(axis=(-2, -1)), 1e-300)[..., None, None]
    assert_close(
        np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(n), v.shape), rtol=rtol, name="VᵀV"
    )
    assert_close(
        (a @ v - v * w[..., None, :]) / scale,
        np.zeros_like(v),
        rtol=0,
        atol=rtol,
        name="(AV - VΛ)/|A|",
    )
    assert_close(
        w / scale[..., 0],
        np.linalg.eigvalsh(a) / scale[..., 0],
        rtol=0,
        atol=rtol,
        name="eigenvalues",
    )


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_jacobi_hard_spectra_float32(rng, n):
    a = _hard_batch(rng, 3000, n).astype(np.float32)
    w, v = jax.jit(_small_eigh.jacobi_eigh_small)(jnp.asarray(a))
    assert w.dtype == jnp.float32
    _check(a, w, v, rtol=1e-5)  # orthonormal to 1e-5 in float32, as required


@pytest.mark.x64
@pytest.mark.parametrize("n", [2, 3, 5])
def test_jacobi_hard_spectra_float64(rng, n):
    a = _hard_batch(rng, 600, n)
    w, v = jax.jit(_small_eigh.jacobi_eigh_small)(jnp.asarray(a))
    assert w.dtype == jnp.float64
    _check(a, w, v, rtol=1e-13)


def test_jacobi_extreme_scales(rng):
    base = _hard_batch(rng, 60, 3)
    for s in (1e-30, 1e30):
        a = (base * s).astype(np.float32)
        w, v = linalg.eigh(a)
        assert np.all(np.isfinite(w)) and np.all(np.isfinite(v))
        _check(a, w, v, rtol=1e-5)


def test_jacobi_nan_propagates_without_spoiling_the_batch(rng):
    a = _hard_batch(rng, 3000, 3).astype(np.float32)
    a[3, 0, 1] = a[3, 1, 0] = np.nan
    w, v = linalg.eigh(a)
    assert np.all(np.isnan(w[3]))
    keep = np.r_[0:3, 4:3000]
    _check(a[keep], w[keep], v[keep], rtol=1e-5)


def test_dispatch_threshold_agrees_with_lapack(rng):
    # Both sides of the size threshold give the same answer as LAPACK.
    for n in (_small_eigh.MAX_N, _small_eigh.MAX_N + 1):
        a = _hard_batch(rng, 60, n).astype(np.float32)
        w, v = linalg.eigh(a)
        _check(a, w, v, rtol=2e-5)


def test_chunked_large_batch(rng):
    # More than two CPU chunks, with padding: same answers as unchunked.
    size = 2 * _small_eigh._CPU_CHUNK + 1001
    a = _hard_batch(rng, size, 3).astype(np.float32).reshape(size, 1, 3, 3)
    w, v = linalg.eigh(a)
    assert w.shape == (size, 1, 3) and v.shape == (size, 1, 3, 3)
    _check(a[:, 0], w[:, 0], v[:, 0], rtol=1e-5)
    w2, _ = _small_eigh.jacobi_eigh_small(jnp.asarray(a[-1500:]))
    assert_close(w[-1500:], w2, rtol=1e-6, name="chunked vs whole")


def test_jacobi_pieces_alone(rng):
    # init scales to unit max-norm; sweeps drive the off-diagonal part to rounding level
    # (quadratically); finish sorts and rescales.
    a = _hard_batch(rng, 120, 4).astype(np.float32)
    scale, state = _small_eigh._jacobi_init(jnp.asarray(a))
    amax = np.abs(a).max(axis=(-2, -1))
    assert_close(scale, np.where(amax > 0, amax, 1.0), rtol=1e-6, name="scale")
    off = [float(_small_eigh._off_diagonal(4, state))]
    for _ in range(6):
        state = _small_eigh._jacobi_sweep(4, state)
        off.append(float(_small_eigh._off_diagonal(4, state)))
    assert off[0] > 0.1 and off[-1] <= np.finfo(np.float32).eps, off
    w, v = _small_eigh._jacobi_finish(4, state, scale)
    _check(a, w, v, rtol=1e-5)
