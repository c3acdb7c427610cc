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

# Largest n for which this elementwise Jacobi clearly beats LAPACK per matrix (measured on
# CPU, 10^4–10^5 matrices: 3×3 and 4×4 about 5×, 5×5 about 2× faster than
# ``jnp.linalg.eigh``; 6×6 only 1.3×, and at 8×8 the unrolled sweep is slower).
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
# (Measured: 100000 3×3 matrices, median 50 ms unchunked vs 19 ms in chunks of 8192–25000.)
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


def jacobi_eigh_small(a: jax.Array, sweeps: int | None = None) -> tuple[jax.Array, jax.Array]:
    """Eigendecomposition of ``[..., n, n]`` symmetric matrices, ``2 <= n <= MAX_N``.

    The input is assumed symmetric (the upper triangle is read). Returns eigenvalues
    ascending ``[..., n]`` and eigenvectors as columns ``[..., n, n]``, like
    ``jnp.linalg.eigh``.
    """
    n = a.shape[-1]
    dtype = a.dtype
    if sweeps is None:
        min_sweeps, max_sweeps = _MIN_SWEEPS.get(n, 3), _MAX_SWEEPS
    else:
        min_sweeps = max_sweeps = sweeps
    # Scale to unit max-norm so that squares neither overflow nor underflow.
    scale = jnp.max(jnp.abs(a), axis=(-2, -1))
    scale = jnp.where(scale > 0, scale, 1)
    a = a / scale[..., None, None]
    upper = [(i, j) for i in range(n) for j in range(i, n)]
    full = [(i, j) for i in range(n) for j in range(n)]
    m0 = tuple(a[..., i, j] for i, j in upper)
    one = jnp.ones_like(m0[0])
    zero = jnp.zeros_like(one)
    v0 = tuple(one if i == j else zero for i, j in full)

    def sweep(_, state):
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

    # Sweeps run in a loop, not an unrolled chain: XLA fuses each sweep into a few passes
    # over the batch, while a long unrolled chain makes its fusion recompute shared values.
    # The loop stops when every matrix of the batch has an off-diagonal part below rounding
    # level (in units of its max-norm, which is 1 after scaling), or after ``max_sweeps``.
    eps = float(jnp.finfo(dtype).eps)
    offdiag = [k for k, (i, j) in enumerate(upper) if i != j]

    def off(state):
        per_matrix = sum(jnp.abs(state[0][k]) for k in offdiag)
        # A NaN matrix stays NaN; it must not stop the iteration for the rest of the batch.
        return jnp.max(jnp.where(jnp.isnan(per_matrix), 0, per_matrix))

    def cond(carry):
        count, state = carry
        return (count < max_sweeps) & ((count < min_sweeps) | (off(state) > eps))

    def body(carry):
        count, state = carry
        return count + 1, sweep(count, state)

    _, (m_fin, v_fin) = jax.lax.while_loop(cond, body, (jnp.int32(0), (m0, v0)))
    m = dict(zip(upper, m_fin, strict=True))
    v = dict(zip(full, v_fin, strict=True))

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
