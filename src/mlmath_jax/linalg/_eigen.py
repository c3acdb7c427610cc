"""Dense eigendecompositions and what is built directly on them.

``eigh``/``eigvalsh`` (symmetric), ``eig``/``eigvals`` (general), ``charpoly``, ``is_psd``
and ``power_iteration``. Each public function is a thin wrapper over a module-level jitted
body whose shape checks run while tracing, so an eager call costs one dispatch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _krylov, _trees, _validate
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


def _array(x: Any, name: str, *, real: bool = False) -> Any:
    """Arrays and tracers pass untouched (checked while tracing); other input is converted.

    Lists, NumPy arrays and strings are converted here, with a message naming the argument.
    """
    if isinstance(x, jax.Array):
        return x
    return _validate.as_real(x, name) if real else _validate.as_inexact(x, name)


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


def _inverse_gaps(w: jax.Array) -> jax.Array:
    """``F_ij = 1 / (λ_j − λ_i)``, exactly antisymmetric; 0 on the diagonal and for ties.

    Antisymmetry is what makes the huge terms ``dV f(Λ) Vᵀ + V f(Λ) dVᵀ`` of a function of
    the matrix cancel at a near-degenerate pair. XLA may contract ``λ_j s − λ_i s`` (the
    Jacobi path rescales its eigenvalues) into a fused multiply-add, so ``fl(λ_j − λ_i)``
    need not be ``−fl(λ_i − λ_j)``: with a gap of 2e-5 in float32 that asymmetry alone made
    the derivative of ``V exp(Λ) Vᵀ`` wrong by a factor 25. So ``F`` is antisymmetrised
    explicitly (``x − y = −(y − x)`` exactly in IEEE arithmetic).
    """
    gap = w[..., None, :] - w[..., :, None]
    degenerate = jnp.abs(gap) <= _gap_tolerance(w)
    f = jnp.where(degenerate, 0, 1 / jnp.where(degenerate, 1, gap))
    return 0.5 * (f - _mT(f))


@_eigh_symmetric.defjvp
def _eigh_symmetric_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    w, v = _eigh_symmetric(a)
    # Tangent in the eigenbasis: dλ_i = v_iᵀ dA v_i, dV = V (F ∘ Vᵀ dA V) with
    # F_ij = 1 / (λ_j − λ_i). For (numerically) equal eigenvalues F_ij is set to 0: the
    # rotation inside a degenerate eigenspace is arbitrary, and dropping it leaves the
    # derivatives of the eigenvalues and of each eigenspace's projector exact and finite.
    proj = jnp.matmul(_mT(v), jnp.matmul(da, v, precision=_HIGHEST), precision=_HIGHEST)
    proj = 0.5 * (proj + _mT(proj))
    dw = jnp.diagonal(proj, axis1=-2, axis2=-1)
    dv = jnp.matmul(v, _inverse_gaps(w) * proj, precision=_HIGHEST)
    return (w, v), (dw, dv)


@jax.jit
def _eigh_jit(a: jax.Array) -> EighResult:
    a = _symmetrise(_validate.square(a, "a"))
    if jnp.issubdtype(a.dtype, jnp.complexfloating):
        w, v = jnp.linalg.eigh(a, symmetrize_input=False)
        return EighResult(w, v)
    w, v = _eigh_symmetric(a)
    return EighResult(w, v)


def eigh(a: ArrayLike) -> EighResult:
    r"""Eigendecomposition of symmetric matrices (as ``numpy.linalg.eigh``).

    ``a`` is symmetrised as $(A + A^\top)/2$ (as ``jnp.linalg.eigh`` does by default), so
    only its symmetric part matters. The solver is chosen by size: batches of matrices up
    to $5 \times 5$ use a vectorised cyclic Jacobi method (several times faster than LAPACK on
    large batches, eigenvectors orthonormal to rounding also for repeated eigenvalues);
    larger ones use ``jnp.linalg.eigh`` (LAPACK ``syevd`` on CPU, cuSOLVER on GPU).

    Differentiation (forward and reverse, a custom JVP): eigenvalues are differentiable
    everywhere, with $d\lambda_i = v_i^\top \, dA \, v_i$; eigenvectors where the
    eigenvalues are distinct, with
    $dv_j = \sum_{i \ne j} v_i \, (v_i^\top dA \, v_j) / (\lambda_j - \lambda_i)$, as
    accurate as ``jnp.linalg.eigh``'s also for nearly equal eigenvalues (the large terms of
    a near-degenerate pair cancel exactly in functions of the matrix such as
    $V f(\Lambda) V^\top$). At repeated eigenvalues (gaps at or below
    $10 \, n \, \varepsilon \max_i |\lambda_i|$) the individual eigenvectors are not unique
    and have no derivative; the rotation inside the repeated eigenspace is then dropped
    ($1 / (\lambda_j - \lambda_i)$ replaced by 0), so the returned derivative is finite, and
    it is exact for the eigenvalues and for each repeated eigenspace's projector
    $V_S V_S^\top$ (and functions of those, such as $V f(\Lambda) V^\top$ for $f$ constant
    on each repeated eigenvalue), but *not* for $V f(\Lambda) V^\top$ in general: its
    derivative inside a repeated eigenspace needs $f'(\lambda)$, which no eigenvector
    derivative can supply (e.g. $\langle V \exp(\Lambda) V^\top, B \rangle$ at eigenvalues
    (1, 1, 2) misses $e \, P_S (V_S^\top dA \, V_S) P_S$; differentiate a matrix function
    such as ``jax.scipy.linalg.expm`` instead). Complex Hermitian input is passed to
    ``jnp.linalg.eigh`` (and its derivative rules).

    Args:
      a: ``[..., n, n]`` symmetric (or complex Hermitian) matrices.

    Returns:
      ``EighResult(eigenvalues [..., n] ascending, eigenvectors [..., n, n] as columns)``.

    Raises:
      ValueError: if ``a`` is not a square ``[..., n, n]`` array.

    References:
      G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., Johns Hopkins
      University Press, 2013, Sec. 8.5 (Jacobi methods).

      M. B. Giles, "An extended collection of matrix derivative results for forward and
      reverse mode automatic differentiation", Oxford University Computing Laboratory,
      Report NA-08/01, 2008.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> w, v = linalg.eigh(jnp.array([[2.0, 1.0], [1.0, 2.0]]))
      >>> print(w)
      [1. 3.]
    """
    return _eigh_jit(_array(a, "a"))


@jax.jit
def _eigvalsh_jit(a: jax.Array) -> jax.Array:
    return _eigh_jit(a).eigenvalues


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

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> print(linalg.eigvalsh(jnp.array([[2.0, 0.0], [0.0, -1.0]])))
      [-1.  2.]
    """
    return _eigvalsh_jit(_array(a, "a"))


