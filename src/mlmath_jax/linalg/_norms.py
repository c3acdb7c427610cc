"""Vector and matrix norms, scaled against overflow and with finite gradients at zero."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _validate
from ._structure import singular_values

Axis = int | tuple[int, ...] | None


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """Normalise ``axis`` (None, an int or a tuple of ints) into sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Sequence) and not isinstance(axis, str):
        axes = tuple(_validate.axis(ax, ndim) for ax in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis has repeated entries: {axis}")
        return tuple(sorted(axes))
    return (_validate.axis(axis, ndim),)


def _scaled_pnorm(x: jax.Array, p: float, axes: tuple[int, ...]) -> jax.Array:
    # Divide by the largest magnitude first (the smallest for p < 0): |x|**p overflows
    # float32 for |x| > 1e19 at p=2. Then every scaled term lies in [0, 1].
    ax = jnp.abs(x)
    if p > 0:
        ref = jnp.max(ax, axis=axes, keepdims=True)
    else:
        ref = jnp.min(ax, axis=axes, keepdims=True)
    safe = jnp.where((ref > 0) & jnp.isfinite(ref), ref, 1).astype(ax.dtype)
    scaled = ax / safe
    if p == 2:
        total = jnp.sqrt(jnp.sum(scaled * scaled, axis=axes))
    else:
        total = jnp.sum(scaled**p, axis=axes) ** (1.0 / p)
    ref = jnp.squeeze(ref, axes)
    out = jnp.squeeze(safe, axes) * total
    # An inf entry: the norm is inf for p > 0; for p < 0 all-inf gives inf, a zero entry 0.
    out = jnp.where(jnp.isinf(ref), jnp.inf, out)
    return out if p > 0 else jnp.where(ref == 0, 0, out)


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


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf, "spectral", None)


def _vector_ord(ord: float | None) -> float:
    if ord is None:  # NumPy's name for the 2-norm
        return 2.0
    if isinstance(ord, str):
        raise ValueError(f"ord must be a number for a vector norm, got {ord!r}")
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"ord must be a Python number (any real, inf or -inf), got {ord!r}")
    if math.isnan(ord):
        raise ValueError(f"ord must be a real number, inf or -inf, got {ord!r}")
    return float(ord)


def _empty_reduction(out_shape, dtype, ord: float, what: str) -> jax.Array:
    """A norm over zero entries, as NumPy: 0 (inf for ord < 0); the minimum raises."""
    if ord == -math.inf:
        raise ValueError(
            f"{what}: the ord=-inf norm (a minimum) of zero entries is undefined (NumPy raises too)"
        )
    return jnp.full(out_shape, jnp.inf if ord < 0 else 0, dtype)


def _vector_body(x: jax.Array, ord: float, axes: tuple[int, ...]) -> jax.Array:
    """The ``ord``-norm of ``x`` over ``axes`` (non-empty), without keepdims."""
    if ord == math.inf:
        return jnp.max(jnp.abs(x), axis=axes)
    if ord == -math.inf:
        return jnp.min(jnp.abs(x), axis=axes)
    if ord == 0:
        # NumPy counts NaN as non-zero; NaN in, NaN out here.
        real = jnp.finfo(x.dtype).dtype
        nonzero = jnp.where(jnp.isnan(x), jnp.nan, (x != 0).astype(real))
        return jnp.sum(nonzero, axis=axes)
    if ord == 1:
        return jnp.sum(jnp.abs(x), axis=axes)
    return _pnorm(x, ord, axes)


def vector_norm(
    x: ArrayLike, ord: float | None = 2, axis: Axis = None, *, keepdims: bool = False
) -> jax.Array:
    """Vector norm (as ``numpy.linalg.vector_norm``): ``axis=None`` flattens ``x``.

    ``ord`` may be any real number: ``sum(|x|**ord) ** (1 / ord)``, with ``inf`` the
    largest magnitude, ``-inf`` the smallest and ``0`` the number of non-zero entries. The
    p-norms divide by the largest magnitude (the smallest for ``ord < 0``) before powering,
    so float32 inputs near 1e30 give the right answer instead of ``inf``; the gradient at
    the zero vector is the zero subgradient instead of NaN.

    Args:
      x: array of any shape (``[..., n]`` with ``axis=-1`` for a batch of vectors).
      ord: a real number, ``inf`` or ``-inf``; ``None`` means 2 (as NumPy).
      axis: ``None`` (all axes, ``x`` flattened), an axis, or a tuple of axes.
      keepdims: keep the reduced axes with size 1.

    Returns:
      ``x``'s shape without the reduced axes (with them as 1 under ``keepdims``), real
      dtype. Empty reductions as NumPy: 0 (``inf`` for ``ord < 0``). Unlike NumPy, the
      ``ord=0`` count is NaN when a NaN is counted.

    Raises:
      ValueError: for a string or NaN ``ord``, an ``axis`` out of range or repeated, or
        ``ord=-inf`` over zero entries (NumPy raises too).
      TypeError: if ``ord`` is not a number or ``x`` not numeric.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.vector_norm(jnp.array([3.0, 4.0]))
      Array(5., dtype=float32)
      >>> linalg.vector_norm(jnp.array([3.0, -4.0]), ord=jnp.inf)
      Array(4., dtype=float32)
      >>> linalg.vector_norm(jnp.array([[3.0, 0.0], [0.0, 4.0]]), ord=0, axis=1)
      Array([1., 1.], dtype=float32)
    """
    if type(axis) is list:
        axis = tuple(axis)
    try:
        return _vector_norm(x, ord, axis, keepdims)
    except (TypeError, ValueError):
        _validate.explain_call_error({"x": x}, {"ord": ord, "axis": axis, "keepdims": keepdims})
        raise


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _vector_norm(x: jax.Array, ord: float | None, axis: Axis, keepdims: bool) -> jax.Array:
    ord = _vector_ord(ord)
    _validate.one_of(keepdims, (False, True), "keepdims")
    x = _validate.as_inexact(x, "x")
    if x.ndim == 0 and axis is None:  # NumPy flattens a scalar to one entry
        return _vector_body(x.reshape(1), ord, (0,))
    axes = _axes(axis, x.ndim)
    if math.prod(x.shape[i] for i in axes) == 0:
        out_shape = (
            tuple(1 if i in axes else d for i, d in enumerate(x.shape))
            if keepdims
            else tuple(d for i, d in enumerate(x.shape) if i not in axes)
        )
        return _empty_reduction(out_shape, jnp.finfo(x.dtype).dtype, ord, "x")
    out = _vector_body(x, ord, axes)
    return jnp.expand_dims(out, axes) if keepdims else out


