"""Sampled evidence of (non-)convexity: Hessian eigenvalues and Jensen gaps."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .. import _trees, _validate
from ._result import static_callable


class ConvexityReport(NamedTuple):
    r"""Sampled evidence about the convexity of a function.

    Attributes:
      is_convex: no sample contradicted convexity (beyond rounding tolerance). Evidence,
        not a proof: a False is a certificate of non-convexity, a True is not of convexity.
      min_hessian_eigenvalue: smallest Hessian eigenvalue over the sampled points.
      max_jensen_gap: largest $f(t x + (1-t) y) - (t f(x) + (1-t) f(y))$ over sampled
        segments; positive values contradict convexity; ``-inf`` when no segment was
        sampled (``num_segments=0`` or a single point).
    """

    is_convex: jax.Array
    min_hessian_eigenvalue: jax.Array
    max_jensen_gap: jax.Array


def _rtol(dtype: Any) -> jax.Array:
    """Relative tolerance of both tests: ``sqrt(eps)`` of the dtype."""
    return jnp.sqrt(jnp.finfo(dtype).eps)


def hessian_evidence(f: Callable, flat_points: jax.Array, args: tuple) -> tuple:
    """``(min eigenvalue, ok)`` of the dense Hessians of ``f(·, *args)`` at ``[m, n]`` points.

    ``ok`` when no eigenvalue is below ``-sqrt(eps)·max|λ|`` over all points.
    """

    def min_eig(z):
        h = jax.hessian(f)(z, *args)
        w = jnp.linalg.eigvalsh(0.5 * (h + h.T))
        return w[0], jnp.max(jnp.abs(w))

    lam_min, lam_abs = jax.lax.map(min_eig, flat_points)
    min_hessian = jnp.min(lam_min)
    return min_hessian, min_hessian >= -_rtol(flat_points.dtype) * jnp.max(lam_abs)


def jensen_evidence(
    f: Callable, flat_points: jax.Array, key: jax.Array, args: tuple, num_segments: int
) -> tuple:
    """``(max gap, ok)`` of Jensen's inequality on random segments between distinct points.

    A segment joins points ``i != j`` at a uniform ``t``; ``ok`` when no gap exceeds
    ``sqrt(eps)·(|f(z)| + t|f(x)| + (1-t)|f(y)|)``. With fewer than two points or no
    segments the gap is ``-inf`` and ``ok`` is True.
    """
    m, dtype = flat_points.shape[0], flat_points.dtype
    if num_segments == 0 or m < 2:
        return jnp.asarray(-jnp.inf, dtype), jnp.asarray(True)
    k_i, k_j, k_t = jax.random.split(key, 3)
    i = jax.random.randint(k_i, (num_segments,), 0, m)
    j = (i + jax.random.randint(k_j, (num_segments,), 1, m)) % m  # j != i
    t = jax.random.uniform(k_t, (num_segments,), dtype)
    fx = jax.vmap(lambda z: f(z, *args))(flat_points)
    rtol = _rtol(dtype)

    def gap(i, j, t):
        fz = f(t * flat_points[i] + (1 - t) * flat_points[j], *args)
        chord = t * fx[i] + (1 - t) * fx[j]
        scale = jnp.abs(fz) + t * jnp.abs(fx[i]) + (1 - t) * jnp.abs(fx[j])
        return fz - chord, fz - chord - rtol * scale

    gaps, excess = jax.vmap(gap)(i, j, t)
    return jnp.max(gaps), jnp.all(excess <= 0)


def _flat_points(points: Any) -> tuple[jax.Array, Any]:
    """Validate ``[m, ...]`` sample points; return them flat ``[m, n]`` and the first point."""
    points = _trees.inexact_tree(points, "points")
    leaves = jax.tree.leaves(points)
    sizes = {leaf.shape[0] if leaf.ndim else None for leaf in leaves}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(
            "points must have a leading sample axis shared by all leaves, got leaf shapes "
            f"{[leaf.shape for leaf in leaves]}"
        )
    if sizes == {0}:
        raise ValueError("points must hold at least one point, got 0")
    first = jax.tree.map(lambda leaf: leaf[0], points)
    return jax.vmap(lambda p: ravel_pytree(p)[0])(points), first


@functools.partial(jax.jit, static_argnames=("fun", "num_segments"))
def _convexity_check(fun, num_segments, points, key, args):
    flat_points, first = _flat_points(points)
    _trees.scalar_value(fun, first, args, "fun")
    if num_segments is None:
        num_segments = 4 * flat_points.shape[0]
    flat, _ = _trees.flat_fun(fun, first)
    dtype = flat_points.dtype

    def f(z, *args):
        return flat(z, *args).astype(dtype)

    min_hessian, hessian_ok = hessian_evidence(f, flat_points, args)
    max_gap, jensen_ok = jensen_evidence(f, flat_points, key, args, num_segments)
    is_convex = hessian_ok & jensen_ok & jnp.isfinite(min_hessian)
    return ConvexityReport(is_convex, min_hessian, max_gap)


def convexity_check(
    fun: Callable[..., jax.Array],
    points: Any,
    key: jax.Array,
    args: tuple = (),
    *,
    num_segments: int | None = None,
) -> ConvexityReport:
    r"""Look for evidence against the convexity of ``fun(x, *args)`` at and between points.

    Two tests on the samples: the smallest eigenvalue of the Hessian at each point (dense
    ``jax.hessian`` and ``eigvalsh`` of the flattened function, so meant for up to a few
    thousand parameters), and Jensen's inequality on ``num_segments`` random segments
    between random pairs of distinct points at a uniform random $t$. The function is
    reported convex when no Hessian eigenvalue is below
    $-\sqrt{\varepsilon} \max_i |\lambda_i|$ and no Jensen gap is above
    $\sqrt{\varepsilon} \, (|f(z)| + t |f(x)| + (1-t) |f(y)|)$ (with $z = t x + (1-t) y$ and
    $\varepsilon$ the dtype's machine epsilon), i.e. when the samples are consistent with
    convexity up to rounding. This is evidence, not a proof: convexity holds everywhere, the
    samples see finitely many points. Compiled once per (``fun``, ``num_segments``, shapes
    and dtypes). (No NumPy/SciPy equivalent.)

    Args:
      fun: ``(x, *args) -> scalar``, twice differentiable in ``x``.
      points: ``[m, ...]`` sample points, the leading axis indexing points (an array
        ``[m, n]`` for ``fun`` of a vector, or a pytree whose leaves share the leading ``m``).
      key: ``jax.random.key`` for the segments.
      args: tuple of extra arguments of ``fun``, the same at every point (traced).
      num_segments: number of random segments (static); default ``4 m``.

    Returns:
      :class:`ConvexityReport` ``(is_convex, min_hessian_eigenvalue, max_jensen_gap)``.

    Raises:
      TypeError: if ``fun`` is not callable or ``args`` is not a tuple.
      ValueError: if ``points`` has no leading sample axis shared by all leaves, or ``fun``
        does not return a scalar.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import optim
      >>> pts = jax.random.normal(jax.random.key(0), (8, 3))
      >>> def sq(x, scale):
      ...     return scale * jnp.sum(x**2)
      >>> rep = optim.convexity_check(sq, pts, jax.random.key(1), (1.0,))
      >>> print(rep.is_convex, rep.min_hessian_eigenvalue)
      True 2.0
      >>> rep = optim.convexity_check(sq, pts, jax.random.key(1), (-1.0,))
      >>> print(rep.is_convex)
      False
    """
    fun = static_callable(fun, "fun")
    args = _trees.check_args(args)
    if num_segments is not None:
        num_segments = _validate.static_int(num_segments, "num_segments", minimum=0)
    _validate.prng_key(key, "key")
    # Positional: JAX before 0.9 passes keyword arguments of a jitted function on to an
    # internal helper whose first parameter is also named ``fun`` (a TypeError).
    return _validate.call(
        _convexity_check, {"points": points}, fun, num_segments, points, key, args
    )