# ----------------------------------------------------------------------------------------
# eig, eigvals, charpoly


def eig(a: ArrayLike) -> EigResult:
    r"""Eigendecomposition of general square matrices (as ``numpy.linalg.eig``).

    Complex results for real or complex input: eigenvalues in LAPACK's order (not sorted)
    and unit-norm eigenvectors as columns, each with its largest component real. Runs on
    CPU (LAPACK ``geev``) and GPU (cuSOLVER ``geev``, or LAPACK on the host with older
    cuSOLVER), through ``jnp.linalg.eig``.

    Differentiation (forward and reverse, a custom JVP): eigenvalues where they are simple
    (distinct), $d\lambda_i = u_i^H dA \, v_i / (u_i^H v_i)$ with the left eigenvectors
    $u_i$ (the rows of $V^{-1}$); at a repeated eigenvalue $V$ is singular or nearly so and
    the derivative is non-finite or meaningless (eigenvalues of a defective matrix are not
    differentiable). Eigenvectors are not differentiable here (their normalisation is
    not smooth): their tangent is NaN, so a loss that uses them gets a NaN gradient,
    never a silent number, while eigenvalue-only losses are unaffected.

    Args:
      a: ``[..., n, n]`` square matrices.

    Returns:
      ``EigResult(eigenvalues [..., n], eigenvectors [..., n, n])``, complex64 for
      float32 input and complex128 for float64 input.

    Raises:
      ValueError: if ``a`` is not a square ``[..., n, n]`` array.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> w, v = linalg.eig(jnp.array([[0.0, -1.0], [1.0, 0.0]]))
      >>> print(jnp.sort_complex(w))
      [0.-1.j 0.+1.j]
    """
    return _eig_jit(_array(a, "a"))


