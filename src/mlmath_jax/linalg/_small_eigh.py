"""Symmetric eigendecomposition for large batches of small matrices (Jacobi).

LAPACK and cuSOLVER solve one small matrix at a time (or launch one tiny kernel per
matrix), so batches of 2×2 / 3×3 matrices — structure tensors, per-pixel covariances,
inertia tensors — spend their time in overhead. Here the batch is the vector dimension:
each matrix entry is a ``[batch]`` array and a cyclic Jacobi sweep is a short sequence of
fused elementwise operations (unrolled at trace time, so only for ``n <= MAX_N``).

Jacobi is used (rather than the closed-form trigonometric solution of the cubic) because
it is accurate to rounding level in every case: eigenvectors are products of plane
rotations, hence orthonormal to rounding even for repeated or clustered eigenvalues,
where the closed forms lose all accuracy in float32. Convergence is quadratic: 4–6 sweeps.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

# Cyclic Jacobi converges quadratically: the first sweeps always run (no convergence test
# needed before them); the loop then stops as soon as the whole batch is diagonal to
# rounding level. One rotation solves a 2×2 exactly. ``_MAX_SWEEPS`` is never reached in
# practice (4–6 sweeps for 3×3 to 6×6 in float32 and float64) and only guards the loop.
_MIN_SWEEPS = {2: 1, 3: 3, 4: 3, 5: 4, 6: 4}
_MAX_SWEEPS = 30

# Largest n for which this elementwise Jacobi clearly beats LAPACK per matrix on large
# batches (the ``linalg.eigh.batched`` benchmark; beyond 5 the unrolled sweep loses).
MAX_N = 5


def _rotation(app, aqq, apq):
    """Jacobi rotation ``(c, s, t)`` annihilating ``apq`` (Rutishauser's stable form)."""
    theta = (aqq - app) / (2 * jnp.where(apq == 0, 1, apq))
    # t = sign(theta) / (|theta| + sqrt(theta^2 + 1)), with sign(0) = +1; for huge theta
    # (theta^2 would overflow) t = 1 / (2 theta).
    big = jnp.abs(theta) > 1e15
    root = jnp.sqrt(jnp.where(big, 1, theta * theta + 1))
    t = jnp.where(big, 0.5 / theta, 1 / (theta + jnp.copysign(root, theta)))
    t = jnp.where(apq == 0, 0, t)
    c = jax.lax.rsqrt(t * t + 1)
    return c, t * c, t


# On CPU a large batch is processed in chunks whose working set (a few dozen [chunk]
# arrays) stays in cache; the sweeps' many small fusions then do not stream from memory.
_CPU_CHUNK = 16384


def eigh_small_batched(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """:func:`jacobi_eigh_small` for ``[..., n, n]``, chunked over the batch on CPU."""
    n = a.shape[-1]
    batch = a.shape[:-2]
    size = math.prod(batch)
    if size <= 2 * _CPU_CHUNK:
        return jacobi_eigh_small(a)

    def chunked(a):
        flat = a.reshape((size, n, n))
        count = -(-size // _CPU_CHUNK)
        pad = count * _CPU_CHUNK - size
        flat = jnp.concatenate([flat, jnp.zeros((pad, n, n), a.dtype)]) if pad else flat
        w, v = jax.lax.map(jacobi_eigh_small, flat.reshape((count, _CPU_CHUNK, n, n)))
        w = w.reshape((count * _CPU_CHUNK, n))[:size].reshape(batch + (n,))
        v = v.reshape((count * _CPU_CHUNK, n, n))[:size].reshape(batch + (n, n))
        return w, v

    # Accelerators want the whole batch in flight at once.
    return jax.lax.platform_dependent(a, cpu=chunked, default=jacobi_eigh_small)


def _indices(n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Entry positions of the state: the upper triangle of ``A`` and all of ``V``."""
    return [(i, j) for i in range(n) for j in range(i, n)], [
        (i, j) for i in range(n) for j in range(n)
    ]


def _jacobi_init(a: jax.Array):
    """Scale ``a`` to unit max-norm (squares then neither overflow nor underflow).

    Returns the scale and the state: the upper triangle of ``a`` and the identity ``V``,
    one ``[...]`` array per entry.
    """
    n = a.shape[-1]
    upper, full = _indices(n)
    scale = jnp.max(jnp.abs(a), axis=(-2, -1))
    scale = jnp.where(scale > 0, scale, 1)
    a = a / scale[..., None, None]
    m0 = tuple(a[..., i, j] for i, j in upper)
    one = jnp.ones_like(m0[0])
    zero = jnp.zeros_like(one)
    return scale, (m0, tuple(one if i == j else zero for i, j in full))


def _jacobi_sweep(n: int, state):
    """One cyclic sweep: a plane rotation for every pair ``p < q``, unrolled."""
    upper, full = _indices(n)
    m = dict(zip(upper, state[0], strict=True))
    v = dict(zip(full, state[1], strict=True))

    def get(i, j):
        return m[(i, j)] if i <= j else m[(j, i)]

    def put(i, j, x):
        m[(i, j) if i <= j else (j, i)] = x

    for p in range(n - 1):
        for q in range(p + 1, n):
            app, aqq, apq = m[(p, p)], m[(q, q)], m[(p, q)]
            c, s, t = _rotation(app, aqq, apq)
            for r in range(n):
                if r in (p, q):
                    continue
                arp, arq = get(r, p), get(r, q)
                put(r, p, c * arp - s * arq)
                put(r, q, s * arp + c * arq)
            m[(p, p)] = app - t * apq
            m[(q, q)] = aqq + t * apq
            m[(p, q)] = jnp.zeros_like(apq)
            for r in range(n):
                vrp, vrq = v[(r, p)], v[(r, q)]
                v[(r, p)] = c * vrp - s * vrq
                v[(r, q)] = s * vrp + c * vrq
    return tuple(m[ij] for ij in upper), tuple(v[ij] for ij in full)


def _off_diagonal(n: int, state) -> jax.Array:
    """Largest off-diagonal sum over the batch (in units of the max-norm, 1 after scaling)."""
    upper, _ = _indices(n)
    per_matrix = sum(jnp.abs(state[0][k]) for k, (i, j) in enumerate(upper) if i != j)
    # A NaN matrix stays NaN; it must not stop the iteration for the rest of the batch.
    return jnp.max(jnp.where(jnp.isnan(per_matrix), 0, per_matrix))


def _jacobi_finish(n: int, state, scale: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues ascending and eigenvectors as columns, from the diagonalised state."""
    upper, full = _indices(n)
    m = dict(zip(upper, state[0], strict=True))
    v = dict(zip(full, state[1], strict=True))
    if n > 3:
        # A sort; a deeper compare-exchange network makes XLA's compile time explode.
        w = jnp.stack([m[(i, i)] for i in range(n)], axis=-1)
        vecs = jnp.stack(
            [jnp.stack([v[(r, i)] for i in range(n)], axis=-1) for r in range(n)], axis=-2
        )
        order = jnp.argsort(w, axis=-1)
        w = jnp.take_along_axis(w, order, axis=-1)
        vecs = jnp.take_along_axis(vecs, order[..., None, :], axis=-1)
        return w * scale[..., None], vecs
    # n <= 3: a compare-exchange network carrying the eigenvector columns (faster than a
    # general sort on CPU).
    w = [m[(i, i)] for i in range(n)]
    cols = [[v[(r, i)] for r in range(n)] for i in range(n)]
    for i, j in [(0, 1)] if n == 2 else [(0, 1), (1, 2), (0, 1)]:
        swap = w[i] > w[j]
        w[i], w[j] = jnp.where(swap, w[j], w[i]), jnp.where(swap, w[i], w[j])
        ci, cj = cols[i], cols[j]
        cols[i] = [jnp.where(swap, y, x) for x, y in zip(ci, cj, strict=True)]
        cols[j] = [jnp.where(swap, x, y) for x, y in zip(ci, cj, strict=True)]
    eigenvalues = jnp.stack(w, axis=-1) * scale[..., None]
    eigenvectors = jnp.stack([jnp.stack(col, axis=-1) for col in cols], axis=-1)
    return eigenvalues, eigenvectors


def jacobi_eigh_small(a: jax.Array, sweeps: int | None = None) -> tuple[jax.Array, jax.Array]:
    """Eigendecomposition of ``[..., n, n]`` symmetric matrices, ``2 <= n <= MAX_N``.

    The input is assumed symmetric (the upper triangle is read). Returns eigenvalues
    ascending ``[..., n]`` and eigenvectors as columns ``[..., n, n]``, like
    ``jnp.linalg.eigh``. ``sweeps`` fixes the number of sweeps (default: until the whole
    batch is diagonal to rounding level, after at least ``_MIN_SWEEPS[n]``).
    """
    n = a.shape[-1]
    if sweeps is None:
        min_sweeps, max_sweeps = _MIN_SWEEPS.get(n, 3), _MAX_SWEEPS
    else:
        min_sweeps = max_sweeps = sweeps
    eps = float(jnp.finfo(a.dtype).eps)
    scale, state = _jacobi_init(a)

    # Sweeps run in a loop, not an unrolled chain: XLA fuses each sweep into a few passes
    # over the batch, while a long unrolled chain makes its fusion recompute shared values.
    def running(carry):
        count, state = carry
        return (count < max_sweeps) & ((count < min_sweeps) | (_off_diagonal(n, state) > eps))

    def body(carry):
        count, state = carry
        return count + 1, _jacobi_sweep(n, state)

    _, state = jax.lax.while_loop(running, body, (jnp.int32(0), state))
    return _jacobi_finish(n, state, scale)
