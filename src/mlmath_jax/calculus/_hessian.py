"""Hessian-vector products and matrix-free Hessian spectra (eigenpairs, trace, density)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike

from .. import _validate
from ..linalg import eigsh
from ..linalg._lanczos import EighResult, lanczos_tridiagonal


def _check_fun(f: Any) -> None:
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")


def _inexact_tree(x: Any, name: str) -> Any:
    if not jax.tree.leaves(x):
        raise ValueError(f"{name} must be an array or a pytree with at least one array leaf")
    return jax.tree.map(lambda leaf: _validate.as_inexact(leaf, name), x)


def _check_scalar(f: Callable, x: Any) -> None:
    out = jax.eval_shape(f, x)
    if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != ():
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"f must return a scalar, got {shape}")


def _flat(f: Callable, x: Any) -> tuple[Callable[[jax.Array], jax.Array], jax.Array]:
    """``f`` as a function of the flattened parameters (``ravel_pytree`` order)."""
    _check_fun(f)
    x = _inexact_tree(x, "x")
    _check_scalar(f, x)
    x_flat, unravel = ravel_pytree(x)

    def flat_f(z):
        return f(unravel(z))

    return flat_f, x_flat


def _flat_hvp(flat_f: Callable, x_flat: jax.Array) -> Callable[[jax.Array], jax.Array]:
    grad_f = jax.grad(flat_f)

    def matvec(v):
        return jax.jvp(grad_f, (x_flat,), (v.astype(x_flat.dtype),))[1]

    return matvec


def hvp(f: Callable[[Any], jax.Array], x: Any, v: Any) -> Any:
    """Hessian-vector product ``∇²f(x) v`` without forming the Hessian.

    Forward-over-reverse: ``jax.jvp(jax.grad(f), (x,), (v,))``, about the cost of two
    gradient evaluations and memory linear in the number of parameters. (No NumPy
    equivalent; ``jax.hessian(f)(x) @ v`` computes the same at ``n`` times the cost.)

    Args:
      f: ``x -> scalar``, twice differentiable.
      x: the point, an array or pytree of arrays.
      v: the direction, with the same pytree structure and leaf shapes as ``x`` (leaves
        are cast to ``x``'s dtypes).

    Returns:
      ``∇²f(x) v``, with ``x``'s pytree structure.

    Raises:
      TypeError: if ``f`` is not callable.
      ValueError: if ``x`` and ``v`` differ in structure or leaf shapes, or ``f`` does not
        return a scalar.

    Example:
      >>> f = lambda x: jnp.sum(x ** 3)
      >>> calculus.hvp(f, jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0]))
      Array([ 6., 12.], dtype=float32)
    """
    _check_fun(f)
    x = _inexact_tree(x, "x")
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
    _check_scalar(f, x)
    v = jax.tree.map(lambda t, p: t.astype(p.dtype), v, x)
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def hessian_eigsh(
    f: Callable[[Any], jax.Array],
    x: Any,
    k: int,
    *,
    v0: Any,
    which: str = "LA",
    max_iters: int | None = None,
    tol: float | None = None,
) -> EighResult:
    """``k`` extreme eigenpairs of the Hessian of ``f`` at ``x``, matrix-free.

    :func:`mlmath_jax.linalg.eigsh` (thick-restart Lanczos) on Hessian-vector products:
    the Hessian is never formed, memory is ``O(ncv · n)`` for ``n`` parameters. The
    pytree ``x`` is flattened with ``jax.flatten_util.ravel_pytree``; eigenvectors are in
    that flattened space: ``ravel_pytree(x)[1](vecs[:, i])`` turns column ``i`` back into
    ``x``'s structure. (SciPy: ``scipy.sparse.linalg.eigsh`` on a ``LinearOperator``.)

    Args:
      f: ``x -> scalar``, twice differentiable.
      x: the point, an array or pytree (``n`` parameters in all).
      k: number of eigenpairs, ``1 <= k <= n`` (static).
      v0: starting vector, ``[n]`` flattened, or a pytree shaped like ``x``.
      which: ``"LA"`` (largest), ``"SA"`` (smallest) or ``"LM"`` (largest magnitude).
      max_iters: restart cycles, as :func:`~mlmath_jax.linalg.eigsh`.
      tol: relative residual tolerance, as :func:`~mlmath_jax.linalg.eigsh`.

    Returns:
      ``EighResult(eigenvalues [k] ascending, eigenvectors [n, k])``; pairs that did not
      converge are NaN.

    Raises:
      TypeError: if ``f`` is not callable.
      ValueError: if ``v0`` matches neither ``[n]`` nor ``x``'s structure, ``k`` is out of
        range, ``which`` is unknown or ``f`` does not return a scalar.

    Example:
      >>> f = lambda x: jnp.sum(jnp.arange(1.0, 5.0) * x ** 2)
      >>> vals, vecs = calculus.hessian_eigsh(f, jnp.zeros(4), 2, v0=jnp.ones(4))
      >>> print(vals)
      [6. 8.]
    """
    flat_f, x_flat = _flat(f, x)
    n = x_flat.size
    if not (hasattr(v0, "shape") and jnp.shape(v0) == (n,)):
        v_shapes = [jnp.shape(leaf) for leaf in jax.tree.leaves(v0)]
        x_shapes = [jnp.shape(leaf) for leaf in jax.tree.leaves(x)]
        if jax.tree.structure(v0) != jax.tree.structure(x) or v_shapes != x_shapes:
            raise ValueError(
                f"v0 must be [n] (n={n}) or shaped like x; got leaf shapes {v_shapes}, "
                f"x has {x_shapes}"
            )
        v0 = ravel_pytree(jax.tree.map(lambda leaf: _validate.as_real(leaf, "v0"), v0))[0]
    v0 = _validate.as_real(v0, "v0")
    if v0.shape != (n,):
        raise ValueError(f"v0 must be [n] with n={n} parameters, got shape {v0.shape}")

    def run(x_flat, v0):
        return eigsh(_flat_hvp(flat_f, x_flat), k, v0=v0, which=which, max_iters=max_iters, tol=tol)

    # One compiled program: tracing op by op outside jit costs more than compiling.
    return jax.jit(run)(x_flat, v0.astype(x_flat.dtype))


def _rademacher(key: jax.Array, n: int, dtype: Any) -> jax.Array:
    return jax.random.rademacher(key, (n,), dtype=dtype)


def hessian_trace(
    f: Callable[[Any], jax.Array], x: Any, key: jax.Array, num_samples: int
) -> tuple[jax.Array, jax.Array]:
    """Hutchinson's estimate of ``tr ∇²f(x)`` and its standard error.

    ``mean_i z_iᵀ H z_i`` over ``num_samples`` Rademacher probes ``z_i`` (entries ±1, the
    minimum-variance choice for real probes), each ``Hz`` a Hessian-vector product. Probes
    run one after another (``lax.map``), so memory stays linear in the number of
    parameters. The standard error is the sample standard deviation (``ddof=1``) over
    ``sqrt(num_samples)``. (No NumPy equivalent; ``numpy.trace`` of the full Hessian is the
    exact value.)

    Args:
      f: ``x -> scalar``, twice differentiable.
      x: the point, an array or pytree.
      key: ``jax.random.key`` for the probes.
      num_samples: number of probes, ``>= 2`` (static).

    Returns:
      ``(estimate, standard_error)``, scalars in ``x``'s dtype.

    Raises:
      TypeError: if ``f`` is not callable.
      ValueError: if ``num_samples < 2`` or ``f`` does not return a scalar.

    Example:
      >>> f = lambda x: jnp.sum(jnp.arange(1.0, 5.0) * x ** 2)
      >>> est, se = calculus.hessian_trace(f, jnp.zeros(4), jax.random.key(0), 8)
      >>> print(est, se)
      20.0 0.0
    """
    num_samples = _validate.static_int(num_samples, "num_samples", minimum=2)
    flat_f, x_flat = _flat(f, x)
    n, dtype = x_flat.size, x_flat.dtype

    def run(x_flat, key):
        matvec = _flat_hvp(flat_f, x_flat)

        def quad(k):
            z = _rademacher(k, n, dtype)
            return jnp.vdot(z, matvec(z))

        samples = jax.lax.map(quad, jax.random.split(key, num_samples))
        mean = jnp.mean(samples)
        se = jnp.std(samples, ddof=1) / jnp.sqrt(jnp.asarray(num_samples, dtype))
        return mean, se

    # One compiled program: tracing op by op outside jit costs more than compiling.
    return jax.jit(run)(x_flat, key)


def hessian_spectral_density(
    f: Callable[[Any], jax.Array],
    x: Any,
    key: jax.Array,
    *,
    num_probes: int,
    num_iters: int,
    grid: ArrayLike,
    sigma: float | None = None,
) -> jax.Array:
    """Eigenvalue density of the Hessian of ``f`` at ``x`` by stochastic Lanczos quadrature.

    For each of ``num_probes`` normalised Rademacher probes ``v``, ``num_iters`` Lanczos
    steps on Hessian-vector products give a tridiagonal ``T = QΘQᵀ``; its Ritz values
    ``θ_j`` with weights ``Q[0, j]²`` form a Gauss quadrature of the spectral measure
    ``vᵀ δ(λ - H) v``, whose mean over probes estimates the eigenvalue density
    ``(1/n) Σ δ(λ - λ_i)`` (Ubaru, Chen & Saad 2017; Ghorbani, Krishnan & Xiao 2019). Each
    node is smoothed by a Gaussian of width ``sigma``; the density is evaluated on
    ``grid`` and normalised to integrate to 1 there with the trapezoid rule (mass outside
    the grid is dropped first, so choose a grid covering the spectrum; a grid missing it
    entirely gives NaN). Probes run one after another (``lax.map``); memory is
    ``O(num_iters · n)`` for the Lanczos basis, linear in the parameter count. (No
    NumPy/SciPy equivalent: a histogram of ``numpy.linalg.eigvalsh`` of the full Hessian is
    the exact, O(n³) answer.)

    Args:
      f: ``x -> scalar``, twice differentiable.
      x: the point, an array or pytree (``n`` parameters).
      key: ``jax.random.key`` for the probes.
      num_probes: number of probe vectors (static, >= 1).
      num_iters: Lanczos steps per probe (static, ``1 <= num_iters <= n``).
      grid: ``[g]`` increasing points (``g >= 2``) at which the density is evaluated.
      sigma: Gaussian width; default ``max(0.01 · (θ_max − θ_min), Δ)``, one percent of
        the estimated spectral range or the mean grid spacing ``Δ`` if larger, so every
        Gaussian is resolved by the grid and the trapezoid normalisation is accurate.

    Returns:
      ``[g]`` density values on ``grid``.

    Raises:
      TypeError: if ``f`` is not callable.
      ValueError: if ``grid`` is not 1-D with at least 2 points, ``num_probes`` or
        ``num_iters`` is out of range, ``sigma`` (concrete) is not positive, or ``f`` does
        not return a scalar.

    Example:
      >>> f = lambda x: jnp.sum(x ** 2)  # Hessian 2 I: all mass at 2
      >>> grid = jnp.linspace(0.0, 4.0, 5)
      >>> d = calculus.hessian_spectral_density(
      ...     f, jnp.ones(10), jax.random.key(0), num_probes=2, num_iters=3, grid=grid)
      >>> print(grid[jnp.argmax(d)])
      2.0
    """
    num_probes = _validate.static_int(num_probes, "num_probes", minimum=1)
    num_iters = _validate.static_int(num_iters, "num_iters", minimum=1)
    flat_f, x_flat = _flat(f, x)
    n, dtype = x_flat.size, x_flat.dtype
    if num_iters > n:
        raise ValueError(f"num_iters must be <= n={n} parameters, got {num_iters}")
    grid = _validate.as_real(grid, "grid").astype(dtype)
    if grid.ndim != 1 or grid.shape[0] < 2:
        raise ValueError(f"grid must be a 1-D array of at least 2 points, got shape {grid.shape}")
    if sigma is not None:
        _validate.positive(sigma, "sigma")

    def run(x_flat, key, grid):
        matvec = _flat_hvp(flat_f, x_flat)

        def nodes_weights(k):
            v0 = _rademacher(k, n, dtype)
            alpha, beta, _ = lanczos_tridiagonal(matvec, v0, num_iters)
            t = jnp.diag(alpha) + jnp.diag(beta, 1) + jnp.diag(beta, -1)
            theta, q = jnp.linalg.eigh(t)
            return theta, q[0] ** 2

        theta, weights = jax.lax.map(nodes_weights, jax.random.split(key, num_probes))
        theta, weights = theta.reshape(-1), weights.reshape(-1) / num_probes
        if sigma is None:
            spacing = (grid[-1] - grid[0]) / (grid.shape[0] - 1)
            width = jnp.maximum(0.01 * (jnp.max(theta) - jnp.min(theta)), spacing)
        else:
            width = jnp.asarray(sigma, dtype)
        z = (grid[:, None] - theta[None, :]) / width
        gauss = jnp.exp(-0.5 * z * z) / (width * jnp.sqrt(2.0 * jnp.pi).astype(dtype))
        density = gauss @ weights
        return density / jnp.trapezoid(density, grid)

    # One compiled program: tracing op by op outside jit costs more than compiling.
    return jax.jit(run)(x_flat, key, grid)
