"""Vector and matrix norms, scaled against overflow and with finite gradients at zero."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _validate

Axis = int | tuple[int, ...] | None


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Sequence):
        axes = tuple(_validate.axis(ax, ndim) for ax in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis has repeated entries: {axis}")
        return axes
    return (_validate.axis(axis, ndim),)


def _scaled_pnorm(x: jax.Array, p: float, axes: tuple[int, ...]) -> jax.Array:
    # Divide by the largest magnitude first: |x|**p overflows float32 for |x| > 1e19 at p=2.
    ax = jnp.abs(x)
    big = jnp.max(ax, axis=axes, keepdims=True)
    safe = jnp.where(big > 0, big, 1).astype(ax.dtype)
    scaled = ax / safe
    if p == 2:
        total = jnp.sqrt(jnp.sum(scaled * scaled, axis=axes))
    else:
        total = jnp.sum(scaled**p, axis=axes) ** (1.0 / p)
    return jnp.squeeze(safe, axes) * total


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _pnorm(x: jax.Array, p: float, axes: tuple[int, ...]) -> jax.Array:
    if p != 2:
        return _scaled_pnorm(x, p, axes)
    # One pass for the 2-norm; the scaled two-pass path only when the plain sum of squares
    # over- or underflowed (then it would lose digits or give inf).
    ax = jnp.abs(x)
    sumsq = jnp.sum(ax * ax, axis=axes)
    floor = jnp.finfo(ax.dtype).tiny / jnp.finfo(ax.dtype).eps
    plain_ok = jnp.all(jnp.isfinite(sumsq) & (sumsq >= floor))
    return jax.lax.cond(plain_ok, lambda: jnp.sqrt(sumsq), lambda: _scaled_pnorm(x, p, axes))


@_pnorm.defjvp
def _pnorm_jvp(p, axes, primals, tangents):
    (x,), (t,) = primals, tangents
    norm = _pnorm(x, p, axes)
    keep = jnp.expand_dims(norm, axes)
    safe = jnp.where(keep > 0, keep, 1)
    # d||x||_p = sum(sign(x) (|x| / ||x||)^(p-1) dx); the zero vector gets the 0 subgradient.
    # Zero entries get weight 0 (for p < 1, 0 ** (p - 1) would be inf and 0 * inf NaN).
    nonzero = x != 0
    ratio = jnp.where(nonzero, jnp.abs(x) / safe, 1)
    if jnp.iscomplexobj(x):
        unit = jnp.where(nonzero, jnp.conj(x) / jnp.where(nonzero, jnp.abs(x), 1), 0)
        weight = unit * ratio ** (p - 1)
        dnorm = jnp.real(jnp.sum(weight * t, axis=axes))
    else:
        weight = jnp.where(nonzero, jnp.sign(x) * ratio ** (p - 1), 0)
        dnorm = jnp.sum(weight * t, axis=axes)
    return norm, jnp.where(norm > 0, dnorm, 0).astype(norm.dtype)


def _check_ord(ord: float) -> float:
    if isinstance(ord, bool) or not isinstance(ord, int | float):
        raise TypeError(f"ord must be a Python number (1, 2, inf, -inf or p > 0), got {ord!r}")
    if not (math.isinf(ord) or ord > 0):
        raise ValueError(f"ord must be 1, 2, inf, -inf or a number p > 0, got {ord!r}")
    return float(ord)


def vector_norm(x: ArrayLike, ord: float = 2, axis: Axis = -1) -> jax.Array:
    """Vector p-norm over ``axis`` (as ``numpy.linalg.vector_norm``).

    The 2-norm and p-norms divide by the largest magnitude before powering, so float32
    inputs near 1e30 give the right answer instead of ``inf``; their gradient at the
    zero vector is the zero subgradient instead of NaN.

    Args:
      x: ``[..., n]`` (any shape when ``axis`` says which axes to reduce).
      ord: ``1``, ``2``, ``inf``, ``-inf`` (smallest magnitude) or any ``p > 0``.
      axis: an axis, a tuple of axes, or ``None`` for all.

    Returns:
      ``x``'s shape without the reduced axes, real dtype.

    Raises:
      ValueError: for an unknown ``ord``, an ``axis`` out of range, or 0-D ``x``.
      TypeError: if ``ord`` is not a number.

    Example:
      >>> linalg.vector_norm(jnp.array([3.0, 4.0]))
      Array(5., dtype=float32)
      >>> linalg.vector_norm(jnp.array([3.0, -4.0]), ord=jnp.inf)
      Array(4., dtype=float32)
    """
    ord = _check_ord(ord)
    x = _validate.vector(x, "x")
    axes = _axes(axis, x.ndim)
    if ord == math.inf:
        return jnp.max(jnp.abs(x), axis=axes)
    if ord == -math.inf:
        return jnp.min(jnp.abs(x), axis=axes)
    if ord == 1:
        return jnp.sum(jnp.abs(x), axis=axes)
    return _pnorm(x, ord, axes)


_MATRIX_ORDS = ("fro", "spectral", "nuc", 1, 2, math.inf)


def matrix_norm(a: ArrayLike, ord: str | float = "fro") -> jax.Array:
    """Matrix norm over the last two axes (as ``numpy.linalg.matrix_norm``).

    Args:
      a: ``[..., m, n]`` matrices.
      ord: ``"fro"`` (Frobenius), ``"spectral"`` or ``2`` (largest singular value),
        ``"nuc"`` (sum of singular values), ``1`` (largest column sum of ``|a|``) or
        ``inf`` (largest row sum of ``|a|``).

    Returns:
      ``[...]``, real dtype. The spectral and nuclear norms are differentiable where the
      singular values are distinct and non-zero.

    Raises:
      ValueError: for an unknown ``ord`` or ``a`` with fewer than 2 dimensions.

    Example:
      >>> a = jnp.array([[1.0, -2.0], [3.0, 4.0]])
      >>> linalg.matrix_norm(a), linalg.matrix_norm(a, ord=1)
      (Array(5.477226, dtype=float32), Array(6., dtype=float32))
    """
    if isinstance(ord, bool) or not isinstance(ord, str | int | float):
        raise TypeError(f"ord must be one of {_MATRIX_ORDS!r}, got {ord!r}")
    _validate.one_of(ord, _MATRIX_ORDS, "ord")
    a = _validate.matrix(a, "a")
    if ord == "fro":
        return _pnorm(a, 2.0, (a.ndim - 2, a.ndim - 1))
    if ord == 1:
        return jnp.max(jnp.sum(jnp.abs(a), axis=-2), axis=-1)
    if ord == math.inf:
        return jnp.max(jnp.sum(jnp.abs(a), axis=-1), axis=-1)
    s = jnp.linalg.svd(a, compute_uv=False)
    if ord == "nuc":
        return jnp.sum(s, axis=-1)
    return s[..., 0]