@jax.custom_jvp
def _eig(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    w, v = jnp.linalg.eig(a)
    return w, v


@_eig.defjvp
def _eig_jvp(primals, tangents):
    # dλ_i = u_iᴴ dA v_i / (u_iᴴ v_i): the rows of V⁻¹ are the left eigenvectors scaled so
    # that u_iᴴ v_i = 1, hence dλ = diag(V⁻¹ dA V) (simple eigenvalues). Eigenvector
    # derivatives are not provided: their tangent is NaN (linear in dA, so unused
    # eigenvectors cost nothing and leave eigenvalue gradients intact).
    (a,), (da,) = primals, tangents
    w, v = _eig(a)
    proj = jnp.linalg.solve(v, jnp.matmul(da.astype(v.dtype), v, precision=_HIGHEST))
    dw = jnp.diagonal(proj, axis1=-2, axis2=-1)
    return (w, v), (dw, jnp.nan * proj)


@jax.jit
def _eig_jit(a: jax.Array) -> EigResult:
    w, v = _eig(_validate.square(a, "a"))
    return EigResult(w, v)


def eigvals(a: ArrayLike) -> jax.Array:
    """Eigenvalues of general square matrices (as ``numpy.linalg.eigvals``).

    Args:
      a: ``[..., n, n]`` square matrices.

    Returns:
      ``[..., n]`` complex eigenvalues (complex64 for float32 input), in LAPACK's order.

    Raises:
      ValueError: if ``a`` is not a square ``[..., n, n]`` array.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> print(linalg.eigvals(jnp.array([[2.0, 0.0], [0.0, 3.0]])))
      [2.+0.j 3.+0.j]
    """
    return _eigvals_jit(_array(a, "a"))


@jax.jit
def _eigvals_jit(a: jax.Array) -> jax.Array:
    return jnp.linalg.eigvals(_validate.square(a, "a"))


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


@jax.jit
def _charpoly_jit(a: jax.Array) -> jax.Array:
    return _charpoly(_validate.square(a, "a"))


def charpoly(a: ArrayLike) -> jax.Array:
    r"""Characteristic polynomial $\det(\lambda I - A)$ (as ``numpy.poly`` of a matrix).

    Computed as NumPy does, from the eigenvalues (multiplying out
    $\prod_i (\lambda - \lambda_i)$), which
    is far more accurate than the Faddeev–LeVerrier recurrence. Coefficients are real for
    real input. Differentiable everywhere (a custom JVP from the adjugate, valid also at
    repeated eigenvalues).

    Args:
      a: ``[..., n, n]`` square matrices.

    Returns:
      ``[..., n + 1]`` coefficients, highest degree first (the first is 1).

    Raises:
      ValueError: if ``a`` is not a square ``[..., n, n]`` array.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> print(linalg.charpoly(jnp.array([[2.0, 0.0], [0.0, 3.0]])))
      [ 1. -5.  6.]
    """
    return _charpoly_jit(_array(a, "a"))


# ----------------------------------------------------------------------------------------
# is_psd


def is_psd(a: ArrayLike, *, rtol: float | None = None) -> jax.Array:
    r"""Whether matrices are symmetric positive semi-definite.

    ``a`` counts as symmetric when $\max |A - A^\top| \le \text{rtol} \cdot \max |A|$ and
    as positive semi-definite when moreover its smallest eigenvalue is
    $\ge -\text{rtol} \cdot \max_i |\lambda_i|$. The default ``rtol`` is $n \varepsilon$
    ($\varepsilon$ the machine epsilon of the dtype) (the default of
    ``numpy.linalg.matrix_rank``). NaN entries give ``False``. No NumPy function does
    this directly; it is ``numpy.linalg.eigvalsh(a).min() >= -tol`` plus a symmetry test.

    Args:
      a: ``[..., n, n]`` square matrices.
      rtol: relative tolerance (see above), ``>= 0``.

    Returns:
      bool ``[...]``.

    Raises:
      ValueError: if ``a`` is not square or ``rtol`` is negative.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> print(linalg.is_psd(jnp.array([[1.0, 1.0], [1.0, 1.0]])))
      True
    """
    # Python numbers are checked on the host, without a device op.
    rtol = _validate.tolerance(rtol, "rtol", scalar=False, allow_none=True)
    return _is_psd(_array(a, "a"), rtol)


@jax.jit
def _is_psd(a: jax.Array, rtol: Any) -> jax.Array:
    a = _validate.square(a, "a")
    n = a.shape[-1]
    if rtol is None:
        rtol = n * float(jnp.finfo(a.dtype).eps)
    else:
        _validate.batch_shape([a.shape[:-2], jnp.shape(rtol)], ["a", "rtol"])
    amax = jnp.max(jnp.abs(a), axis=(-2, -1), initial=0.0)
    asym = jnp.max(jnp.abs(a - jnp.conj(_mT(a))), axis=(-2, -1), initial=0.0)
    symmetric = asym <= rtol * amax
    if n == 0:
        return symmetric
    w = _eigh_jit(a).eigenvalues
    lam_max = jnp.max(jnp.abs(w), axis=-1)
    return symmetric & (w[..., 0] >= -rtol * lam_max)


# ----------------------------------------------------------------------------------------
# power iteration


class PowerIterationResult(NamedTuple):
    """Result of :func:`power_iteration`.

    Attributes:
      eigenvalue: ``[...]`` the eigenvalue of largest magnitude (NaN if not converged).
      eigenvector: ``[..., n]`` its unit eigenvector, largest-magnitude component positive.
      converged: bool ``[...]``, whether the residual tolerance was met.
      num_steps: int32 ``[...]``, products with the operator computed.
    """

    eigenvalue: jax.Array
    eigenvector: jax.Array
    converged: jax.Array
    num_steps: jax.Array


def _pi_apply(op, tol, v):
    """``(A v, vᵀ A v, converged)`` for a unit vector ``v``."""
    w = op(v)
    lam = jnp.dot(v, w, precision=_HIGHEST)
    return w, lam, jnp.linalg.norm(w - lam * v) <= tol * jnp.abs(lam)


def _pi_init(op, tol, v0):
    v = v0 / jnp.linalg.norm(v0)
    w, lam, done = _pi_apply(op, tol, v)
    return jnp.int32(1), v, w, lam, done


def _pi_step(op, tol, state):
    i, _, w, _, _ = state
    v = w / jnp.linalg.norm(w)
    w, lam, done = _pi_apply(op, tol, v)
    return i + 1, v, w, lam, done


def _pi_running(max_steps: int, state) -> jax.Array:
    i, _, _, _, done = state
    return (~done) & (i < max_steps)


def _pi_finish(state) -> PowerIterationResult:
    i, v, _, lam, done = state
    # Deterministic sign: the largest-magnitude component is positive.
    pivot = jnp.take(v, jnp.argmax(jnp.abs(v)))
    v = jnp.where(pivot < 0, -v, v)
    return PowerIterationResult(jnp.where(done, lam, jnp.nan), jnp.where(done, v, jnp.nan), done, i)


def _power_iteration(op, v0: jax.Array, max_steps: int, tol) -> PowerIterationResult:
    n, dtype = v0.shape[-1], v0.dtype
    # Below this relative residual the product A v is rounding noise.
    tol = jnp.maximum(jnp.asarray(tol, dtype), 10.0 * (n**0.5) * float(jnp.finfo(dtype).eps))
    state = lax.while_loop(
        functools.partial(_pi_running, max_steps),
        functools.partial(_pi_step, op, tol),
        _pi_init(op, tol, v0),
    )
    return _pi_finish(state)


@functools.partial(jax.jit, static_argnames=("matvec", "max_steps", "n"))
def _power_matvec(matvec, args, v0, tol, *, max_steps, n) -> PowerIterationResult:
    v0 = _krylov.start_vector(v0, n, jnp.result_type(float))
    # The loop runs on constants; derivatives w.r.t. args come from the implicit formulas.
    v0, tol = lax.stop_gradient((v0, tol))
    op = _krylov.operator(matvec, lax.stop_gradient(args), v0.shape[0], v0.dtype)
    return _differentiable_power(_power_iteration(op, v0, max_steps, tol), matvec, args)


def _differentiable_power(
    result: PowerIterationResult, matvec, args, valid: bool | jax.Array = True
):
    lam, vec = _krylov.implicit_eigenpairs(
        matvec,
        args,
        result.eigenvalue[None],
        result.eigenvector[:, None],
        which="LM",
        valid=valid,
    )
    return result._replace(eigenvalue=lam[0], eigenvector=vec[:, 0])


def _matrix_product(v: jax.Array, a: jax.Array) -> jax.Array:
    return jnp.dot(a, v, precision=_HIGHEST)


@functools.partial(jax.jit, static_argnames=("max_steps", "n"))
def _power_matrix(a, v0, tol, *, max_steps, n) -> PowerIterationResult:
    a = _validate.square(_validate.as_real(a, "a"), "a")
    size = a.shape[-1]
    if n is not None and n != size:
        raise ValueError(f"n={n} does not match the matrix a of shape {a.shape}")
    v0 = _krylov.default_start(size, a.dtype) if v0 is None else v0
    v0 = _validate.vector(v0, "v0", real=True)
    if v0.shape[-1] != size:
        raise ValueError(f"v0 must have length n={size} to match a {a.shape}, got {v0.shape}")
    shape = _validate.batch_shape([a.shape[:-2], v0.shape[:-1]], ["a", "v0"])
    dtype = jnp.result_type(a.dtype, v0.dtype)
    a = jnp.broadcast_to(a.astype(dtype), shape + a.shape[-2:]).reshape((-1, size, size))
    v0 = jnp.broadcast_to(v0.astype(dtype), shape + (size,)).reshape((-1, size))

    def one(a, v0):
        a_const, v0, tol_const = lax.stop_gradient((a, v0, tol))
        result = _power_iteration(
            functools.partial(_matrix_product, a=a_const), v0, max_steps, tol_const
        )
        # The implicit derivative formulas hold for symmetric matrices: NaN otherwise.
        asym = jnp.max(jnp.abs(a_const - a_const.T), initial=0.0)
        symmetric = asym <= 10 * size * float(jnp.finfo(a.dtype).eps) * jnp.max(jnp.abs(a_const))
        return _differentiable_power(result, _matrix_product, (a,), symmetric)

    out = jax.vmap(one)(a, v0)
    return PowerIterationResult(*(x.reshape(shape + x.shape[1:]) for x in out))


def power_iteration(
    a_or_matvec: ArrayLike | Callable[..., jax.Array],
    args: tuple = (),
    *,
    v0: ArrayLike | None = None,
    max_steps: int = 1000,
    tol: float = 1e-6,
    n: int | None = None,
) -> PowerIterationResult:
    r"""Eigenvalue of largest magnitude and its eigenvector, by power iteration.

    Iterates $v \leftarrow A v / \|A v\|$ and stops when the Rayleigh quotient
    $\lambda = v^\top A v$ has residual $\|A v - \lambda v\| \le \text{tol} \cdot |\lambda|$
    (``tol`` is raised to $10 \sqrt{n} \, \varepsilon$ of the dtype, the rounding level of
    the product). A negative dominant eigenvalue is found ($v$ alternates sign; $\lambda$
    and the residual do not). Convergence is linear with ratio $|\lambda_2 / \lambda_1|$;
    if it has not converged after ``max_steps`` products (e.g. when $\lambda$ and
    $-\lambda$ are both dominant), ``converged`` is False and the eigenvalue and
    eigenvector are NaN. The eigenvector has unit length and its largest-magnitude
    component positive. No NumPy equivalent; compare
    ``scipy.sparse.linalg.eigs(a, k=1, which="LM")``. Compiled once per (matvec, shapes,
    dtypes, ``max_steps``): pass the matvec's data in ``args``.

    Differentiation (reverse mode, a custom VJP; the loop is never differentiated): the
    eigenvalue and eigenvector are differentiable w.r.t. ``a`` or the matvec's ``args``
    for a symmetric operator whose dominant eigenvalue is simple and not matched by
    $-\lambda$: $d\lambda = v^\top dA \, v$, and
    $dv = -(A - \lambda I)^+ (I - v v^\top) \, dA \, v$ solved by conjugate gradients on the
    operator (at most $n$ products). The gradient w.r.t. ``a`` is the unsymmetrised one
    (e.g. $v v^\top$ for $\lambda$). For a non-symmetric matrix ``a`` the
    gradient is NaN (these formulas need the left eigenvector); a matvec is assumed
    symmetric. Not differentiable w.r.t. ``v0`` or ``tol``; an unconverged result (NaN)
    gives NaN gradients. Forward mode (``jax.jvp``) is not supported.

    Args:
      a_or_matvec: ``[..., n, n]`` square matrices, or a function called
        ``matvec(v, *args)`` mapping ``[n] -> [n]`` (a JAX function; then no batch
        dimensions).
      args: tuple of extra arguments of the matvec (traced); empty for a matrix.
      v0: ``[..., n]`` starting vector, not orthogonal to the dominant eigenvector.
        Default: the fixed pseudo-random ``jax.random.normal(jax.random.key(0), (n,))``
        (in ``a``'s dtype, or JAX's default float for a matvec), so results repeat.
      max_steps: maximum number of products (static), ``>= 1``.
      tol: relative residual tolerance, ``> 0`` (traced).
      n: the operator's size, needed only for a matvec without ``v0`` (static).

    Returns:
      ``PowerIterationResult(eigenvalue [...], eigenvector [..., n], converged [...],
      num_steps [...])``.

    Raises:
      ValueError: if shapes do not match, ``max_steps``/``tol`` are out of range, or a
        matvec comes without ``v0`` and ``n``.
      TypeError: if ``args`` is not a tuple.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> result = linalg.power_iteration(jnp.diag(jnp.array([1.0, -3.0])))
      >>> print(f"{result.eigenvalue:.4f}", result.converged)
      -3.0000 True
      >>> result = linalg.power_iteration(lambda v, d: d * v, (jnp.array([1.0, 2.0]),), n=2)
      >>> print(f"{result.eigenvalue:.4f}", result.num_steps > 0)
      2.0000 True
    """
    max_steps = _validate.static_int(max_steps, "max_steps", minimum=1)
    if n is not None:
        n = _validate.static_int(n, "n", minimum=1)
    _validate.tolerance(tol, "tol", strict=True)
    _validate.matrix_or_matvec(a_or_matvec)
    args = _trees.check_args(args)
    if v0 is not None and not isinstance(v0, jax.Array):
        v0 = _validate.as_real(v0, "v0")
    if callable(a_or_matvec) and not hasattr(a_or_matvec, "shape"):
        if v0 is None and n is None:
            raise ValueError(
                "power_iteration of a matvec function needs v0 (a start vector [n]) or n (its size)"
            )
        return _power_matvec(a_or_matvec, args, v0, tol, max_steps=max_steps, n=n)
    if args:
        raise ValueError("args are passed to a matvec function; a matrix takes none")
    a = _array(a_or_matvec, "a", real=True)
    return _power_matrix(a, v0, tol, max_steps=max_steps, n=n)
