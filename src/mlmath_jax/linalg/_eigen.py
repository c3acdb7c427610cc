"""Dense eigendecompositions and what is built directly on them.

``eigh``/``eigvalsh`` (symmetric), ``eig``/``eigvals`` (general), ``charpoly``, ``is_psd``
and ``power_iteration``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _validate
from . import _small_eigh

# Products that decide eigenvector accuracy run at full float32 precision (no TF32).
_HIGHEST = lax.Precision.HIGHEST


class EighResult(NamedTuple):
    """Eigenvalues (ascending) and eigenvectors (as columns) of a symmetric matrix."""

    eigenvalues: jax.Array
    eigenvectors: jax.Array


class EigResult(NamedTuple):
    """Complex eigenvalues and eigenvectors (as columns) of a general square matrix."""

    eigenvalues: jax.Array
    eigenvectors: jax.Array


def _mT(x: jax.Array) -> jax.Array:
    return jnp.swapaxes(x, -1, -2)


def _symmetrise(a: jax.Array) -> jax.Array:
    return 0.5 * (a + jnp.conj(_mT(a)))


# ----------------------------------------------------------------------------------------
# eigh


def _eigh_dispatch(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Pick the solver by size: elementwise Jacobi for tiny matrices, LAPACK/cuSOLVER else."""
    n = a.shape[-1]
    if n == 1:
        return a[..., 0, :], jnp.ones_like(a)
    if 2 <= n <= _small_eigh.MAX_N:
        return _small_eigh.eigh_small_batched(a)
    w, v = jnp.linalg.eigh(a, symmetrize_input=False)
    return w, v


