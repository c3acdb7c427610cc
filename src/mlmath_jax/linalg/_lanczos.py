"""``eigsh``: a few extreme eigenpairs of a symmetric operator (Krylov–Schur).

Given a matvec function, single-vector Krylov–Schur (thick-restart Lanczos, below); given a
dense matrix, the block variant of ``_block_krylov.py``, which multiplies a block of vectors
per pass over the matrix. Problems small against the subspace (``n <= 2 ncv``) take a dense
``eigh``. Both entry points are jitted at module level: the matvec is a static argument and
its data (``args``), the start vector and ``tol`` are traced, so repeated calls with new
data compile nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _krylov, _trees, _validate
from . import _block_krylov

_HIGHEST = _krylov.HIGHEST
_WHICH = ("LA", "SA", "LM")
DEFAULT_MAX_STEPS = 1000


class EigshResult(NamedTuple):
    """Result of :func:`eigsh` (and of ``calculus.hessian_eigsh``).

    Attributes:
      eigenvalues: ``[..., k]`` ascending; NaN for pairs that did not converge.
      eigenvectors: ``[..., n, k]`` unit eigenvectors as columns (NaN where not converged).
      converged: bool ``[..., k]``, whether each pair met the residual tolerance.
      num_steps: int32 ``[...]``, restart cycles run (1 when a dense ``eigh`` solved it).
    """

    eigenvalues: jax.Array
    eigenvectors: jax.Array
    converged: jax.Array
    num_steps: jax.Array


def _select(theta: jax.Array, which: str) -> jax.Array:
    """Indices of ``theta`` ordered from most to least wanted."""
    if which == "LA":
        score = -theta
    elif which == "SA":
        score = theta
    else:  # "LM"
        score = -jnp.abs(theta)
    return jnp.argsort(score, stable=True)


def _default_tol(dtype: Any, n: int) -> float:
    # eps^(3/4), but not below the rounding level of a length-n product (about √n eps
    # relative), where residuals stagnate.
    eps = float(jnp.finfo(dtype).eps)
    return max(eps**0.75, 10.0 * n**0.5 * eps)


def _tolerance(tol: Any, dtype: Any, n: int) -> jax.Array:
    return jnp.asarray(_default_tol(dtype, n) if tol is None else tol, dtype)


def _finish(theta: jax.Array, vectors: jax.Array, ok: jax.Array, steps: Any) -> EigshResult:
    """Sort wanted pairs ascending; unconverged ones become NaN."""
    order = jnp.argsort(theta, stable=True)
    theta, vectors, ok = theta[order], vectors[:, order], ok[order]
    theta = jnp.where(ok, theta, jnp.nan)
    vectors = jnp.where(ok[None, :], vectors, jnp.nan)
    return EigshResult(theta, vectors, ok, jnp.asarray(steps, jnp.int32))


def _dense(a: jax.Array, k: int, which: str) -> EigshResult:
    """Small problems: one full ``eigh`` of the (symmetrised) ``a`` [n, n]."""
    _, theta, y = _block_krylov.ritz(a, functools.partial(_select, which=which), k)
    return _finish(theta, y, jnp.ones((k,), bool), 1)


# ----------------------------------------------------------------------------------------
# Single-vector Krylov–Schur, vectors as rows: the basis V [m + 1, n] and its image
# W = A V [m, n] are kept, so each cycle's projection H = V Wᵀ is an explicit Rayleigh–Ritz
# step. A restart keeps the p most wanted Ritz vectors and their images and continues from
# the last basis vector, which is orthogonal to them (the Krylov–Schur restart).


def _ks_init(v0: jax.Array, m: int) -> tuple[jax.Array, jax.Array]:
    """Basis with the normalised start in row 0 (a zero ``v0`` becomes a fixed random one)."""
    n, dtype = v0.shape[0], v0.dtype
    fallback = jax.random.normal(jax.random.key(0x5EED + 1), (n,), dtype)
    start = jnp.where(jnp.linalg.norm(v0) > 0, v0, fallback)
    start = start / jnp.linalg.norm(start)
    return jnp.zeros((m + 1, n), dtype).at[0].set(start), jnp.zeros((m, n), dtype)


def _ks_extend(op, m: int, cycle, first, basis, image):
    """Grow the basis from row ``first`` to ``m``, storing ``A q`` for each new row ``q``."""
    n, dtype = basis.shape[1], basis.dtype
    thresh = _krylov.breakdown_threshold(dtype)
    key = jax.random.key(0x5EED)

    def body(j, carry):
        basis, image = carry
        w = op(basis[j])
        image = image.at[j].set(w)
        r = _krylov.orthogonalise(basis, w)
        ok = jnp.linalg.norm(r) > thresh * jnp.linalg.norm(w)
        # Invariant subspace found: continue with a fresh direction orthogonal to the
        # basis (the projection does not need a Krylov structure to be valid).
        rnd = jax.random.normal(jax.random.fold_in(key, cycle * (m + 1) + j), (n,), dtype)
        r = jnp.where(ok, r, _krylov.orthogonalise(basis, rnd))
        return basis.at[j + 1].set(r / jnp.linalg.norm(r)), image

    return jax.lax.fori_loop(first, m, body, (basis, image))


def _ks_rayleigh_ritz(select, m: int, p: int, tol, basis, image):
    """The ``p`` most wanted Ritz pairs ``(θ, x, A x)`` and which of them have converged."""
    h = jnp.dot(basis[:m], image.T, precision=_HIGHEST)
    theta, theta_p, y_p = _block_krylov.ritz(h, select, p)
    x = jnp.dot(y_p.T, basis[:m], precision=_HIGHEST)  # [p, n]
    ax = jnp.dot(y_p.T, image, precision=_HIGHEST)
    res = jnp.linalg.norm(ax - theta_p[:, None] * x, axis=1)
    return theta_p, x, ax, res <= tol * jnp.max(jnp.abs(theta))


def _ks_restart(m: int, p: int, basis, x, ax):
    """Keep the Ritz vectors in rows ``:p``, then the last basis vector (orthogonal to them)."""
    last = basis[m]
    basis = jnp.zeros_like(basis).at[:p].set(x).at[p].set(last)
    return basis, jnp.zeros((m, basis.shape[1]), basis.dtype).at[:p].set(ax)


def _krylov_schur(op, v0, *, k: int, which: str, m: int, p: int, max_steps: int, tol):
    basis, image = _ks_init(v0, m)
    select = functools.partial(_select, which=which)
    basis, theta_p, ok, cycles = _block_krylov.thick_restart(
        functools.partial(_ks_extend, op, m),
        functools.partial(_ks_rayleigh_ritz, select, m, p, tol),
        functools.partial(_ks_restart, m, p),
        basis,
        image,
        k=k,
        p=p,
        max_cycles=max_steps,
    )
    return _finish(theta_p[:k], basis[:k].T, ok[:k], cycles)


# ----------------------------------------------------------------------------------------
# Checks and the two jitted entry points.


def _check_k(k: int, n: int) -> None:
    if k > n:
        raise ValueError(f"k must be <= n, got k={k} for n={n}")


def _check_ncv(n: int, k: int, ncv: int | None) -> None:
    if ncv is not None and not k < ncv <= n:
        raise ValueError(f"ncv must satisfy k < ncv <= n (k={k}, n={n}), got ncv={ncv}")


def _krylov_sizes(n: int, k: int, ncv: int | None) -> tuple[int, int]:
    _check_ncv(n, k, ncv)
    m = min(n, max(2 * k + 1, 20)) if ncv is None else ncv
    p = k + (m - k) // 2  # Ritz vectors kept across a restart
    return m, max(p, k)


@functools.partial(jax.jit, static_argnames=("matvec", "k", "which", "max_steps", "ncv", "n"))
def _eigsh_matvec(matvec, args, v0, tol, *, k, which, max_steps, ncv, n) -> EigshResult:
    v0 = jax.lax.stop_gradient(_krylov.start_vector(v0, n, jnp.result_type(float)))
    n, dtype = v0.shape[0], v0.dtype
    _check_k(k, n)
    # The solver runs on constants; derivatives w.r.t. args come from the implicit formulas.
    op = _krylov.operator(matvec, jax.lax.stop_gradient(args), n, dtype)
    tol = jax.lax.stop_gradient(tol)
    m, p = _krylov_sizes(n, k, ncv)
    if n <= 2 * m or m == n:
        result = _dense(jax.vmap(op)(jnp.eye(n, dtype=dtype)).T, k, which)  # column j = A e_j
    else:
        result = _krylov_schur(
            op, v0, k=k, which=which, m=m, p=p, max_steps=max_steps, tol=_tolerance(tol, dtype, n)
        )
    return _differentiable(result, matvec, args, which)


def _differentiable(result: EigshResult, matvec, args: tuple, which: str) -> EigshResult:
    theta, vectors = _krylov.implicit_eigenpairs(
        matvec, args, result.eigenvalues, result.eigenvectors, which=which
    )
    return result._replace(eigenvalues=theta, eigenvectors=vectors)


def _symmetric_product(v: jax.Array, a: jax.Array) -> jax.Array:
    """``((A + Aᵀ) / 2) v``: the operator whose eigenpairs the dense path computes."""
    return 0.5 * (jnp.dot(a, v, precision=_HIGHEST) + jnp.dot(v, a, precision=_HIGHEST))


def _block_one(a, v0, tol, *, k, which, max_steps, ncv) -> EigshResult:
    solve = functools.partial(_block_solve, k=k, which=which, max_steps=max_steps, ncv=ncv)
    result = solve(*jax.lax.stop_gradient((a, v0, tol)))
    return _differentiable(result, _symmetric_product, (a,), which)


def _block_solve(a, v0, tol, *, k, which, max_steps, ncv) -> EigshResult:
    n = a.shape[-1]
    block, m, p = _block_krylov.block_sizes(n, k, ncv)
    if n <= 2 * m:
        return _dense(a, k, which)
    theta, x, ok, cycles = _block_krylov.block_krylov_schur(
        a,
        v0,
        k=k,
        select=functools.partial(_select, which=which),
        block=block,
        m=m,
        p=p,
        max_cycles=max_steps,
        tol=_tolerance(tol, a.dtype, n),
    )
    return _finish(theta, x, ok, cycles)


@functools.partial(jax.jit, static_argnames=("k", "which", "max_steps", "ncv", "n"))
def _eigsh_matrix(a, v0, tol, *, k, which, max_steps, ncv, n) -> EigshResult:
    a = _validate.square(_validate.as_real(a, "a"), "a")
    size = a.shape[-1]
    if n is not None and n != size:
        raise ValueError(f"n={n} does not match the matrix a of shape {a.shape}")
    _check_k(k, size)
    _check_ncv(size, k, ncv)
    if v0 is None:
        v0 = _krylov.default_start(size, a.dtype)
    v0 = _validate.at_least_rank(_validate.as_real(v0, "v0"), 1, "v0", "a [..., n] vector")
    if v0.shape[-1] != size:
        raise ValueError(f"v0 must have length n={size} to match a {a.shape}, got {v0.shape}")
    batch = _validate.batch_shape([a.shape[:-2], v0.shape[:-1]], ["a", "v0"])
    dtype = jnp.result_type(a.dtype, v0.dtype)
    a = jnp.broadcast_to(a.astype(dtype), batch + a.shape[-2:])
    v0 = jnp.broadcast_to(v0.astype(dtype), batch + (size,))
    one = functools.partial(_block_one, k=k, which=which, max_steps=max_steps, ncv=ncv)
    if not batch:
        return one(a, v0, tol)
    flat = jax.vmap(one, in_axes=(0, 0, None))(
        a.reshape((-1, size, size)), v0.reshape((-1, size)), tol
    )
    return EigshResult(*(x.reshape(batch + x.shape[1:]) for x in flat))


def _is_matvec(a_or_matvec: Any) -> bool:
    return callable(a_or_matvec) and not hasattr(a_or_matvec, "shape")


def _check_tol(tol: Any) -> None:
    _validate.tolerance(tol, "tol", strict=True, allow_none=True)
    if tol is not None and _validate.is_concrete(tol):
        try:
            value = float(tol)
        except TypeError as exc:
            raise TypeError(f"tol must be a real scalar, got {type(tol).__name__}") from exc
        if not value > 0:
            raise ValueError(f"tol must be > 0, got {value}")


def eigsh(
    a_or_matvec: ArrayLike | Callable[..., jax.Array],
    k: int,
    args: tuple = (),
    *,
    v0: ArrayLike | None = None,
    which: str = "LA",
    max_steps: int | None = None,
    tol: float | None = None,
    ncv: int | None = None,
    n: int | None = None,
) -> EigshResult:
    r"""A few extreme eigenpairs of a symmetric operator (as ``scipy.sparse.linalg.eigsh``).

    Krylov–Schur (thick-restart Lanczos) with full reorthogonalisation and an explicit
    Rayleigh–Ritz step per restart. Given a matvec function, only products with the
    operator are used (single-vector Krylov–Schur; the matrix is never formed). Given a
    dense matrix, a block variant multiplies 4 vectors per pass over the matrix (a
    matrix-matrix product costs about as much memory traffic as one matrix-vector
    product; each new block is orthonormalised by Cholesky QR, twice). Small problems
    ($n \le 2 \, \text{ncv}$) are solved with a dense ``eigh`` instead.

    Convergence: a Ritz pair $(\theta, x)$ is accepted when
    $\|A x - \theta x\| \le \text{tol} \cdot \max |\theta|$ ($\max |\theta|$ over the
    current Ritz values, an estimate of $\|A\|_2$). The eigenvalue error is then at most
    $\text{tol} \cdot \|A\|_2$ and usually far smaller (it is quadratic in the residual).
    Default ``tol`` is the larger of $\varepsilon^{3/4}$ and $10 \sqrt{n} \, \varepsilon$
    ($\varepsilon$ the machine epsilon of the dtype; the rounding level of a product, below
    which residuals stagnate). Pairs that have not converged after ``max_steps`` restarts
    are NaN and ``converged`` is False for them. Like ARPACK, the single-vector method
    (matvec input) can miss copies of a repeated eigenvalue, or one of two nearly equal
    ones, when the wanted set ends inside such a cluster: then ask for a few more pairs, or
    use :func:`eigh`; the block method (matrix input) sees up to 4 copies at once.

    Differentiation (reverse mode, by implicit formulas in a custom VJP; the Krylov loop is
    never differentiated): w.r.t. ``a`` (through its symmetric part $(A + A^\top)/2$) or the
    matvec's ``args`` (the operator must be symmetric for every ``args``). Eigenvalues:
    $d\lambda_i = v_i^\top dA \, v_i$; for a matvec,
    $\partial \lambda_i / \partial \text{args}$ is the VJP of ``matvec(v_i, *args)`` with
    cotangent $v_i$, at no extra products. Eigenvectors, where the eigenvalues are
    separated: $dv_i = \sum_{j \ne i} v_j \, (v_j^\top dA \, v_i) / (\lambda_i - \lambda_j)$
    over the other computed pairs, plus the part orthogonal to all $k$ of them, which solves
    $(A - \lambda_i I) \, r = -(I - V V^\top) \, dA \, v_i$ by conjugate gradients on the
    operator (the shifted operator is definite there because the unwanted spectrum lies
    beyond the wanted pairs; at most ``n`` products per pair, fewer the wider the gap to the
    unwanted spectrum; an eigenvalue-only loss runs none). Eigenvector losses are
    ill-conditioned, as the true derivative, when $\lambda_k$ nearly equals an unwanted
    eigenvalue; ties among the computed pairs drop their mutual rotation (as :func:`eigh`).
    Sign flips of eigenvectors are not differentiable: use sign-invariant losses
    ($(c^\top v)^2$, $v v^\top$). Unconverged pairs (NaN) give NaN gradients; all pairs
    should converge for exact eigenvector gradients. Not differentiable w.r.t. ``v0``,
    ``tol``; forward mode (``jax.jvp``) is not supported (use :func:`eigh` for it).

    Compiled once per (matvec, shapes, dtypes, ``k``, ``which``, ``max_steps``, ``ncv``):
    pass the matvec's data in ``args`` and reuse the same function object.

    Args:
      a_or_matvec: a symmetric ``[..., n, n]`` array, or a function called
        ``matvec(v, *args)`` mapping ``[n] -> [n]``, the product with a symmetric matrix
        (a JAX function; then no batch dimensions).
      k: number of eigenpairs wanted, ``1 <= k <= n`` (static).
      args: tuple of extra arguments of the matvec (traced); empty for a matrix.
      v0: ``[..., n]`` starting vector. Default: the fixed pseudo-random vector
        ``jax.random.normal(jax.random.key(0), (n,))`` (in ``a``'s dtype, or JAX's default
        float for a matvec), so results repeat. A zero ``v0`` is replaced by another fixed
        pseudo-random vector. For a matrix, the starting block is ``v0`` and 3 fixed
        pseudo-random vectors.
      which: ``"LA"`` (largest algebraic), ``"SA"`` (smallest algebraic) or ``"LM"``
        (largest magnitude), as SciPy (static).
      max_steps: maximum number of restart cycles (SciPy's ``maxiter``; static); default
        1000 (each cycle costs $\text{ncv} - p$ products, $p$ being about
        $(\text{ncv} + k) / 2$).
      tol: relative residual tolerance (see above), ``> 0``; traced.
      ncv: Krylov subspace dimension, ``k < ncv <= n`` (static); default
        ``min(n, max(2k + 1, 20))`` for a function and ``max(64, 2k + 8)`` for a matrix
        (rounded up to a multiple of the block size 4, and to at least one block more than
        ``k``).
      n: the operator's size, needed only for a matvec without ``v0`` (static).

    Returns:
      ``EigshResult(eigenvalues [..., k] ascending, eigenvectors [..., n, k] as columns,
      converged [..., k], num_steps [...])``.

    Raises:
      ValueError: if ``k`` is not in ``[1, n]``, ``which`` is unknown, the matrix is not
        square, ``v0`` does not match it, or a matvec comes without ``v0`` and ``n``.
      TypeError: if ``args`` is not a tuple.

    References:
      G. W. Stewart, "A Krylov--Schur algorithm for large eigenproblems", SIAM J. Matrix
      Anal. Appl. 23(3), pp. 601-614, 2001.

      K. Wu and H. Simon, "Thick-restart Lanczos method for large symmetric eigenvalue
      problems", SIAM J. Matrix Anal. Appl. 22(2), pp. 602-616, 2000.

      T. Fukaya, Y. Nakatsukasa, Y. Yanagisawa and Y. Yamamoto, "CholeskyQR2: a simple and
      communication-avoiding algorithm for computing a tall-skinny QR factorization on a
      large-scale parallel system", Proc. 5th Workshop on Latest Advances in Scalable
      Algorithms for Large-Scale Systems (ScalA), pp. 31-38, 2014.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> a = jnp.diag(jnp.arange(1.0, 7.0))
      >>> result = linalg.eigsh(a, 2)
      >>> print(result.eigenvalues, result.converged)
      [5. 6.] [ True  True]
      >>> d = jnp.arange(1.0, 7.0)
      >>> vals, vecs, converged, steps = linalg.eigsh(lambda v, d: d * v, 2, (d,), n=6)
      >>> print(vals)
      [5. 6.]
    """
    k = _validate.static_int(k, "k", minimum=1)
    _validate.one_of(which, _WHICH, "which")
    max_steps = DEFAULT_MAX_STEPS if max_steps is None else max_steps
    max_steps = _validate.static_int(max_steps, "max_steps", minimum=1)
    if ncv is not None:
        ncv = _validate.static_int(ncv, "ncv", minimum=k + 1)
    if n is not None:
        n = _validate.static_int(n, "n", minimum=1)
    _check_tol(tol)
    _validate.matrix_or_matvec(a_or_matvec)
    args = _trees.check_args(args)
    if v0 is not None and not isinstance(v0, jax.Array):
        v0 = _validate.as_real(v0, "v0")
    static = {"k": k, "which": which, "max_steps": max_steps, "ncv": ncv, "n": n}
    if _is_matvec(a_or_matvec):
        if v0 is None and n is None:
            raise ValueError(
                "eigsh of a matvec function needs v0 (a start vector [n]) or n (its size)"
            )
        return _eigsh_matvec(a_or_matvec, args, v0, tol, **static)
    if args:
        raise ValueError("args are passed to a matvec function; a matrix takes none")
    a = cast(ArrayLike, a_or_matvec)  # not a matvec function (checked above)
    if not isinstance(a, jax.Array):
        a = _validate.as_real(a, "a")
    return _eigsh_matrix(a, v0, tol, **static)
