"""Krylov building blocks shared by ``linalg`` (eigsh, power iteration) and ``calculus``.

Neutral home of what both areas need: Gram–Schmidt against a basis stored as rows, the
breakdown threshold, the documented deterministic start vector, and Lanczos
tridiagonalisation (the core of stochastic Lanczos quadrature). A matrix-free operator is
called ``matvec(v, *args)`` so its data are traced inputs of the compiled program.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
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
        assert n is not None, "callers require n when v0 is None"
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


# ----------------------------------------------------------------------------------------
# Implicit derivatives of computed eigenpairs (eigsh, hessian_eigsh, power_iteration).


def inverse_gaps(w: jax.Array, tol: Any) -> jax.Array:
    """``F_ji = 1 / (w_i − w_j)`` (``[..., k, k]``), exactly antisymmetric, 0 for gaps ``<= tol``.

    Antisymmetry makes the large terms of a near-degenerate pair cancel in functions of the
    matrix. XLA may contract ``w_i s − w_j s`` into a fused multiply-add, so ``fl(w_i − w_j)``
    need not be ``−fl(w_j − w_i)``; ``F`` is antisymmetrised explicitly (``x − y = −(y − x)``
    exactly in IEEE arithmetic).
    """
    gap = w[..., None, :] - w[..., :, None]
    tied = jnp.abs(gap) <= tol
    f = jnp.where(tied, 0, 1 / jnp.where(tied, 1, gap))
    return 0.5 * (f - jnp.swapaxes(f, -1, -2))


def _signs(theta: jax.Array, which: str) -> jax.Array:
    """``s_i`` with ``s_i (A − θ_i I)`` positive semi-definite off the computed pairs.

    The unselected spectrum lies below the wanted pairs for "LA", above for "SA" and inside
    ``[−min|θ|, min|θ|]`` for "LM", so each shifted operator is definite there and conjugate
    gradients apply.
    """
    if which == "LA":
        return -jnp.ones_like(theta)
    if which == "SA":
        return jnp.ones_like(theta)
    return -jnp.where(theta < 0, -1, 1).astype(theta.dtype)


def _complement_solve(op, q, theta, signs, rhs, max_steps: int):
    """Solve ``(A − θ_i I) r_i = rhs_i`` for ``r_i ⊥ span(q)``, column by column, by CG.

    ``rhs`` [n, k] is orthogonal to ``q`` [n, k]. ``jax.scipy.sparse.linalg.cg`` is a
    ``lax.custom_linear_solve``, so reverse mode transposes it with one more solve.
    """
    eps = float(jnp.finfo(q.dtype).eps)

    def project(x):
        return x - jnp.dot(q, jnp.dot(q.T, x, precision=HIGHEST), precision=HIGHEST)

    def one(theta_i, s_i, b):
        def shifted(x):
            px = project(x)
            return s_i * project(op(px) - theta_i * px)

        x0 = jnp.zeros(q.shape[0], q.dtype)  # not zeros_like(b): b is a tangent
        r, _ = jax.scipy.sparse.linalg.cg(shifted, s_i * b, x0, tol=eps**0.75, maxiter=max_steps)
        return project(r)

    return jax.vmap(one, in_axes=(0, 0, 1), out_axes=1)(theta, signs, rhs)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _pairs(matvec, which, max_steps, args, theta, vectors, valid):
    return theta, vectors


def _pairs_fwd(matvec, which, max_steps, args, theta, vectors, valid):
    return (theta, vectors), (args, theta, vectors, valid)


def _batched_operator(matvec, n: int, dtype: Any):
    """``(V [n, k], *args) -> [matvec(V[:, i], *args)]_i`` as ``[n, k]`` in ``dtype``."""

    def apply(vectors, *args):
        def one(v):
            return jnp.asarray(matvec(v, *args), dtype).reshape(n)

        return jax.vmap(one, in_axes=1, out_axes=1)(vectors)

    return apply


def _pairs_bwd(matvec, which, max_steps, residuals, cotangents):
    # dL = Σ_i u_iᵀ dA v_i with u_i = ḡθ_i v_i + Σ_j v_j (v_jᵀ ḡv_i) / (θ_i − θ_j) − z_i,
    # z_i ⊥ V solving (A − θ_i I) z_i = (I − V Vᵀ) ḡv_i (the transpose of the forward
    # complement solve); then ∂L/∂args is one VJP of V ↦ A(args) V with cotangent U.
    args, theta, vectors, valid = residuals
    g_theta, g_vectors = cotangents
    n, dtype = vectors.shape[0], vectors.dtype
    ok = jnp.isfinite(theta)
    used = (g_theta != 0) | jnp.any(g_vectors != 0, axis=0)
    q = jnp.where(ok[None, :], vectors, 0)
    lam = jnp.where(ok, theta, 0)
    g_theta = jnp.where(ok, g_theta, 0)
    g_vectors = jnp.where(ok[None, :], g_vectors, 0)
    batched = _batched_operator(matvec, n, dtype)

    def op(v):
        return batched(v[:, None], *args)[:, 0]

    scale = jnp.max(jnp.abs(lam), initial=0.0)
    tol = 10 * max(theta.shape[0], 1) * float(jnp.finfo(dtype).eps) * scale
    overlap = jnp.dot(q.T, g_vectors, precision=HIGHEST)  # [j, i] = v_jᵀ ḡv_i
    inside = jnp.dot(q, inverse_gaps(lam, tol) * overlap, precision=HIGHEST)
    rhs = g_vectors - jnp.dot(q, overlap, precision=HIGHEST)
    z = _complement_solve(op, q, lam, _signs(lam, which), rhs, max_steps)
    u = q * g_theta[None, :] + inside - z
    # An unconverged pair (NaN) that the loss uses gives NaN, never a silent number.
    u = jnp.where(((ok & valid) | ~used)[None, :], u, jnp.nan)
    _, vjp = jax.vjp(lambda *a: batched(q, *a), *args)
    no_cotangent = np.zeros(jnp.shape(valid), jax.dtypes.float0)
    return tuple(vjp(u)), jnp.zeros_like(theta), jnp.zeros_like(vectors), no_cotangent


_pairs.defvjp(_pairs_fwd, _pairs_bwd)


def implicit_eigenpairs(
    matvec: Callable[..., Any],
    args: tuple,
    theta: jax.Array,
    vectors: jax.Array,
    *,
    which: str,
    max_steps: int | None = None,
    valid: Any = True,
) -> tuple[jax.Array, jax.Array]:
    """``(theta, vectors)`` unchanged, with derivatives w.r.t. ``args`` by implicit formulas.

    ``theta`` [k] and ``vectors`` [n, k] are eigenpairs of the symmetric operator
    ``v -> matvec(v, *args)``, computed from ``lax.stop_gradient(args)`` (the solver loop
    is never differentiated), NaN where not converged; ``which`` says how they were
    selected ("LA", "SA", "LM"). Reverse mode (a custom VJP) of the tangents
    ``dθ_i = v_iᵀ dA v_i`` and
    ``dv_i = Σ_j v_j (v_jᵀ dA v_i) / (θ_i − θ_j) + r_i`` over the other computed pairs
    (0 for ties), where ``r_i ⊥ span(V)`` solves ``(A − θ_i I) r_i = −(I − V Vᵀ) dA v_i``
    by conjugate gradients on the operator (at most ``max_steps`` products, default
    ``n``); the backward pass runs the transposed solves and one VJP of
    ``matvec(v_i, *args)`` in ``args``; a loss of the eigenvalues alone runs no CG step.
    ``valid`` (a traced bool) False makes every used cotangent NaN: for callers whose
    operator may violate the symmetry that these formulas assume.
    """
    n = vectors.shape[0]
    steps = n if max_steps is None else max_steps
    return _pairs(matvec, which, steps, args, theta, vectors, jnp.asarray(valid, bool))
