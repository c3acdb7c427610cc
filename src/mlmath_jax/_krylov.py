"""Krylov building blocks shared by ``linalg`` (eigsh, power iteration) and ``calculus``.

Neutral home of what both areas need: Gram–Schmidt against a basis stored as rows, the
breakdown threshold, the documented deterministic start vector, and Lanczos
tridiagonalisation (the core of stochastic Lanczos quadrature). A matrix-free operator is
called ``matvec(v, *args)`` so its data are traced inputs of the compiled program.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from . import _validate

# Orthogonalisation and projections run at full float32 precision: TF32 on GPUs would
# destroy the orthogonality that the Rayleigh–Ritz step relies on.
HIGHEST = lax.Precision.HIGHEST

START_SEED = 0


def default_start(n: int, dtype: Any) -> jax.Array:
    """The start vector used when ``v0`` is None: ``jax.random.normal(jax.random.key(0), (n,))``.

    A fixed pseudo-random vector (not ``ones``, which is an eigenvector of every graph
    Laplacian and orthogonal to many eigenvectors of structured matrices), so results repeat
    from call to call and machine to machine.
    """
    return jax.random.normal(jax.random.key(START_SEED), (n,), dtype)


def start_vector(v0: Any, n: int | None, dtype: Any) -> jax.Array:
    """``v0`` as a real ``[n]`` vector (checked), or :func:`default_start` when it is None."""
    if v0 is None:
        return default_start(n, dtype)
    v0 = _validate.as_real(v0, "v0")
    if v0.ndim != 1:
        raise ValueError(
            f"v0 must be a 1-D [n] vector when a matvec function is given, got {v0.shape}"
        )
    if n is not None and v0.shape[0] != n:
        raise ValueError(f"v0 must have length n={n}, got shape {v0.shape}")
    return v0


def orthogonalise(basis: jax.Array, w: jax.Array) -> jax.Array:
    """Remove from ``w`` [n] its components along the rows of ``basis`` [m, n].

    Two passes of classical Gram–Schmidt ("twice is enough"): one pass loses orthogonality
    in proportion to the condition of the basis, the second restores it to rounding level.
    Zero rows of ``basis`` contribute nothing, so a partly filled basis can be passed.
    """
    for _ in range(2):
        coeffs = jnp.dot(basis, w, precision=HIGHEST)
        w = w - jnp.dot(coeffs, basis, precision=HIGHEST)
    return w


def breakdown_threshold(dtype: Any) -> float:
    """Relative size below which an orthogonalised vector is rounding noise."""
    return 100.0 * float(jnp.finfo(dtype).eps)


def operator(
    matvec: Callable[..., Any], args: tuple, n: int, dtype: Any
) -> Callable[[jax.Array], jax.Array]:
    """``v -> matvec(v, *args)`` as ``[n]`` in ``dtype``; checks the output shape at trace time."""
    out = jax.eval_shape(matvec, jax.ShapeDtypeStruct((n,), dtype), *args)
    shape = getattr(out, "shape", None)
    if shape is None or math.prod(shape) != n:
        seen = type(out).__name__ if shape is None else f"shape {shape}"
        raise ValueError(f"matvec must map an [n] vector (n={n}) to [n], got {seen}")

    def apply(v: jax.Array) -> jax.Array:
        return jnp.asarray(matvec(v, *args), dtype).reshape(n)

    return apply


def _lanczos_step(matvec, thresh, i, carry):
    """One Lanczos step: ``alpha_i``, ``beta_i`` and the next vector (0 after a breakdown)."""
    basis, alpha, beta = carry
    n = basis.shape[1]
    q = basis[i]
    alive = jnp.any(q != 0)
    w = jnp.asarray(matvec(q), basis.dtype).reshape(n)
    w = jnp.where(alive, w, 0)  # a non-linear or noisy matvec must not revive the chain
    a_i = jnp.dot(q, w, precision=HIGHEST)
    w_norm = jnp.linalg.norm(w)
    r = orthogonalise(basis, w)
    b_i = jnp.linalg.norm(r)
    ok = alive & (b_i > thresh * w_norm) & (b_i > 0)
    q_next = jnp.where(ok, r / jnp.where(ok, b_i, 1), 0)
    basis = basis.at[i + 1].set(q_next)
    alpha = alpha.at[i].set(a_i)
    beta = beta.at[i].set(jnp.where(ok, b_i, 0))
    return basis, alpha, beta


def lanczos_tridiagonal(
    matvec: Callable[[jax.Array], jax.Array], v0: jax.Array, num_iters: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Lanczos tridiagonalisation of a symmetric operator with full reorthogonalisation.

    Runs ``num_iters`` steps from ``v0 / ||v0||`` and returns the tridiagonal
    ``T = Qᵀ A Q`` (diagonal ``alpha``, off-diagonal ``beta``) and the Lanczos vectors ``Q``
    as rows. Each new vector is orthogonalised twice against all previous ones, so ``Q``
    stays orthonormal to rounding level.

    Breakdown (an invariant subspace reached, or ``num_iters > n``): the offending ``beta``
    is set to exactly 0 and all later vectors, ``alpha`` and ``beta`` are 0. ``T`` is then
    block diagonal; the trailing zero block is decoupled from ``e_1`` (its eigenvectors
    have zero first component), so quadrature weights are unaffected. No NaN is produced,
    also for ``v0 = 0`` (everything is 0).

    Args:
      matvec: ``[n] -> [n]``, the product with a symmetric matrix (a JAX function).
      v0: ``[n]`` starting vector (normalised inside); sets ``n`` and the dtype.
      num_iters: number of Lanczos steps ``m >= 1`` (static).

    Returns:
      ``(alpha [m], beta [m - 1], basis [m, n])``.
    """
    v0 = _validate.as_real(v0, "v0")
    if v0.ndim != 1:
        raise ValueError(f"v0 must be a 1-D [n] vector, got shape {v0.shape}")
    m = _validate.static_int(num_iters, "num_iters", minimum=1)
    n, dtype = v0.shape[0], v0.dtype
    norm0 = jnp.linalg.norm(v0)
    ok0 = norm0 > 0
    q0 = jnp.where(ok0, v0 / jnp.where(ok0, norm0, 1), 0).astype(dtype)
    # One spare row, so that step m - 1 can write its (unused) successor in bounds.
    basis = jnp.zeros((m + 1, n), dtype).at[0].set(q0)
    alpha = jnp.zeros((m,), dtype)
    beta = jnp.zeros((m,), dtype)

    def step(i, carry):
        return _lanczos_step(matvec, breakdown_threshold(dtype), i, carry)

    basis, alpha, beta = lax.fori_loop(0, m, step, (basis, alpha, beta))
    return alpha, beta[: m - 1], basis[:m]