@jax.custom_jvp
def _eigh_symmetric(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    return _eigh_dispatch(a)


def _gap_tolerance(w: jax.Array) -> jax.Array:
    """Eigenvalue gaps at or below this are treated as exact degeneracies."""
    n = w.shape[-1]
    eps = jnp.finfo(w.dtype).eps
    scale = jnp.max(jnp.abs(w), axis=-1, keepdims=True)[..., None]
    return 10 * max(n, 1) * eps * scale


@_eigh_symmetric.defjvp
def _eigh_symmetric_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    w, v = _eigh_symmetric(a)
    # Tangent in the eigenbasis: dλ_i = v_iᵀ dA v_i, dV = V (F ∘ Vᵀ dA V) with
    # F_ij = 1 / (λ_j − λ_i). For (numerically) equal eigenvalues F_ij is set to 0: the
    # rotation inside a degenerate eigenspace is arbitrary, and dropping it leaves the
    # derivative of the eigenspace's projector, and of the eigenvalues, exact and finite.
    proj = jnp.matmul(_mT(v), jnp.matmul(da, v, precision=_HIGHEST), precision=_HIGHEST)
    dw = jnp.diagonal(proj, axis1=-2, axis2=-1)
    gap = w[..., None, :] - w[..., :, None]
    degenerate = jnp.abs(gap) <= _gap_tolerance(w)
    f = jnp.where(degenerate, 0, 1 / jnp.where(degenerate, 1, gap))
    dv = jnp.matmul(v, f * proj, precision=_HIGHEST)
    return (w, v), (dw, dv)


@jax.jit
def _eigh_jit(a: jax.Array) -> EighResult:
    # Compiled once per shape and dtype, so eager calls do not re-trace the Jacobi loop.
    a = _symmetrise(a)
    if jnp.issubdtype(a.dtype, jnp.complexfloating):
        w, v = jnp.linalg.eigh(a, symmetrize_input=False)
        return EighResult(w, v)
    w, v = _eigh_symmetric(a)
    return EighResult(w, v)


def eigh(a: ArrayLike) -> EighResult:
    """Eigendecomposition of symmetric matrices (as ``numpy.linalg.eigh``).

    ``a`` is symmetrised as ``(a + aᵀ) / 2`` (as ``jnp.linalg.eigh`` does by default), so
    only its symmetric part matters. The solver is chosen by size: batches of matrices up
    to 5×5 use a vectorised cyclic Jacobi method (several times faster than LAPACK on
    large batches, eigenvectors orthonormal to rounding also for repeated eigenvalues);
    larger ones use ``jnp.linalg.eigh`` (LAPACK ``syevd`` on CPU, cuSOLVER on GPU).

    Differentiation (forward and reverse): eigenvalues are differentiable everywhere, with
    ``dλ_i = v_iᵀ dA v_i``. Eigenvectors are differentiable where the eigenvalues are
    distinct; for repeated eigenvalues (gaps below ``10 n eps max|λ|``) the individual
    eigenvectors are not unique and their derivative is not defined, but the derivative
    returned is finite and gives the exact derivative of every quantity invariant to the
    choice of basis of the repeated eigenspace — its projector ``V_S V_Sᵀ``, and
    functions of the matrix such as ``V f(Λ) Vᵀ``. Complex Hermitian input is passed to
    ``jnp.linalg.eigh`` (and its derivative rules).

    Args:
      a: ``[..., n, n]`` symmetric (or complex Hermitian) matrices.

    Returns:
      ``EighResult(eigenvalues [..., n] ascending, eigenvectors [..., n, n] as columns)``.

    Raises:
      ValueError: if ``a`` is not a square ``[..., n, n]`` array.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> w, v = linalg.eigh(jnp.array([[2.0, 1.0], [1.0, 2.0]]))
      >>> print(w)
      [1. 3.]
    """
    return _eigh_jit(_validate.square(a, "a"))


def eigvalsh(a: ArrayLike) -> jax.Array:
    """Eigenvalues of symmetric matrices, ascending (as ``numpy.linalg.eigvalsh``).

    Same solver choice, symmetrisation and derivative as :func:`eigh` (the eigenvalues
    are differentiable everywhere, also where they are repeated).

    Args:
      a: ``[..., n, n]`` symmetric matrices.

    Returns:
      ``[..., n]`` eigenvalues in ascending order.

    Raises:
      ValueError: if ``a`` is not a square ``[..., n, n]`` array.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> print(linalg.eigvalsh(jnp.array([[2.0, 0.0], [0.0, -1.0]])))
      [-1.  2.]
    """
    return eigh(a).eigenvalues


# ----------------------------------------------------------------------------------------
# eig, eigvals, charpoly


def eig(a: ArrayLike) -> EigResult:
    """Eigendecomposition of general square matrices (as ``numpy.linalg.eig``).

    Complex results for real or complex input: eigenvalues in LAPACK's order (not sorted)
    and unit-norm eigenvectors as columns, each with its largest component real. Runs on
    CPU (LAPACK ``geev``) and GPU (cuSOLVER ``geev``, or LAPACK on the host with older
    cuSOLVER), through ``jnp.linalg.eig``. Eigenvalues are differentiable where they are
    simple; eigenvectors are not differentiable (their normalisation is not smooth).

    Args:
      a: ``[..., n, n]`` square matrices.

    Returns:
      ``EigResult(eigenvalues [..., n], eigenvectors [..., n, n])``, complex64 for
      float32 input and complex128 for float64 input.

    Raises:
      ValueError: if ``a`` is not a square ``[..., n, n]`` array.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> w, v = linalg.eig(jnp.array([[0.0, -1.0], [1.0, 0.0]]))
      >>> print(jnp.sort_complex(w))
      [0.-1.j 0.+1.j]
    """
    a = _validate.square(a, "a")
    w, v = jnp.linalg.eig(a)
    return EigResult(w, v)


def eigvals(a: ArrayLike) -> jax.Array:
    """Eigenvalues of general square matrices (as ``numpy.linalg.eigvals``).

    Args:
      a: ``[..., n, n]`` square matrices.

    Returns:
      ``[..., n]`` complex eigenvalues (complex64 for float32 input), in LAPACK's order.

    Raises:
      ValueError: if ``a`` is not a square ``[..., n, n]`` array.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> print(linalg.eigvals(jnp.array([[2.0, 0.0], [0.0, 3.0]])))
      [2.+0.j 3.+0.j]
    """
    a = _validate.square(a, "a")
    return jnp.linalg.eigvals(a)


def _poly_from_roots(roots: jax.Array) -> jax.Array:
    """Coefficients ``[..., n + 1]`` of ``prod_i (x - roots_i)``, highest degree first."""
    n = roots.shape[-1]
    coeffs = jnp.zeros(roots.shape[:-1] + (n + 1,), roots.dtype).at[..., 0].set(1)

    def step(c, r):
        shifted = jnp.concatenate([jnp.zeros_like(c[..., :1]), c[..., :-1]], axis=-1)
        return c - r[..., None] * shifted, None

    coeffs, _ = lax.scan(step, coeffs, jnp.moveaxis(roots, -1, 0))
    return coeffs


@jax.custom_jvp
def _charpoly(a: jax.Array) -> jax.Array:
    coeffs = _poly_from_roots(jnp.linalg.eigvals(a))
    if not jnp.issubdtype(a.dtype, jnp.complexfloating):
        coeffs = coeffs.real  # conjugate pairs: the imaginary parts are rounding noise
    return coeffs.astype(a.dtype)


@_charpoly.defjvp
def _charpoly_jvp(primals, tangents):
    # d det(λI − A) = −tr(adj(λI − A) dA) with adj(λI − A) = Σ_k λ^(n−1−k) B_k,
    # B_0 = I, B_k = A B_(k−1) + c_k I (Faddeev–LeVerrier, run with the accurate c_k from
    # the eigenvalues). So dc_0 = 0 and dc_k = −tr(B_(k−1) dA): smooth everywhere, also
    # where eigenvalues repeat (where differentiating through them would fail).
    (a,), (da,) = primals, tangents
    c = _charpoly(a)
    n = a.shape[-1]
    eye = jnp.broadcast_to(jnp.eye(n, dtype=a.dtype), a.shape)

    def step(b, ck):
        dck = -jnp.sum(_mT(b) * da, axis=(-2, -1))
        b_next = jnp.matmul(a, b, precision=_HIGHEST) + ck[..., None, None] * eye
        return b_next, dck

    _, dc = lax.scan(step, eye, jnp.moveaxis(c[..., 1:], -1, 0))
    dc = jnp.moveaxis(dc, 0, -1)
    dc = jnp.concatenate([jnp.zeros_like(c[..., :1]), dc], axis=-1)
    return c, dc


_charpoly_jit = jax.jit(_charpoly)


def charpoly(a: ArrayLike) -> jax.Array:
    """Characteristic polynomial ``det(λI − A)`` (as ``numpy.poly`` of a matrix).

    Computed as NumPy does, from the eigenvalues (multiplying out ``Π (λ − λ_i)``), which
    is far more accurate than the Faddeev–LeVerrier recurrence. Coefficients are real for
    real input. Differentiable everywhere (a custom JVP from the adjugate, valid also at
    repeated eigenvalues).

    Args:
      a: ``[..., n, n]`` square matrices.

    Returns:
      ``[..., n + 1]`` coefficients, highest degree first (the first is 1).

    Raises:
      ValueError: if ``a`` is not a square ``[..., n, n]`` array.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> print(linalg.charpoly(jnp.array([[2.0, 0.0], [0.0, 3.0]])))
      [ 1. -5.  6.]
    """
    return _charpoly_jit(_validate.square(a, "a"))


# ----------------------------------------------------------------------------------------
# is_psd


def is_psd(a: ArrayLike, *, rtol: float | None = None) -> jax.Array:
    """Whether matrices are symmetric positive semi-definite.

    ``a`` counts as symmetric when ``max|a − aᵀ| <= rtol · max|a|`` and as positive
    semi-definite when moreover its smallest eigenvalue is ``>= −rtol · max|λ|``. The
    default ``rtol`` is ``n · eps`` of the dtype (the default of
    ``numpy.linalg.matrix_rank``). NaN entries give ``False``. No NumPy function does
    this directly; it is ``numpy.linalg.eigvalsh(a).min() >= -tol`` plus a symmetry test.

    Args:
      a: ``[..., n, n]`` square matrices.
      rtol: relative tolerance (see above), ``>= 0``.

    Returns:
      bool ``[...]``.

    Raises:
      ValueError: if ``a`` is not square or ``rtol`` is negative.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> print(linalg.is_psd(jnp.array([[1.0, 1.0], [1.0, 1.0]])))
      True
    """
    a = _validate.square(a, "a")
    n = a.shape[-1]
    if rtol is None:
        rtol = n * float(jnp.finfo(a.dtype).eps)
    else:
        _validate.nonnegative(rtol, "rtol")
    return _is_psd(a, rtol)


@jax.jit
def _is_psd(a: jax.Array, rtol: jax.Array) -> jax.Array:
    n = a.shape[-1]
    amax = jnp.max(jnp.abs(a), axis=(-2, -1), initial=0.0)
    asym = jnp.max(jnp.abs(a - jnp.conj(_mT(a))), axis=(-2, -1), initial=0.0)
    symmetric = asym <= rtol * amax
    if n == 0:
        return symmetric
    w = eigvalsh(a)
    lam_max = jnp.max(jnp.abs(w), axis=-1)
    return symmetric & (w[..., 0] >= -rtol * lam_max)


# ----------------------------------------------------------------------------------------
# power iteration


def _power_iteration_single(matvec, v0, max_iters: int, tol: float):
    n = v0.shape[-1]
    dtype = v0.dtype
    # Below this relative residual the product A v is rounding noise.
    tol = max(tol, 10.0 * (n**0.5) * float(jnp.finfo(dtype).eps))
    v = v0 / jnp.linalg.norm(v0)

    def apply(v):
        w = jnp.asarray(matvec(v), dtype).reshape(n)
        lam = jnp.dot(v, w, precision=_HIGHEST)
        res = jnp.linalg.norm(w - lam * v)
        return w, lam, res <= tol * jnp.abs(lam)

    def cond(state):
        i, _, _, _, done = state
        return (~done) & (i < max_iters)

    def body(state):
        i, v, w, _, _ = state
        v = w / jnp.linalg.norm(w)
        w, lam, done = apply(v)
        return i + 1, v, w, lam, done

    w, lam, done = apply(v)
    _, v, _, lam, done = lax.while_loop(cond, body, (jnp.int32(1), v, w, lam, done))
    # Deterministic sign: the largest-magnitude component is positive.
    pivot = jnp.take(v, jnp.argmax(jnp.abs(v)))
    v = jnp.where(pivot < 0, -v, v)
    lam = jnp.where(done, lam, jnp.nan)
    v = jnp.where(done, v, jnp.nan)
    return lam, v


class PowerIterationResult(NamedTuple):
    """Dominant eigenvalue and its unit eigenvector."""

    eigenvalue: jax.Array
    eigenvector: jax.Array


def power_iteration(
    a_or_matvec: ArrayLike | Callable[[jax.Array], jax.Array],
    v0: ArrayLike,
    *,
    max_iters: int = 1000,
    tol: float = 1e-6,
) -> PowerIterationResult:
    """Eigenvalue of largest magnitude and its eigenvector, by power iteration.

    Iterates ``v ← A v / ||A v||`` and stops when the Rayleigh quotient ``λ = vᵀ A v``
    has residual ``||A v − λ v|| <= tol · |λ|`` (``tol`` is raised to ``10 √n eps`` of the
    dtype, the rounding level of the product). A negative dominant eigenvalue is found
    (``v`` alternates sign; ``λ`` and the residual do not). Convergence is linear with
    ratio ``|λ₂ / λ₁|``; if it has not converged after ``max_iters`` products (e.g. when
    ``λ`` and ``−λ`` are both dominant), both outputs are NaN. The returned eigenvector
    has unit length and its largest-magnitude component positive. No NumPy equivalent;
    compare ``scipy.sparse.linalg.eigs(a, k=1, which="LM")``.

    Args:
      a_or_matvec: ``[..., n, n]`` square matrices, or a function ``[n] -> [n]`` (a JAX
        function; then no batch dimensions).
      v0: ``[..., n]`` starting vector, not orthogonal to the dominant eigenvector.
      max_iters: maximum number of products (static).
      tol: relative residual tolerance (static), ``> 0``.

    Returns:
      ``PowerIterationResult(eigenvalue [...], eigenvector [..., n])``.

    Raises:
      ValueError: if shapes do not match or ``max_iters``/``tol`` are out of range.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> lam, v = linalg.power_iteration(jnp.diag(jnp.array([1.0, -3.0])), jnp.ones(2))
      >>> print(lam, v)
      -3.0 [0. 1.]
    """
    max_iters = _validate.static_int(max_iters, "max_iters", minimum=1)
    try:
        tol = float(tol)
    except TypeError as exc:
        raise TypeError(f"tol must be a Python float, got {type(tol).__name__}") from exc
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    v0 = _validate.vector(v0, "v0", real=True)
    n = v0.shape[-1]
    if callable(a_or_matvec) and not hasattr(a_or_matvec, "shape"):
        if v0.ndim != 1:
            raise ValueError(
                f"v0 must be a 1-D [n] vector when a matvec function is given, got {v0.shape}"
            )
        lam, v = _power_iteration_single(a_or_matvec, v0, max_iters, tol)
        return PowerIterationResult(lam, v)
    a = _validate.as_real(a_or_matvec, "a")
    a = _validate.square(a, "a")
    if a.shape[-1] != n:
        raise ValueError(
            f"v0 must have length n={a.shape[-1]} to match a {a.shape}, got {v0.shape}"
        )
    shape = _validate.batch_shape([a.shape[:-2], v0.shape[:-1]], ["a", "v0"])
    dtype = jnp.result_type(a.dtype, v0.dtype)
    a = jnp.broadcast_to(a.astype(dtype), shape + a.shape[-2:]).reshape((-1, n, n))
    v0 = jnp.broadcast_to(v0.astype(dtype), shape + (n,)).reshape((-1, n))
    lam, v = _power_iteration_batch(a, v0, max_iters, tol)
    return PowerIterationResult(lam.reshape(shape), v.reshape(shape + (n,)))


@functools.partial(jax.jit, static_argnums=(2, 3))
def _power_iteration_batch(a, v0, max_iters, tol):
    def one(a, v0):
        return _power_iteration_single(
            lambda x: jnp.dot(a, x, precision=_HIGHEST), v0, max_iters, tol
        )

    return jax.vmap(one)(a, v0)
