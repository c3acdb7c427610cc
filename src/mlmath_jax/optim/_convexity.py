"""Sampled evidence of (non-)convexity: Hessian eigenvalues and Jensen gaps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .. import _validate
from ._minimize import check_fun, inexact_tree, scalar_value


class ConvexityReport(NamedTuple):
    """Sampled evidence about the convexity of a function.

    Attributes:
      is_convex: no sample contradicted convexity (beyond rounding tolerance). Evidence,
        not a proof: a False is a certificate of non-convexity, a True is not of convexity.
      min_hessian_eigenvalue: smallest Hessian eigenvalue over the sampled points.
      max_jensen_gap: largest ``f(t x + (1-t) y) - (t f(x) + (1-t) f(y))`` over sampled
        segments; positive values contradict convexity; ``-inf`` when no segment was
        sampled (``num_segments=0`` or a single point).
    """

    is_convex: jax.Array
    min_hessian_eigenvalue: jax.Array
    max_jensen_gap: jax.Array


def convexity_check(
    f: Callable[[Any], jax.Array],
    points: Any,
    key: jax.Array,
    *,
    num_segments: int | None = None,
) -> ConvexityReport:
    """Look for evidence against the convexity of ``f`` at and between sample points.

    Two tests on the samples: the smallest eigenvalue of the Hessian at each point (dense
    ``jax.hessian`` and ``eigvalsh`` of the flattened function, so meant for up to a few
    thousand parameters), and Jensen's inequality on ``num_segments`` random segments
    between random pairs of distinct points at a uniform random ``t``. The function is reported
    convex when no Hessian eigenvalue is below ``-sqrt(eps)·max|λ|`` and no Jensen gap is
    above ``sqrt(eps)·(|f(z)| + t|f(x)| + (1-t)|f(y)|)`` (``eps`` the dtype's machine
    epsilon), i.e. when the samples are consistent with convexity up to rounding. This is
    evidence, not a proof: convexity holds everywhere, the samples see finitely many
    points. (No NumPy/SciPy equivalent.)

    Args:
      f: ``x -> scalar``, twice differentiable.
      points: ``[m, ...]`` sample points, the leading axis indexing points (an array
        ``[m, n]`` for ``f`` of a vector, or a pytree whose leaves share the leading ``m``).
      key: ``jax.random.key`` for the segments.
      num_segments: number of random segments (static); default ``4 m``.

    Returns:
      :class:`ConvexityReport` ``(is_convex, min_hessian_eigenvalue, max_jensen_gap)``.

    Raises:
      TypeError: if ``f`` is not callable.
      ValueError: if ``points`` has no leading sample axis shared by all leaves, or ``f``
        does not return a scalar.

    Example:
      >>> pts = jax.random.normal(jax.random.key(0), (8, 3))
      >>> rep = optim.convexity_check(lambda x: jnp.sum(x**2), pts, jax.random.key(1))
      >>> print(rep.is_convex, rep.min_hessian_eigenvalue)
      True 2.0
      >>> rep = optim.convexity_check(lambda x: jnp.sum(jnp.sin(x)), pts, jax.random.key(1))
      >>> print(rep.is_convex)
      False
    """
    check_fun(f, "f")
    points = inexact_tree(points, "points")
    leaves = jax.tree.leaves(points)
    sizes = {leaf.shape[0] if leaf.ndim else None for leaf in leaves}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(
            "points must have a leading sample axis shared by all leaves, got leaf shapes "
            f"{[leaf.shape for leaf in leaves]}"
        )
    (m,) = sizes
    if m < 1:
        raise ValueError("points must hold at least one point, got 0")
    if num_segments is None:
        num_segments = 4 * m
    num_segments = _validate.static_int(num_segments, "num_segments", minimum=0)
    first = jax.tree.map(lambda leaf: leaf[0], points)
    scalar_value(f, first, "f")
    flat_points = jax.vmap(lambda p: ravel_pytree(p)[0])(points)  # [m, n]
    unravel = ravel_pytree(first)[1]
    dtype = flat_points.dtype

    def flat_f(z):
        return f(unravel(z)).astype(dtype)

    def min_eig(z):
        h = jax.hessian(flat_f)(z)
        w = jnp.linalg.eigvalsh(0.5 * (h + h.T))
        return w[0], jnp.max(jnp.abs(w))

    def run(flat_points, key):
        lam_min, lam_abs = jax.lax.map(min_eig, flat_points)
        rtol = jnp.sqrt(jnp.finfo(dtype).eps)
        min_hessian = jnp.min(lam_min)
        hessian_ok = min_hessian >= -rtol * jnp.max(lam_abs)

        if num_segments and m > 1:
            k_i, k_j, k_t = jax.random.split(key, 3)
            i = jax.random.randint(k_i, (num_segments,), 0, m)
            j = (i + jax.random.randint(k_j, (num_segments,), 1, m)) % m  # j != i
            t = jax.random.uniform(k_t, (num_segments,), dtype)
            fx = jax.vmap(flat_f)(flat_points)

            def gap(i, j, t):
                z = t * flat_points[i] + (1 - t) * flat_points[j]
                fz = flat_f(z)
                chord = t * fx[i] + (1 - t) * fx[j]
                scale = jnp.abs(fz) + t * jnp.abs(fx[i]) + (1 - t) * jnp.abs(fx[j])
                return fz - chord, fz - chord - rtol * scale

            gaps, excess = jax.vmap(gap)(i, j, t)
            max_gap = jnp.max(gaps)
            jensen_ok = jnp.all(excess <= 0)
        else:
            max_gap = jnp.asarray(-jnp.inf, dtype)
            jensen_ok = jnp.asarray(True)
        is_convex = hessian_ok & jensen_ok & jnp.isfinite(min_hessian)
        return ConvexityReport(is_convex, min_hessian, max_gap)

    # One compiled program: tracing op by op outside jit costs more than compiling.
    return jax.jit(run)(flat_points, key)
