"""Median and quantiles by selection, not sorting, equal to ``numpy.median``/``numpy.quantile``.

The public functions are thin: they read only static facts (shapes, dtypes, options and a
``q`` known at call time) and call one module-level jitted function, which validates at
trace time. A repeated call with new data of the same shapes compiles nothing. For a
``q`` known at call time the NumPy indices and interpolation weights are computed once on
the host, exactly as NumPy computes them, and kept as device arrays keyed by
``(q, n, method, dtype)``; a traced ``q`` is handled inside the compiled function.

The order statistics come from ``_select_radix`` (radix selection on the float bits; for
slices of ``2**16`` values or more and up to four ranks, first the few-pass bracket
selection of ``_select_bracket``) and the index rules of the 13 methods from
``_quantile_index``.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .. import _validate
from . import _quantile_index
from ._select_radix import key_types, order_stats, weighted_order_stats

Axis = int | Sequence[int] | None
_PLAN_CACHE_MAX_Q = 4096  # larger q arrays are planned afresh on each call (no cache entry)


def median(x: ArrayLike, axis: Axis = None, *, keepdims: bool = False) -> jax.Array:
    """Median over ``axis`` by selection (as ``numpy.median``, without sorting).

    For an even count, the mean ``(a + b) / 2`` of the two middle values in ``x``'s dtype,
    exactly as NumPy computes it. A slice of ``2**16`` values or more takes two linear
    passes over the data (counts below pivots from a strided sample, then a gather of the
    few candidates left; see ``_select_bracket``), falling back to the exact radix
    selection's ``32 / 2 + 1`` (float32) or ``64 / 2 + 1`` (float64) passes when its guess
    misses (heavy ties, adversarial data); smaller slices take the radix passes.

    Args:
      x: real array (float32 or float64; integers and bools become the default float).
      axis: an int, a tuple of ints, or ``None`` (all axes, the default).
      keepdims: keep the reduced axes as dimensions of length 1 (as NumPy).

    Returns:
      The median, ``x``'s shape without ``axis`` (or with 1 there, with ``keepdims``), in
      ``x``'s float dtype. A slice holding a NaN gives NaN (as NumPy); an empty slice gives
      NaN (NumPy also warns). ``-inf`` and ``inf`` in the middle give NaN, as NumPy's mean
      of them does. Differentiable: the gradient goes to the middle element(s), shared
      equally among ties (as ``jnp.median``'s).

    Raises:
      ValueError: if an axis is out of range or repeated.
      TypeError: for complex or non-numeric ``x``, a dtype other than float32/float64
        (after integer promotion), or a ``keepdims`` that is not a bool.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> print(prob.median(jnp.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0])))
      3.5
      >>> x = jnp.array([[3.0, 1.0, 2.0], [9.0, 7.0, 8.0]])
      >>> print(prob.median(x, axis=1), prob.median(x, axis=1, keepdims=True).shape)
      [2. 8.] (2, 1)
    """
    return _median(_array(x, "x"), _static_axis(axis), _static_bool(keepdims, "keepdims"))


def quantile(
    x: ArrayLike,
    q: ArrayLike,
    axis: Axis = None,
    *,
    method: str = "linear",
    weights: ArrayLike | None = None,
    keepdims: bool = False,
) -> jax.Array:
    """Quantiles over ``axis`` by selection (as ``numpy.quantile``, without sorting).

    The order statistics are found exactly (bit for bit); the interpolation then follows
    NumPy's formulas for each of its 13 methods: ``"inverted_cdf"``,
    ``"averaged_inverted_cdf"``, ``"closest_observation"``, ``"interpolated_inverted_cdf"``,
    ``"hazen"``, ``"weibull"``, ``"linear"`` (the default), ``"median_unbiased"``,
    ``"normal_unbiased"`` (Hyndman and Fan's nine), ``"lower"``, ``"higher"``,
    ``"midpoint"`` and ``"nearest"`` (ties to the even index, as ``numpy.around``).

    When ``q`` is known at call time (a Python number, a list, a NumPy array or a concrete
    ``jax.Array``), its indices and interpolation weights are computed on the host exactly
    as NumPy computes them (float64 for Python numbers), so each result equals
    ``numpy.quantile(x, float(q_i), ...)`` bitwise. Unlike NumPy, an array ``q`` does not
    promote float32 ``x`` to a float64 result: results keep ``x``'s dtype. A traced ``q``
    (inside ``jit`` or ``vmap``) is used in ``x``'s dtype, which can move an interpolation
    weight by a rounding error (and, for float32 data with ``n > 2**24``, an index).

    Args:
      x: real array (float32 or float64; integers and bools become the default float).
      q: quantile(s) in ``[0, 1]``, of any shape (NumPy stops at 2-D).
      axis: an int, a tuple of ints, or ``None`` (all axes, the default).
      method: one of the 13 method names above.
      weights: non-negative weights with ``x``'s shape, or with the shape of the reduced
        axes (``tuple(x.shape[a] for a in axis)``), as ``numpy.quantile(..., weights=...)``;
        only with ``method="inverted_cdf"``, as NumPy: the result is the smallest value
        whose cumulative weight reaches ``q`` times the total. The weighted CDF is summed
        in the default float (float32, or float64 under x64, as NumPy), so a ``q`` within
        rounding of a step of the CDF may pick the neighbouring value (exact for integer
        weights with sums below ``2**24`` in float32).
      keepdims: keep the reduced axes as dimensions of length 1 (as NumPy).

    Returns:
      ``q.shape + <x's shape without axis>`` (with ``keepdims``, 1 in the reduced axes),
      the q axes first as NumPy, in ``x``'s float dtype. A slice holding a NaN gives NaN.
      As NumPy's interpolation, a zero weight on an infinite neighbour gives NaN
      (``inf * 0``). Under ``jit``, a traced ``q`` outside ``[0, 1]`` (or NaN) gives NaN,
      and traced weights that are negative, NaN, infinite or all zero in a slice give NaN
      for that slice. Differentiable in ``x`` (unweighted): the gradient goes to the order
      statistics used, shared equally among ties; not in ``q``.

    Raises:
      ValueError: for a concrete ``q`` outside ``[0, 1]`` or NaN, an unknown method,
        weights with a method other than ``"inverted_cdf"``, concrete weights that are
        negative, or NaN, infinite or all zero in a slice, weights of the wrong shape, an
        empty reduction, or a bad axis.
      TypeError: for complex or non-numeric ``x``, ``q`` or ``weights``, weights of
        another shape than ``x`` with ``axis=None`` (as NumPy), or a non-bool ``keepdims``.

    References:
      R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages", The American
      Statistician 50(4), pp. 361-365, 1996.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> x = jnp.array([1.0, 2.0, 3.0, 4.0, 10.0])
      >>> print(prob.quantile(x, 0.25), prob.quantile(x, [0.5, 0.9]))
      2.0 [3.  7.6]
      >>> print(prob.quantile(x, 0.4, method="hazen"), prob.quantile(x, 0.5, method="lower"))
      2.5 3.0
      >>> print(prob.quantile(x, 0.5, method="inverted_cdf",
      ...                     weights=jnp.array([1.0, 1.0, 1.0, 1.0, 6.0])))
      10.0
      >>> print(prob.quantile(x.reshape(1, 5), [[0.0], [1.0]], axis=1, keepdims=True).shape)
      (2, 1, 1, 1)
    """
    _validate.one_of(method, _quantile_index.METHODS, "method")
    axis = _static_axis(axis)
    keepdims = _static_bool(keepdims, "keepdims")
    x = _array(x, "x")
    if weights is not None:
        if method != "inverted_cdf":
            raise ValueError(
                "weights: only method 'inverted_cdf' supports weights (as numpy.quantile), "
                f"got method={method!r}"
            )
        return _weighted_call(x, q, weights, axis, keepdims)
    if isinstance(q, jax.core.Tracer):
        return _quantile_traced(x, q, axis, method, keepdims)
    n = _reduced_size(tuple(x.shape), axis)
    ranks, coef, interpolate = _plan(q, n, method, _float_dtype(x.dtype))
    return _quantile_planned(x, ranks, coef, axis, keepdims, interpolate)


# --- cheap host-side helpers (static facts only) -------------------------------------------


def _array(x: Any, name: str) -> jax.Array | np.ndarray:
    """``x`` unchanged when it is already an array (no copy, no dispatch), else converted."""
    if isinstance(x, jax.Array) or (isinstance(x, np.ndarray) and x.dtype.kind in "biuf"):
        return x
    return _validate.as_real(x, name)


def _static_axis(axis: Any) -> Any:
    """A hashable form of ``axis`` for ``jax.jit``'s static arguments."""
    if axis is None or isinstance(axis, numbers.Integral):
        return axis
    if isinstance(axis, (tuple, list)):
        return tuple(axis)
    raise TypeError(f"axis must be an int, a tuple of ints or None, got {type(axis).__name__}")


def _static_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """``axis`` normalised against ``ndim``, in the order given (NumPy's normalize_axis_tuple)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, tuple):
        axes = tuple(_validate.axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis contains a repeated axis: {axis}")
        return axes
    return (_validate.axis(axis, ndim),)


@functools.lru_cache(maxsize=256)
def _reduced_size(shape: tuple[int, ...], axis: Axis) -> int:
    n = math.prod(shape[a] for a in _axes(axis, len(shape)))
    if n == 0:
        raise ValueError(f"x: cannot take a quantile over an empty axis (shape {shape})")
    return n


@functools.lru_cache(maxsize=64)
def _float_dtype(dtype: Any) -> np.dtype:
    if jnp.issubdtype(dtype, jnp.floating):
        return np.dtype(dtype)
    return np.dtype(jnp.result_type(float))  # integers and bools: the default float


def _host_q(q: Any) -> np.ndarray:
    """A known ``q`` as NumPy holds it (Python floats float64), checked as NumPy checks it."""
    try:
        qa = np.asarray(q)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"q: expected real numbers, got {type(q).__name__}") from exc
    if qa.dtype.kind not in "biuf":
        raise TypeError(f"q: expected real numbers, got dtype {qa.dtype}")
    with np.errstate(invalid="ignore"):
        if qa.size and not (qa.min() >= 0 and qa.max() <= 1):  # NaN fails too, as NumPy
            raise ValueError(f"q must be in [0, 1], got {q}")
    return qa


def _plan(q: Any, n: int, method: str, dtype: np.dtype) -> tuple[jax.Array, jax.Array, bool]:
    """Device ranks and factors for a known ``q``, cached (a repeated call transfers nothing)."""
    if type(q) in (float, int):  # the common case, checked without building an array
        if not 0 <= q <= 1:  # NaN fails too
            raise ValueError(f"q must be in [0, 1], got {q}")
        return _plan_cached((type(q), q), n, method, dtype, jax.sharding.get_abstract_mesh())
    qa = _host_q(q)
    key = (qa.dtype.str, qa.shape, qa.tobytes())
    mesh = jax.sharding.get_abstract_mesh()
    if qa.size > _PLAN_CACHE_MAX_Q:
        return _plan_uncached(key, n, method, dtype, mesh)
    return _plan_cached(key, n, method, dtype, mesh)


def _plan_uncached(key: tuple, n: int, method: str, dtype: np.dtype, mesh: Any = None):
    # ``mesh`` (the context's abstract mesh) is part of the cache key only: arrays made inside
    # ``jax.set_mesh`` belong to that mesh and must not serve calls outside it.
    del mesh
    if len(key) == 2:  # a Python number, as NumPy reads it
        qa = np.asarray(key[1])
    else:
        qa = np.frombuffer(key[2], dtype=key[0]).reshape(key[1])
    ranks, coef, _ = _quantile_index.host_plan(qa, n, method)
    # Device arrays made outside any trace, so a cached plan never holds a tracer.
    with jax.ensure_compile_time_eval():
        ranks = jnp.asarray(ranks.astype(np.int32))
        coef = jnp.asarray(coef.astype(dtype))
    return ranks, coef, _quantile_index.interpolates(method, qa.dtype)


_plan_cached = functools.lru_cache(maxsize=512)(_plan_uncached)


def _weights_layout(wshape: tuple, xshape: tuple, axis: Axis) -> tuple[int, ...] | None:
    """NumPy's ``_weights_are_valid``: the transposition of 1-D/axes-shaped weights, or None."""
    if wshape == xshape:
        return None
    if axis is None:
        raise TypeError(
            f"weights: axis must be specified when shapes of x {xshape} and weights {wshape} "
            "differ (as numpy.quantile)"
        )
    axes = _axes(axis, len(xshape))
    if wshape != tuple(xshape[a] for a in axes):
        raise ValueError(
            f"weights must have x's shape {xshape} or the shape of the reduced axes "
            f"{tuple(xshape[a] for a in axes)}, got shape {wshape}"
        )
    return tuple(int(i) for i in np.argsort(axes))


def _check_weights(w: Any, xshape: tuple, axis: Axis) -> None:
    """NumPy's value checks on concrete weights (skipped for traced ones: NaN comes back)."""
    if not _validate.is_concrete(w):
        return
    wn = np.asarray(w, dtype=np.float64)
    if np.any(wn < 0):
        raise ValueError(f"weights must be non-negative, got {wn}")
    with np.errstate(all="ignore"):
        if wn.shape == xshape:
            totals = np.sum(wn, axis=_axes(axis, len(xshape)))
        else:  # every slice has these weights
            totals = np.sum(wn)
    if not np.all(np.isfinite(totals) & (totals > 0)):
        raise ValueError(
            "weights included NaN, inf or were all zero in a reduced slice (as numpy.quantile "
            f"raises), got {wn}"
        )


def _weighted_call(x, q, weights, axis, keepdims) -> jax.Array:
    w = _array(weights, "weights")
    _weights_layout(tuple(w.shape), tuple(x.shape), axis)
    _reduced_size(tuple(x.shape), axis)
    _check_weights(w, tuple(x.shape), axis)
    if not isinstance(q, jax.core.Tracer):
        q = _host_q(q)
        if q.dtype.kind == "f":  # compared in the CDF's dtype, the default float
            q = q.astype(np.dtype(jnp.result_type(float)))
    return _quantile_weighted(x, w, q, axis, keepdims)


# --- compiled bodies (validation at trace time) --------------------------------------------


def _prepare(x: Any, axis: Axis, keepdims: bool) -> tuple[jax.Array, tuple[int, ...], tuple]:
    """Data as ``[B, n]`` (reduced axes last, flattened), the axes, and the result shape."""
    arr = _validate.as_real(x, "x")
    key_types(arr.dtype)
    axes = _axes(axis, arr.ndim)
    keep = [i for i in range(arr.ndim) if i not in axes]
    red = sorted(axes)
    flat = jnp.transpose(arr, keep + red).reshape(
        math.prod(arr.shape[i] for i in keep), math.prod(arr.shape[i] for i in red)
    )
    if keepdims:
        shape = tuple(1 if i in axes else s for i, s in enumerate(arr.shape))
    else:
        shape = tuple(arr.shape[i] for i in keep)
    return flat, axes, shape


@functools.partial(jax.jit, static_argnames=("axis", "keepdims"))
def _median(x: jax.Array, axis: Axis, keepdims: bool) -> jax.Array:
    flat, _, shape = _prepare(x, axis, keepdims)
    b, n = flat.shape
    if n == 0 or b == 0:  # NumPy: NaN for an empty slice
        return jnp.full(shape, jnp.nan, flat.dtype)
    k = jnp.full((b, 1), (n - 1) // 2, jnp.int32)
    lo, hi, has_nan = order_stats(flat, k, k + 1, n % 2 == 0)
    if n % 2 == 0:
        lo = (lo + hi) / 2
    out = jnp.where(has_nan > 0, jnp.nan, lo)
    return out[:, 0].reshape(shape)


def _lerp(a: jax.Array, b: jax.Array, upper: jax.Array, coef: jax.Array) -> jax.Array:
    """NumPy's ``_lerp``: ``a + (b-a) t`` below ``t = 0.5``, ``b - (b-a)(1-t)`` from it."""
    diff = b - a
    # XLA on CPU contracts a multiply feeding an add into one FMA, which rounds once where
    # NumPy rounds twice; a select between equal values (a NaN diff gives a NaN product
    # either way) stops the contraction.
    prod = jnp.where(jnp.isnan(diff), diff, diff * coef)
    return jnp.where(upper, b - prod, a + prod)


def _finish(flat, lo, hi, upper, coef, valid, interpolate, q_shape, shape) -> jax.Array:
    """Order statistics at ranks ``lo``/``hi`` (``q_shape``), interpolated, as NumPy's shape."""
    b, _ = flat.shape
    nq = math.prod(q_shape)
    if nq == 0 or b == 0:
        return jnp.zeros(q_shape + shape, flat.dtype)
    row = lambda a: jnp.reshape(a, (1, nq))  # noqa: E731
    k, k_next = (jnp.broadcast_to(row(i), (b, nq)) for i in (lo, hi))
    a, c, has_nan = order_stats(flat, k, k_next, interpolate)
    out = _lerp(a, c, row(upper), row(coef).astype(flat.dtype)) if interpolate else a
    out = jnp.where(has_nan > 0, jnp.nan, out)
    if valid is not None:
        out = jnp.where(row(valid), out, jnp.nan)
    return jnp.moveaxis(out, 1, 0).reshape(q_shape + shape)


@functools.partial(jax.jit, static_argnames=("axis", "keepdims", "interpolate"))
def _quantile_planned(x, ranks, coef, axis, keepdims, interpolate) -> jax.Array:
    flat, _, shape = _prepare(x, axis, keepdims)
    lo, hi, upper = ranks[0], ranks[1], ranks[2] > 0
    return _finish(flat, lo, hi, upper, coef, None, interpolate, coef.shape, shape)


def _traced_q(q: Any) -> jax.Array:
    qa = jnp.asarray(q)
    if not (jnp.issubdtype(qa.dtype, jnp.integer) or jnp.issubdtype(qa.dtype, jnp.floating)):
        if qa.dtype != jnp.bool_:
            raise TypeError(f"q: expected real numbers, got dtype {qa.dtype}")
    return qa


@functools.partial(jax.jit, static_argnames=("axis", "method", "keepdims"))
def _quantile_traced(x, q, axis, method, keepdims) -> jax.Array:
    flat, _, shape = _prepare(x, axis, keepdims)
    n = flat.shape[1]
    if n == 0:
        raise ValueError(f"x: cannot take a quantile over an empty axis (shape {x.shape})")
    q = _traced_q(q)
    lo, hi, upper, coef, valid = _quantile_index.traced_plan(q, n, method, flat.dtype)
    interpolate = _quantile_index.interpolates(method, q.dtype)
    return _finish(flat, lo, hi, upper, coef, valid, interpolate, q.shape, shape)


@functools.partial(jax.jit, static_argnames=("axis", "keepdims"))
def _quantile_weighted(x, w, q, axis, keepdims) -> jax.Array:
    flat, axes, shape = _prepare(x, axis, keepdims)
    arr = _validate.as_real(x, "x")
    w = _validate.as_real(w, "weights")
    perm = _weights_layout(w.shape, arr.shape, axis)
    if perm is not None:  # reduced-axes weights broadcast over the other axes, as NumPy
        w = jnp.transpose(w, perm).reshape([s if i in axes else 1 for i, s in enumerate(arr.shape)])
        w = jnp.broadcast_to(w, arr.shape)
    keep = [i for i in range(arr.ndim) if i not in axes]
    wf = jnp.transpose(w, keep + sorted(axes)).reshape(flat.shape)
    acc = jnp.result_type(float)  # the CDF's dtype: float64 under x64, as NumPy's cumsum
    q = _traced_q(q)
    b, _ = flat.shape
    nq = math.prod(q.shape)
    if nq == 0 or b == 0:
        return jnp.zeros(q.shape + shape, flat.dtype)
    qf = q.reshape(1, nq).astype(acc)
    out = weighted_order_stats(flat, wf.astype(acc), jnp.broadcast_to(qf, (b, nq)))
    out = jnp.where((qf >= 0) & (qf <= 1), out, jnp.nan)
    return jnp.moveaxis(out, 1, 0).reshape(q.shape + shape)
