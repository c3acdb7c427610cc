"""The ``k`` largest eigenpairs of a symmetric matrix without a large LAPACK call.

What ``ml.PCA`` needs for float32 data: on CPU, ``jnp.linalg.eigh`` of a matrix of about
100 or more rows runs in OpenBLAS's thread pool, whose workers then spin for a while and
take cores from the next XLA product. Measured on a 2-core Xeon (2026-12-02, float32): a
100,000 x 256 scatter matrix alone 91-98 ms a call, followed by ``eigh`` of its leading
16, 32 or 64 rows 91-111 ms, of 128 or 256 rows 109-144 ms (the ``eigh`` alone: 5-8 ms).

:func:`dominant_eigh` finds the ``k`` largest eigenpairs by restarted block Lanczos: each
restart builds a block Krylov basis of at most 64 columns from the current ``b = k + p``
Ritz vectors (block Gram–Schmidt, twice, in XLA products), and the Rayleigh–Ritz step and
every orthonormalisation are ``eigh`` calls of at most 64 rows (which stay on the calling
thread). It stops when every wanted Ritz pair's residual ``||S x - θ x||`` is within a few
ulps of ``||S||``, the accuracy of a dense ``eigh``; if that is not reached in
``_RESTARTS`` restarts (a nearly flat spectrum), :func:`top_eigh` falls back to the
dense :func:`linalg.eigh` under ``lax.cond``, so only such spectra pay for both.

Float32 only: at float64's precision the restarts needed (20-30 for 256 x 256 covariances
of decaying or flat spectra, against 2-10 in float32; measured 17-40 ms against 6-7 ms
for ``eigh``) cost more than the threads' spin they avoid.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

from .. import linalg

HIGHEST = lax.Precision.HIGHEST

MAX_BASIS = 64  # columns of the Krylov basis: eigh of this size runs on the calling thread
_OVERSAMPLE = 6  # Ritz vectors kept beyond the k wanted
_RESTARTS = 24  # restarts before falling back to the dense eigh
_TOL_ULPS = 8.0  # residual bound, in ulps of the largest Ritz value, times sqrt(d)


def supported(d: int, k: int, dtype) -> bool:
    """Whether :func:`top_eigh` iterates: float32, ``d > MAX_BASIS``, two blocks fit."""
    b = k + _OVERSAMPLE
    return jnp.dtype(dtype) == jnp.float32 and d > MAX_BASIS and 2 * b <= MAX_BASIS


def _mm(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.matmul(a, b, precision=HIGHEST)


def _orthonormalise(w: jax.Array, floor: jax.Array) -> jax.Array:
    """Orthonormal columns spanning ``w``'s columns above ``floor`` in norm.

    Columns of norm at most ``floor`` (rounding noise: a converged vector's Krylov
    direction) become zero; the rest are scaled to unit norm, so that a direction tiny
    beside the others is kept, and made orthonormal by the polar factor twice over
    (``w G^{-1/2}`` with ``G = wᵀw`` from a small ``eigh``), dropping directions below
    ``sqrt(eps)`` of the largest (linearly dependent columns).
    """
    eps = jnp.finfo(w.dtype).eps
    norms = jnp.linalg.norm(w, axis=0)
    live = norms > floor
    w = w * jnp.where(live, 1 / jnp.where(live, norms, 1), 0)
    for _ in range(2):
        g, u = jnp.linalg.eigh(_mm(w.T, w))
        keep = g > eps * w.shape[1]
        scale = jnp.where(keep, lax.rsqrt(jnp.where(keep, g, 1)), 0)
        w = _mm(w, u * scale)
    return w


def _basis(s: jax.Array, x: jax.Array, blocks: int, floor: jax.Array) -> jax.Array:
    """An orthonormal basis of ``[x, Sx, ..., S^(blocks-1) x]`` by block Gram–Schmidt."""
    v = _orthonormalise(x, jnp.zeros((), x.dtype))
    basis = v
    for _ in range(blocks - 1):
        w = _mm(s, v)
        for _ in range(2):
            w = w - _mm(basis, _mm(basis.T, w))
        v = _orthonormalise(w, floor)
        basis = jnp.concatenate([basis, v], axis=1)
    return basis


def dominant_eigh(s: jax.Array, k: int) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """The ``k`` largest eigenpairs of the symmetric ``[d, d]`` matrix ``s``.

    Returns ``(values, vectors, converged, restarts)``: ``values`` ``[k]`` in decreasing
    order, ``vectors`` ``[d, k]`` orthonormal columns, ``converged`` a bool scalar (where it
    is False the pairs are not accurate and the caller must use a dense ``eigh``) and the
    number of restarts run.
    """
    d = s.shape[-1]
    b = k + _OVERSAMPLE
    blocks = MAX_BASIS // b
    dtype = s.dtype
    eps = jnp.finfo(dtype).eps
    x0 = jax.random.normal(jax.random.key(0), (d, b), dtype)
    tol = _TOL_ULPS * math.sqrt(d) * eps
    # Rounding in S v for a unit v is of order eps ||S||_F: directions below it are noise.
    floor = 4 * eps * jnp.linalg.norm(s)

    def restart(x):
        v = _basis(s, x, blocks, floor)
        sv = _mm(s, v)
        h = _mm(v.T, sv)
        theta, y = jnp.linalg.eigh((h + h.T) / 2)
        theta, y = theta[::-1][:b], y[:, ::-1][:, :b]
        x = _mm(v, y)
        resid = _mm(sv, y[:, :k]) - x[:, :k] * theta[:k]
        norms = jnp.linalg.norm(resid, axis=0)
        unit = jnp.abs(jnp.linalg.norm(x[:, :k], axis=0) - 1)
        scale = jnp.maximum(jnp.abs(theta[0]), jnp.finfo(dtype).tiny)
        done = jnp.all(norms <= tol * scale) & jnp.all(unit <= tol)
        return x, theta, done

    def cond(state):
        i, _, _, done = state
        return (i < _RESTARTS) & ~done

    def body(state):
        i, x, _, _ = state
        x, theta, done = restart(x)
        return i + 1, x, theta, done

    init = (jnp.asarray(0), x0, jnp.zeros((b,), dtype), jnp.asarray(False))
    steps, x, theta, done = lax.while_loop(cond, body, init)
    done = done & jnp.all(jnp.isfinite(theta))
    return theta[:k], x[:, :k], done, steps


def _dense_top(s: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    w, v = linalg.eigh(s)
    return w[::-1][:k], v[:, ::-1][:, :k]


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def top_eigh(s: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """The ``k`` largest eigenpairs of the symmetric ``[d, d]`` matrix ``s``, as ``eigh``'s.

    Returns ``(values, vectors)``: ``[k]`` in decreasing order and ``[d, k]`` orthonormal
    columns. By :func:`dominant_eigh` where :func:`supported` and it converges, else (and
    for the derivative, a custom JVP: :func:`linalg.eigh`'s, signs matched) the dense
    :func:`linalg.eigh`.
    """
    if not supported(s.shape[-1], k, s.dtype):
        return _dense_top(s, k)
    s = (s + s.T) / 2
    values, vectors, converged, _ = dominant_eigh(s, k)
    values, vectors = lax.cond(
        converged, lambda: (values, vectors), functools.partial(_dense_top, s, k)
    )
    # NaN in, NaN out (LAPACK's eigh of a NaN matrix leaves finite entries in its vectors).
    finite = jnp.all(jnp.isfinite(s))
    return jnp.where(finite, values, jnp.nan), jnp.where(finite, vectors, jnp.nan)


@top_eigh.defjvp
def _top_eigh_jvp(k, primals, tangents):
    (s,), (ds,) = primals, tangents
    values, vectors = top_eigh(s, k)
    (_, v), (dw, dv) = jax.jvp(linalg.eigh, (s,), (ds,))
    v, dw, dv = v[:, ::-1][:, :k], dw[::-1][:k], dv[:, ::-1][:, :k]
    sign = jnp.where(jnp.sum(v * vectors, axis=0) < 0, -1, 1).astype(dv.dtype)
    return (values, vectors), (dw, dv * sign)