def _matrix_ord(ord: str | float | None) -> str | float:
    if isinstance(ord, bool) or not isinstance(ord, str | numbers.Real | None):
        raise TypeError(f"ord must be one of {_MATRIX_ORDS[:-1]!r}, got {ord!r}")
    _validate.one_of(ord, _MATRIX_ORDS, "ord")
    if ord is None:
        return "fro"
    return 2 if ord == "spectral" else ord


def _matrix_body(a: jax.Array, ord: str | float) -> jax.Array:
    """The ``ord`` matrix norm over the last two axes of validated ``a``, ``[...]``."""
    m, n = a.shape[-2:]
    real = jnp.finfo(a.dtype).dtype
    # The reduction a minimum runs over (NumPy raises when it is empty).
    empty_min = {-1: n == 0, -math.inf: m == 0, -2: min(m, n) == 0}.get(ord, False)
    if empty_min:
        raise ValueError(
            f"a: the ord={ord!r} matrix norm (a minimum) of shape {a.shape} is undefined "
            "(NumPy raises too)"
        )
    if m * n == 0:
        return jnp.zeros(a.shape[:-2], real)
    if ord == "fro":
        return _pnorm(a, 2.0, (a.ndim - 2, a.ndim - 1))
    if ord in (1, -1):
        col = jnp.sum(jnp.abs(a), axis=-2)
        return jnp.max(col, axis=-1) if ord == 1 else jnp.min(col, axis=-1)
    if ord in (math.inf, -math.inf):
        row = jnp.sum(jnp.abs(a), axis=-1)
        return jnp.max(row, axis=-1) if ord == math.inf else jnp.min(row, axis=-1)
    s = singular_values(a)
    out = {"nuc": lambda: jnp.sum(s, axis=-1), 2: lambda: s[..., 0], -2: lambda: s[..., -1]}
    out = out[ord]()
    if ord != -2:  # the SVD is skipped for non-finite input: an inf entry makes these inf
        has_inf = jnp.any(jnp.isinf(a), axis=(-2, -1))
        has_nan = jnp.any(jnp.isnan(a), axis=(-2, -1))
        out = jnp.where(has_inf & ~has_nan, jnp.inf, out)
    return out


def matrix_norm(a: ArrayLike, ord: str | float = "fro", *, keepdims: bool = False) -> jax.Array:
    """Matrix norm over the last two axes (as ``numpy.linalg.matrix_norm``).

    Args:
      a: ``[..., m, n]`` matrices.
      ord: ``"fro"`` (Frobenius), ``"nuc"`` (sum of singular values), ``2`` or
        ``"spectral"`` (largest singular value), ``-2`` (smallest), ``1`` / ``-1``
        (largest / smallest column sum of ``|a|``), ``inf`` / ``-inf`` (largest / smallest
        row sum).
      keepdims: keep the last two axes with size 1.

    Returns:
      ``[...]`` (``[..., 1, 1]`` under ``keepdims``), real dtype. Empty matrices as NumPy:
      0, except the minima (``-1``, ``-2``, ``-inf`` over zero entries), which raise. The
      singular-value norms of a matrix holding NaN are NaN (``inf`` for ``2`` and ``"nuc"``
      when it holds inf and no NaN); they are differentiable where the singular values are
      distinct and non-zero.

    Raises:
      ValueError: for an unknown ``ord``, ``a`` with fewer than 2 dimensions, or an empty
        minimum.
      TypeError: if ``ord`` is neither a string nor a number.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> a = jnp.array([[1.0, -2.0], [3.0, 4.0]])
      >>> linalg.matrix_norm(a), linalg.matrix_norm(a, ord=1), linalg.matrix_norm(a, ord=-1)
      (Array(5.477226, dtype=float32), Array(6., dtype=float32), Array(4., dtype=float32))
    """
    try:
        return _matrix_norm(a, ord, keepdims)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a}, {"ord": ord, "keepdims": keepdims})
        raise


@functools.partial(jax.jit, static_argnums=(1, 2))
def _matrix_norm(a: jax.Array, ord: str | float, keepdims: bool) -> jax.Array:
    ord = _matrix_ord(ord)
    _validate.one_of(keepdims, (False, True), "keepdims")
    a = _validate.matrix(a, "a")
    out = _matrix_body(a, ord)
    return out[..., None, None] if keepdims else out
