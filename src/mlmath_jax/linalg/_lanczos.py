"""Lanczos iteration: a tridiagonal core and a thick-restart, matrix-free ``eigsh``.

``lanczos_tridiagonal`` is the private building block for stochastic Lanczos quadrature
(``calculus.hessian_spectral_density``); ``eigsh`` is the public Krylov–Schur (thick-restart
Lanczos) eigensolver for a few extreme eigenpairs of a symmetric operator. Given a matvec
function it runs single-vector Krylov–Schur (below); given a dense matrix it runs the block
variant in ``_block_krylov.py``, which multiplies a block of vectors per pass over the
matrix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _validate
from . import _block_krylov
from ._eigen import EighResult

# Orthogonalisation and projections run at full float32 precision: TF32 on GPUs would
# destroy the orthogonality that the Rayleigh–Ritz step relies on.
_HIGHEST = lax.Precision.HIGHEST

_WHICH = ("LA", "SA", "LM")


def _orthogonalise(basis: jax.Array, w: jax.Array) -> jax.Array:
    """Remove from ``w`` [n] its components along the rows of ``basis`` [m, n].

    Two passes of classical Gram–Schmidt ("twice is enough"): one pass loses orthogonality
    in proportion to the condition of the basis, the second restores it to rounding level.
    Zero rows of ``basis`` contribute nothing, so a partly filled basis can be passed.
    """
    for _ in range(2):
        coeffs = jnp.dot(basis, w, precision=_HIGHEST)
        w = w - jnp.dot(coeffs, basis, precision=_HIGHEST)
    return w


def _breakdown_threshold(dtype: jnp.dtype) -> float:
    """Relative size below which an orthogonalised vector is rounding noise."""
    return 100.0 * float(jnp.finfo(dtype).eps)


def lanczos_tridiagonal(
    matvec: Callable[[jax.Array], jax.Array], v0: jax.Array, num_iters: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Lanczos tridiagonalisation of a symmetric operator with full reorthogonalisation.

    Private core (used by stochastic Lanczos quadrature and Hessian spectra). Runs
    ``num_iters`` steps from ``v0 / ||v0||`` and returns the tridiagonal
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
    n = v0.shape[0]
    dtype = v0.dtype
    thresh = _breakdown_threshold(dtype)

    norm0 = jnp.linalg.norm(v0)
    ok0 = norm0 > 0
    q0 = jnp.where(ok0, v0 / jnp.where(ok0, norm0, 1), 0).astype(dtype)
    # One spare row, so that step m - 1 can write its (unused) successor in bounds.
    basis = jnp.zeros((m + 1, n), dtype).at[0].set(q0)
    alpha = jnp.zeros((m,), dtype)
    beta = jnp.zeros((m,), dtype)

    def step(i, carry):
        basis, alpha, beta = carry
        q = basis[i]
        alive = jnp.any(q != 0)
        w = jnp.asarray(matvec(q), dtype).reshape(n)
        w = jnp.where(alive, w, 0)  # a non-linear or noisy matvec must not revive the chain
        a_i = jnp.dot(q, w, precision=_HIGHEST)
        w_norm = jnp.linalg.norm(w)
        r = _orthogonalise(basis, w)
        b_i = jnp.linalg.norm(r)
        ok = alive & (b_i > thresh * w_norm) & (b_i > 0)
        q_next = jnp.where(ok, r / jnp.where(ok, b_i, 1), 0)
        basis = basis.at[i + 1].set(q_next)
        alpha = alpha.at[i].set(a_i)
        beta = beta.at[i].set(jnp.where(ok, b_i, 0))
        return basis, alpha, beta

    basis, alpha, beta = lax.fori_loop(0, m, step, (basis, alpha, beta))
    return alpha, beta[: m - 1], basis[:m]


# ----------------------------------------------------------------------------------------
# eigsh: Krylov–Schur (thick-restart Lanczos) with explicit Rayleigh–Ritz.


def _select(theta: jax.Array, which: str) -> jax.Array:
    """Indices of ``theta`` ordered from most to least wanted."""
    if which == "LA":
        score = -theta
    elif which == "SA":
        score = theta
    else:  # "LM"
        score = -jnp.abs(theta)
    return jnp.argsort(score, stable=True)


def _default_tol(dtype: jnp.dtype, n: int) -> float:
    # eps^(3/4), but not below the rounding level of a length-n product (about √n eps
    # relative; measured: float32 residuals stagnate near 2 √n eps at n = 4096).
    eps = float(jnp.finfo(dtype).eps)
    return max(eps**0.75, 10.0 * n**0.5 * eps)


_DEFAULT_MAX_CYCLES = 1000


def _finish(theta: jax.Array, vectors: jax.Array, ok: jax.Array) -> EighResult:
    """Sort wanted pairs ascending; unconverged ones become NaN."""
    order = jnp.argsort(theta, stable=True)
    theta, vectors, ok = theta[order], vectors[:, order], ok[order]
    theta = jnp.where(ok, theta, jnp.nan)
    vectors = jnp.where(ok[None, :], vectors, jnp.nan)
    return EighResult(theta, vectors)


def _eigsh_dense(a: jax.Array, k: int, which: str) -> EighResult:
    """Small problems: a full ``eigh`` of the (symmetrised) matrix ``a`` [n, n]."""
    _, theta, y = _block_krylov.ritz(a, functools.partial(_select, which=which), k)
    return _finish(theta, y, jnp.ones((k,), bool))


def _eigsh_krylov_schur(
    matvec, v0: jax.Array, k: int, which: str, m: int, p: int, max_cycles: int, tol: float
) -> tuple[EighResult, jax.Array, jax.Array]:
    """Thick-restart Lanczos; returns the result, a converged mask and the cycle count.

    The basis ``V`` [m + 1, n] and its image ``W = A V`` [m, n] are kept, so each cycle's
    projection ``H = V Wᵀ`` is an explicit Rayleigh–Ritz step (no reliance on the
    three-term recurrence). A restart keeps the ``p`` most wanted Ritz vectors and their
    images and continues from the last basis vector, which is orthogonal to them: this is
    the Krylov–Schur restart, and the next cycle extends a Krylov subspace again.
    """
    n = v0.shape[0]
    dtype = v0.dtype
    thresh = _breakdown_threshold(dtype)
    base_key = jax.random.key(0x5EED)

    norm0 = jnp.linalg.norm(v0)
    fallback = jax.random.normal(jax.random.key(0x5EED + 1), (n,), dtype)
    start = jnp.where(norm0 > 0, v0, fallback)
    start = start / jnp.linalg.norm(start)
    basis = jnp.zeros((m + 1, n), dtype).at[0].set(start)
    image = jnp.zeros((m, n), dtype)

    def extend(cycle, first, basis, image):
        def body(j, carry):
            basis, image = carry
            q = basis[j]
            w = jnp.asarray(matvec(q), dtype).reshape(n)
            image = image.at[j].set(w)
            r = _orthogonalise(basis, w)
            b = jnp.linalg.norm(r)
            ok = b > thresh * jnp.linalg.norm(w)
            # Invariant subspace found: continue with a fresh direction orthogonal to the
            # basis (the projection below does not need a Krylov structure to be valid).
            rnd = jax.random.normal(jax.random.fold_in(base_key, cycle * (m + 1) + j), (n,), dtype)
            rnd = _orthogonalise(basis, rnd)
            r = jnp.where(ok, r, rnd)
            r = r / jnp.linalg.norm(r)
            return basis.at[j + 1].set(r), image

        return lax.fori_loop(first, m, body, (basis, image))

    def rayleigh_ritz(basis, image):
        h = jnp.dot(basis[:m], image.T, precision=_HIGHEST)
        theta, theta_p, y_p = _block_krylov.ritz(h, functools.partial(_select, which=which), p)
        x = jnp.dot(y_p.T, basis[:m], precision=_HIGHEST)  # [p, n]
        ax = jnp.dot(y_p.T, image, precision=_HIGHEST)
        res = jnp.linalg.norm(ax - theta_p[:, None] * x, axis=1)
        scale = jnp.max(jnp.abs(theta))
        ok = res <= tol * scale
        return theta_p, x, ax, ok

    def restart(basis, x, ax):
        # Keep the Ritz vectors in rows :p (on convergence: the result), then the last
        # basis vector, which is orthogonal to them.
        last = basis[m]
        basis = jnp.zeros_like(basis).at[:p].set(x).at[p].set(last)
        image = jnp.zeros((m, n), dtype).at[:p].set(ax)
        return basis, image

    basis, theta_p, ok, cycles = _block_krylov.thick_restart(
        extend, rayleigh_ritz, restart, basis, image, k=k, p=p, max_cycles=max_cycles
    )
    result = _finish(theta_p[:k], basis[:k].T, ok[:k])
    return result, ok[:k], cycles


def _check_ncv(n: int, k: int, ncv: int | None) -> None:
    if ncv is not None and not k < ncv <= n:
        raise ValueError(f"ncv must satisfy k < ncv <= n (k={k}, n={n}), got ncv={ncv}")


def _krylov_sizes(n: int, k: int, ncv: int | None) -> tuple[int, int]:
    _check_ncv(n, k, ncv)
    m = min(n, max(2 * k + 1, 20)) if ncv is None else ncv
    p = k + (m - k) // 2  # Ritz vectors kept across a restart
    return m, max(p, k)


def _eigsh_single(matvec, v0, k, which, max_iters, tol, ncv):
    n = v0.shape[0]
    m, p = _krylov_sizes(n, k, ncv)
    if n <= 2 * m or m == n:
        a = jax.vmap(matvec)(jnp.eye(n, dtype=v0.dtype)).T  # column j = A e_j
        return _eigsh_dense(a, k, which)
    max_cycles = _DEFAULT_MAX_CYCLES if max_iters is None else max_iters
    tol = _default_tol(v0.dtype, n) if tol is None else tol
    result, _, _ = _eigsh_krylov_schur(matvec, v0, k, which, m, p, max_cycles, tol)
    return result


@functools.partial(jax.jit, static_argnames=("k", "which", "max_iters", "tol", "ncv"))
def _eigsh_array(a, v0, *, k, which, max_iters, tol, ncv):
    n = a.shape[-1]
    _check_ncv(n, k, ncv)
    block, m, p = _block_krylov.block_sizes(n, k, ncv)

    def one(a, v0):
        if n <= 2 * m:
            return _eigsh_dense(a, k, which)
        theta, x, ok, _ = _block_krylov.block_krylov_schur(
            a,
            v0,
            k=k,
            select=functools.partial(_select, which=which),
            block=block,
            m=m,
            p=p,
            max_cycles=_DEFAULT_MAX_CYCLES if max_iters is None else max_iters,
            tol=_default_tol(v0.dtype, n) if tol is None else tol,
        )
        return _finish(theta, x, ok)

    batch = a.shape[:-2]
    if not batch:
        return one(a, v0)
    flat_a = a.reshape((-1,) + a.shape[-2:])
    flat_v = v0.reshape((-1, v0.shape[-1]))
    vals, vecs = jax.vmap(one)(flat_a, flat_v)
    return EighResult(vals.reshape(batch + vals.shape[1:]), vecs.reshape(batch + vecs.shape[1:]))


def eigsh(
    a_or_matvec: ArrayLike | Callable[[jax.Array], jax.Array],
    k: int,
    *,
    v0: ArrayLike,
    which: str = "LA",
    max_iters: int | None = None,
    tol: float | None = None,
    ncv: int | None = None,
) -> EighResult:
    """A few extreme eigenpairs of a symmetric operator (as ``scipy.sparse.linalg.eigsh``).

    Krylov–Schur (thick-restart Lanczos) with full reorthogonalisation and an explicit
    Rayleigh–Ritz step per restart. Given a matvec function, only products with the
    operator are used (single-vector Krylov–Schur, the matrix is never formed). Given a
    dense matrix, a block variant multiplies 4 vectors per pass over the matrix (a
    matrix-matrix product costs about as much memory traffic as one matrix-vector
    product): measured 11.5x faster than a full ``eigh`` for the top 10 of a 4096 x 4096
    matrix on a 2-core CPU, against 7.2x for the single-vector method. Small problems
    (``n <= 2 * ncv``) are solved with a dense ``eigh`` instead.

    Convergence: a Ritz pair ``(θ, x)`` is accepted when
    ``||A x − θ x|| <= tol * max|θ|`` (``max|θ|`` over the current Ritz values, an estimate
    of ``||A||₂``). The eigenvalue error is then at most ``tol * ||A||₂`` and usually far
    smaller (it is quadratic in the residual). Default ``tol`` is the larger of
    ``eps ** 0.75`` and ``10 √n eps`` (the rounding level of a product, below which
    residuals stagnate): 6e-6 to 8e-5 in float32 for n up to 4096, about 2e-12 in
    float64. Eigenpairs that have not converged after ``max_iters`` restarts come back
    as NaN. Like ARPACK, the single-vector method (matvec input) can miss copies of a
    repeated eigenvalue, or one of two nearly equal ones (relative gap ~1e-5), when the
    wanted set ends inside such a cluster: then ask for a few more pairs, or use
    :func:`eigh`; the block method (matrix input) sees up to 4 copies at once. Not
    differentiable (an iterative solver with a data-dependent loop); differentiate
    :func:`eigh` instead.

    Args:
      a_or_matvec: a symmetric ``[..., n, n]`` array, or a function ``[n] -> [n]`` computing
        the product with a symmetric matrix (a JAX function; then no batch dimensions).
      k: number of eigenpairs wanted, ``1 <= k <= n`` (static).
      v0: ``[..., n]`` starting vector; defines ``n`` and the dtype (required, so the result
        is deterministic). A zero ``v0`` is replaced by a fixed pseudo-random vector. For a
        matrix, the starting block is ``v0`` and 3 fixed pseudo-random vectors.
      which: ``"LA"`` (largest algebraic), ``"SA"`` (smallest algebraic) or ``"LM"``
        (largest magnitude), as SciPy (static).
      max_iters: maximum number of restart cycles (SciPy's ``maxiter``); default 1000
        (each cycle costs ``ncv − p`` products, ``p`` being about ``(ncv + k) / 2``).
      tol: relative residual tolerance (see above); static.
      ncv: Krylov subspace dimension, ``k < ncv <= n``; default ``min(n, max(2k + 1, 20))``
        for a function and ``max(64, 2k + 8)`` for a matrix (rounded up to a multiple of
        the block size 4, and to at least one block more than ``k``).

    Returns:
      ``EighResult(eigenvalues [..., k] ascending, eigenvectors [..., n, k] as columns)``.

    Raises:
      ValueError: if ``k`` is not in ``[1, n]``, ``which`` is unknown, the matrix is not
        square or ``v0`` does not match it.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> a = jnp.diag(jnp.arange(1.0, 7.0))
      >>> vals, vecs = linalg.eigsh(a, 2, v0=jnp.ones(6))
      >>> print(vals)
      [5. 6.]
    """
    k = _validate.static_int(k, "k", minimum=1)
    _validate.one_of(which, _WHICH, "which")
    if max_iters is not None:
        max_iters = _validate.static_int(max_iters, "max_iters", minimum=1)
    if tol is not None:
        tol = float(tol)
        if not tol > 0:
            raise ValueError(f"tol must be > 0, got {tol}")
    v0 = _validate.as_real(v0, "v0")
    _validate.at_least_rank(v0, 1, "v0", "a [..., n] vector")
    n = v0.shape[-1]
    if k > n:
        raise ValueError(f"k must be <= n, got k={k} for n={n}")
    if ncv is not None:
        ncv = _validate.static_int(ncv, "ncv", minimum=k + 1)
    if callable(a_or_matvec) and not hasattr(a_or_matvec, "shape"):
        if v0.ndim != 1:
            raise ValueError(
                f"v0 must be a 1-D [n] vector when a matvec function is given, got {v0.shape}"
            )
        return _eigsh_single(a_or_matvec, v0, k, which, max_iters, tol, ncv)
    a = _validate.as_real(a_or_matvec, "a")
    a = _validate.square(a, "a")
    if a.shape[-1] != n:
        raise ValueError(
            f"v0 must have length n={a.shape[-1]} to match a {a.shape}, got {v0.shape}"
        )
    if a.shape[:-2] != v0.shape[:-1]:
        shape = _validate.batch_shape([a.shape[:-2], v0.shape[:-1]], ["a", "v0"])
        a = jnp.broadcast_to(a, shape + a.shape[-2:])
        v0 = jnp.broadcast_to(v0, shape + v0.shape[-1:])
    dtype = jnp.result_type(a.dtype, v0.dtype)
    return _eigsh_array(
        a.astype(dtype), v0.astype(dtype), k=k, which=which, max_iters=max_iters, tol=tol, ncv=ncv
    )
