"""Hessian-vector products and matrix-free Hessian spectra (eigenpairs, trace, density).

Every entry point is a thin wrapper over a module-level jitted body: the user's ``fun`` is
a static argument (identified by the object), ``x``, ``args``, keys and tolerances are
traced, and the checks of ``fun``'s output and of shapes run while tracing. Repeated calls
with the same ``fun`` and new data of the same shapes compile nothing.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike

from .. import _krylov, _trees, _validate
from ..linalg import EigshResult, eigsh
from ._inputs import call, check_positive, checked_point


class TraceResult(NamedTuple):
    r"""Result of :func:`hessian_trace`.

    Attributes:
      estimate: Hutchinson's estimate of $\operatorname{tr} \nabla^2 f(x)$ ($f$ the
        function ``fun``), a scalar in ``x``'s dtype.
      standard_error: its standard error, ``std(ddof=1) / sqrt(num_samples)``.
    """

    estimate: jax.Array
    standard_error: jax.Array


def _flat_hvp(f: Callable[..., Any], x_flat: jax.Array, v: jax.Array, args: tuple) -> jax.Array:
    """Forward-over-reverse ``∇²f(x) v`` of a function of flat parameters."""
    return jax.jvp(lambda z: jax.grad(f)(z, *args), (x_flat,), (v.astype(x_flat.dtype),))[1]


@dataclasses.dataclass(frozen=True)
class _HessianMatvec:
    """``matvec(v, x, *args) = ∇²fun(x) v`` on flattened parameters.

    A frozen dataclass, so two operators of the same ``fun`` are equal and hash alike:
    ``linalg.eigsh``, which takes its matvec as a static argument, reuses its compiled
    program across calls.
    """

    fun: Callable[..., Any]

    def __call__(self, v: jax.Array, x: Any, *args: Any) -> jax.Array:
        f, x_flat = _trees.flat_fun(self.fun, x)
        return _flat_hvp(f, x_flat, v, args)


# ----------------------------------------------------------------------------------------
# hvp


@functools.partial(jax.jit, static_argnames=("fun",))
def _hvp_jit(fun, x, v, args):
    x = _trees.inexact_tree(x, "x")
    x_def, v_def = jax.tree.structure(x), jax.tree.structure(v)
    if x_def != v_def:
        raise ValueError(
            f"x and v must have the same pytree structure, got x {x_def} and v {v_def}"
        )
    v = jax.tree.map(lambda leaf: _validate.as_inexact(leaf, "v"), v)
    x_shapes = [leaf.shape for leaf in jax.tree.leaves(x)]
    v_shapes = [leaf.shape for leaf in jax.tree.leaves(v)]
    if x_shapes != v_shapes:
        raise ValueError(
            f"x and v must have the same leaf shapes, got x {x_shapes} and v {v_shapes}"
        )
    _trees.scalar_value(fun, x, args)
    v = jax.tree.map(lambda t, p: t.astype(p.dtype), v, x)
    return jax.jvp(lambda z: jax.grad(fun)(z, *args), (x,), (v,))[1]


def hvp(fun: Callable[..., jax.Array], x: Any, v: Any, args: tuple = ()) -> Any:
    r"""Hessian-vector product $\nabla^2 f(x) \, v$ ($f$ = ``fun``) without forming the Hessian.

    Forward-over-reverse: ``jax.jvp(jax.grad(fun), (x,), (v,))``, about the cost of two
    gradient evaluations and memory linear in the number of parameters. (No NumPy
    equivalent; ``jax.hessian(fun)(x) @ v`` computes the same at ``n`` times the cost.)

    Args:
      fun: ``fun(x, *args) -> scalar``, twice differentiable in ``x``.
      x: the point, an array or pytree of arrays.
      v: the direction, with the same pytree structure and leaf shapes as ``x`` (leaves
        are cast to ``x``'s dtypes).
      args: tuple of extra arguments of ``fun`` (data; traced, not differentiated).

    Returns:
      $\nabla^2 f(x) \, v$, with ``x``'s pytree structure.

    Raises:
      TypeError: if ``fun`` is not callable or ``args`` is not a tuple.
      ValueError: if ``x`` and ``v`` differ in structure or leaf shapes, or ``fun`` does
        not return a scalar.

    References:
      B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation
      6(1), pp. 147-160, 1994.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import calculus
      >>> def fun(x, c):
      ...     return jnp.sum(c * x ** 3)
      >>> calculus.hvp(fun, jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0]), (1.0,))
      Array([ 6., 12.], dtype=float32)
    """
    _trees.check_fun(fun)
    return call(_hvp_jit, {"x": x, "v": v}, fun, x, v, _trees.check_args(args))


# ----------------------------------------------------------------------------------------
# hessian_eigsh


def _flat_start(v0: Any, x: Any, n: int, dtype: Any) -> jax.Array:
    """``v0`` as a flat ``[n]`` vector: given flat, shaped like ``x``, or the default."""
    if v0 is None:
        return _krylov.default_start(n, dtype)
    if not (hasattr(v0, "shape") and jnp.shape(v0) == (n,)):
        v_shapes = [jnp.shape(leaf) for leaf in jax.tree.leaves(v0)]
        x_shapes = [jnp.shape(leaf) for leaf in jax.tree.leaves(x)]
        if jax.tree.structure(v0) != jax.tree.structure(x) or v_shapes != x_shapes:
            raise ValueError(
                f"v0 must be [n] (n={n}) or shaped like x; got leaf shapes {v_shapes}, "
                f"x has {x_shapes}"
            )
        v0 = ravel_pytree(jax.tree.map(lambda leaf: _validate.as_real(leaf, "v0"), v0))[0]
    return _validate.as_real(v0, "v0").astype(dtype)


@functools.partial(jax.jit, static_argnames=("fun", "k", "which", "max_steps", "ncv"))
def _hessian_eigsh_jit(fun, x, v0, args, tol, *, k, which, max_steps, ncv):
    x = checked_point(fun, x, args)
    x_flat = ravel_pytree(x)[0]
    v0 = _flat_start(v0, x, x_flat.size, x_flat.dtype)
    return eigsh(
        _HessianMatvec(fun),
        k,
        (x, *args),
        v0=v0,
        which=which,
        max_steps=max_steps,
        tol=tol,
        ncv=ncv,
    )


def hessian_eigsh(
    fun: Callable[..., jax.Array],
    x: Any,
    k: int,
    args: tuple = (),
    *,
    v0: Any = None,
    which: str = "LA",
    max_steps: int | None = None,
    tol: float | None = None,
    ncv: int | None = None,
) -> EigshResult:
    r"""``k`` extreme eigenpairs of the Hessian of ``fun`` at ``x``, matrix-free.

    :func:`mlmath_jax.linalg.eigsh` (thick-restart Lanczos) on Hessian-vector products: the
    Hessian is never formed, memory is $O(\text{ncv} \cdot n)$ for $n$ parameters. The
    pytree ``x`` is flattened with ``jax.flatten_util.ravel_pytree``; eigenvectors are in
    that flattened space: ``ravel_pytree(x)[1](vecs[:, i])`` turns column ``i`` back into
    ``x``'s structure. (SciPy: ``scipy.sparse.linalg.eigsh`` on a ``LinearOperator``.)

    Differentiation (reverse mode): eigenvalues and eigenvectors are differentiable w.r.t.
    ``x`` and ``args`` by the implicit formulas of :func:`~mlmath_jax.linalg.eigsh`
    ($d\lambda_i = v_i^\top dH \, v_i$, one VJP of a Hessian-vector product, i.e. third
    derivatives of ``fun``; eigenvectors by conjugate gradients on Hessian-vector products),
    never by differentiating the Lanczos loop. Not w.r.t. ``v0`` or ``tol``.

    Args:
      fun: ``fun(x, *args) -> scalar``, twice differentiable in ``x``.
      x: the point, an array or pytree (``n`` parameters in all).
      k: number of eigenpairs, ``1 <= k <= n`` (static).
      args: tuple of extra arguments of ``fun`` (data; traced).
      v0: starting vector, ``[n]`` flattened or a pytree shaped like ``x``. Default: the
        fixed pseudo-random ``jax.random.normal(jax.random.key(0), (n,))`` in ``x``'s
        dtype, as :func:`~mlmath_jax.linalg.eigsh`, so results repeat.
      which: ``"LA"`` (largest), ``"SA"`` (smallest) or ``"LM"`` (largest magnitude).
      max_steps: restart cycles (static), as :func:`~mlmath_jax.linalg.eigsh`.
      tol: relative residual tolerance, as :func:`~mlmath_jax.linalg.eigsh`.
      ncv: Krylov subspace dimension (static), as :func:`~mlmath_jax.linalg.eigsh`.

    Returns:
      ``EigshResult(eigenvalues [k] ascending, eigenvectors [n, k], converged [k],
      num_steps)``; pairs that did not converge are NaN.

    Raises:
      TypeError: if ``fun`` is not callable or ``args`` is not a tuple.
      ValueError: if ``v0`` matches neither ``[n]`` nor ``x``'s structure, ``k`` is out of
        range, ``which`` is unknown or ``fun`` does not return a scalar.

    References:
      G. W. Stewart, "A Krylov--Schur algorithm for large eigenproblems", SIAM J. Matrix
      Anal. Appl. 23(3), pp. 601-614, 2001.

      K. Wu and H. Simon, "Thick-restart Lanczos method for large symmetric eigenvalue
      problems", SIAM J. Matrix Anal. Appl. 22(2), pp. 602-616, 2000.

      B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation
      6(1), pp. 147-160, 1994.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import calculus
      >>> def fun(x, c):
      ...     return jnp.sum(c * x ** 2)
      >>> result = calculus.hessian_eigsh(fun, jnp.zeros(4), 2, (jnp.arange(1.0, 5.0),))
      >>> print(result.eigenvalues, result.converged)
      [6. 8.] [ True  True]
    """
    _trees.check_fun(fun)
    args = _trees.check_args(args)
    k = _validate.static_int(k, "k", minimum=1)
    _validate.one_of(which, ("LA", "SA", "LM"), "which")
    if max_steps is not None:
        max_steps = _validate.static_int(max_steps, "max_steps", minimum=1)
    if ncv is not None:
        ncv = _validate.static_int(ncv, "ncv", minimum=k + 1)
    check_positive(tol, "tol")
    return call(
        _hessian_eigsh_jit,
        {"x": x, "v0": v0},
        fun,
        x,
        v0,
        args,
        tol,
        k=k,
        which=which,
        max_steps=max_steps,
        ncv=ncv,
    )


# ----------------------------------------------------------------------------------------
# hessian_trace


@functools.partial(jax.jit, static_argnames=("fun", "num_samples"))
def _hessian_trace_jit(fun, x, key, args, *, num_samples):
    f, x_flat = _trees.flat_fun(fun, checked_point(fun, x, args))
    n, dtype = x_flat.size, x_flat.dtype

    def quad(k):
        z = jax.random.rademacher(k, (n,), dtype=dtype)
        return jnp.vdot(z, _flat_hvp(f, x_flat, z, args))

    samples = jax.lax.map(quad, jax.random.split(key, num_samples))
    se = jnp.std(samples, ddof=1) / jnp.sqrt(jnp.asarray(num_samples, dtype))
    return TraceResult(jnp.mean(samples), se)


def hessian_trace(
    fun: Callable[..., jax.Array], x: Any, key: jax.Array, num_samples: int, args: tuple = ()
) -> TraceResult:
    r"""Hutchinson's estimate of $\operatorname{tr} \nabla^2 f(x)$ and its standard error.

    For $f$ = ``fun`` and its Hessian $H$ at ``x``:
    $\frac{1}{m} \sum_{i=1}^{m} z_i^\top H z_i$ over $m$ = ``num_samples`` Rademacher probes
    $z_i$ (entries $\pm 1$, the minimum-variance choice for real probes), each $H z_i$ a
    Hessian-vector product. Probes run one after another (``lax.map``), so memory stays
    linear in the number of parameters. The standard error is the sample standard deviation
    (``ddof=1``) over $\sqrt{m}$. (No NumPy equivalent; ``numpy.trace`` of the full Hessian
    is the exact value.)

    Args:
      fun: ``fun(x, *args) -> scalar``, twice differentiable in ``x``.
      x: the point, an array or pytree.
      key: ``jax.random.key`` for the probes.
      num_samples: number of probes, ``>= 2`` (static).
      args: tuple of extra arguments of ``fun`` (data; traced).

    Returns:
      ``TraceResult(estimate, standard_error)``, scalars in ``x``'s dtype.

    Raises:
      TypeError: if ``fun`` is not callable or ``args`` is not a tuple.
      ValueError: if ``num_samples < 2`` or ``fun`` does not return a scalar.

    References:
      M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix for
      Laplacian smoothing splines", Commun. Stat. Simul. Comput. 18(3), pp. 1059-1076, 1989.

      B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation
      6(1), pp. 147-160, 1994.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import calculus
      >>> def fun(x, c):
      ...     return jnp.sum(c * x ** 2)
      >>> c = jnp.arange(1.0, 5.0)
      >>> est, se = calculus.hessian_trace(fun, jnp.zeros(4), jax.random.key(0), 8, (c,))
      >>> print(est, se)
      20.0 0.0
    """
    _trees.check_fun(fun)
    args = _trees.check_args(args)
    num_samples = _validate.static_int(num_samples, "num_samples", minimum=2)
    _validate.prng_key(key, "key")
    return call(_hessian_trace_jit, {"x": x}, fun, x, key, args, num_samples=num_samples)


# ----------------------------------------------------------------------------------------
# hessian_spectral_density


def _gauss_quadrature(matvec, v0: jax.Array, num_iters: int) -> tuple[jax.Array, jax.Array]:
    """Nodes (Ritz values) and weights ``Q[0, j]²`` of ``num_iters`` Lanczos steps from ``v0``."""
    alpha, beta, _ = _krylov.lanczos_tridiagonal(matvec, v0, num_iters)
    t = jnp.diag(alpha) + jnp.diag(beta, 1) + jnp.diag(beta, -1)
    theta, q = jnp.linalg.eigh(t)
    return theta, q[0] ** 2


def _smoothed_density(theta, weights, grid, sigma):
    """Gaussian-smoothed node density on ``grid``, normalised by the trapezoid rule."""
    dtype = grid.dtype
    if sigma is None:
        spacing = (grid[-1] - grid[0]) / (grid.shape[0] - 1)
        width = jnp.maximum(0.01 * (jnp.max(theta) - jnp.min(theta)), spacing)
    else:
        width = jnp.asarray(sigma, dtype)
    z = (grid[:, None] - theta[None, :]) / width
    gauss = jnp.exp(-0.5 * z * z) / (width * jnp.sqrt(2.0 * jnp.pi).astype(dtype))
    density = gauss @ weights
    return density / jnp.trapezoid(density, grid)


@functools.partial(jax.jit, static_argnames=("fun", "num_probes", "num_iters"))
def _density_jit(fun, x, key, args, grid, sigma, *, num_probes, num_iters):
    f, x_flat = _trees.flat_fun(fun, checked_point(fun, x, args))
    n, dtype = x_flat.size, x_flat.dtype
    if num_iters > n:
        raise ValueError(f"num_iters must be <= n={n} parameters, got {num_iters}")
    grid = _validate.as_real(grid, "grid").astype(dtype)
    if grid.ndim != 1 or grid.shape[0] < 2:
        raise ValueError(f"grid must be a 1-D array of at least 2 points, got shape {grid.shape}")

    def matvec(v):
        return _flat_hvp(f, x_flat, v, args)

    def nodes_weights(k):
        probe = jax.random.rademacher(k, (n,), dtype=dtype)
        return _gauss_quadrature(matvec, probe, num_iters)

    theta, weights = jax.lax.map(nodes_weights, jax.random.split(key, num_probes))
    return _smoothed_density(theta.reshape(-1), weights.reshape(-1) / num_probes, grid, sigma)


def hessian_spectral_density(
    fun: Callable[..., jax.Array],
    x: Any,
    key: jax.Array,
    args: tuple = (),
    *,
    num_probes: int,
    num_iters: int,
    grid: ArrayLike,
    sigma: float | None = None,
) -> jax.Array:
    r"""Eigenvalue density of the Hessian of ``fun`` at ``x`` by stochastic Lanczos quadrature.

    For each of ``num_probes`` normalised Rademacher probes ``v``, ``num_iters`` Lanczos
    steps on Hessian-vector products give a tridiagonal $T = Q \Theta Q^\top$; its Ritz
    values $\theta_j$ with weights $Q_{0j}^2$ form a Gauss quadrature of the spectral
    measure $v^\top \delta(\lambda - H) \, v$, whose mean over probes estimates the
    eigenvalue density $\frac{1}{n} \sum_i \delta(\lambda - \lambda_i)$. Each node is
    smoothed by a Gaussian of width ``sigma``; the density is evaluated on ``grid`` and
    normalised to integrate to 1 there with the trapezoid rule (mass outside the grid is
    dropped first, so choose a grid covering the spectrum; a grid missing it entirely gives
    NaN). Probes run one after another (``lax.map``); memory is
    $O(\text{num\_iters} \cdot n)$ for the Lanczos basis, linear in the parameter count. (No
    NumPy/SciPy equivalent: a histogram of ``numpy.linalg.eigvalsh`` of the full Hessian is
    the exact, $O(n^3)$ answer.)

    Args:
      fun: ``fun(x, *args) -> scalar``, twice differentiable in ``x``.
      x: the point, an array or pytree (``n`` parameters).
      key: ``jax.random.key`` for the probes.
      args: tuple of extra arguments of ``fun`` (data; traced).
      num_probes: number of probe vectors (static, >= 1).
      num_iters: Lanczos steps per probe (static, ``1 <= num_iters <= n``).
      grid: ``[g]`` increasing points (``g >= 2``) at which the density is evaluated.
      sigma: Gaussian width; default
        $\max(0.01 \, (\theta_{\max} - \theta_{\min}), \Delta)$, one percent of the
        estimated spectral range or the mean grid spacing $\Delta$ if larger, so every
        Gaussian is resolved by the grid and the trapezoid normalisation is accurate.

    Returns:
      ``[g]`` density values on ``grid``.

    Raises:
      TypeError: if ``fun`` is not callable or ``args`` is not a tuple.
      ValueError: if ``grid`` is not 1-D with at least 2 points, ``num_probes`` or
        ``num_iters`` is out of range, ``sigma`` (concrete) is not positive, or ``fun`` does
        not return a scalar.

    References:
      S. Ubaru, J. Chen and Y. Saad, "Fast estimation of tr(f(A)) via stochastic Lanczos
      quadrature", SIAM J. Matrix Anal. Appl. 38(4), pp. 1075-1099, 2017.

      B. Ghorbani, S. Krishnan and Y. Xiao, "An investigation into neural net optimization via
      Hessian eigenvalue density", Proc. 36th ICML, PMLR 97, pp. 2232-2241, 2019.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import calculus
      >>> def fun(x):  # Hessian 2 I: all mass at 2
      ...     return jnp.sum(x ** 2)
      >>> grid = jnp.linspace(0.0, 4.0, 5)
      >>> d = calculus.hessian_spectral_density(
      ...     fun, jnp.ones(10), jax.random.key(0), num_probes=2, num_iters=3, grid=grid)
      >>> print(grid[jnp.argmax(d)])
      2.0
    """
    _trees.check_fun(fun)
    args = _trees.check_args(args)
    num_probes = _validate.static_int(num_probes, "num_probes", minimum=1)
    num_iters = _validate.static_int(num_iters, "num_iters", minimum=1)
    check_positive(sigma, "sigma")
    _validate.prng_key(key, "key")
    if not isinstance(grid, jax.Array):
        grid = _validate.as_real(grid, "grid")
    _check_grid(grid)
    return call(
        _density_jit,
        {"x": x},
        fun,
        x,
        key,
        args,
        grid,
        sigma,
        num_probes=num_probes,
        num_iters=num_iters,
    )


def _check_grid(grid: jax.Array) -> None:
    """A concrete 1-D ``grid`` must be strictly increasing (the density integrates over it)."""
    if grid.ndim != 1 or grid.size < 2 or not _validate.is_concrete(grid):
        return  # the rank check inside the compiled function names grid's shape
    host = np.asarray(grid)
    if not bool(np.all(np.diff(host) > 0)):
        raise ValueError(f"grid must be strictly increasing, got {_validate.describe(host)}")
