"""Median and quantiles by radix selection on the float bits, not by sorting.

Floats map to unsigned integer keys whose order is the float order (flip every bit of a
negative number, only the sign bit of a positive one). The k-th smallest key is then found
digit by digit from the top: each pass counts, for every candidate next digit ``d``, how
many keys lie below ``prefix | d << shift``, and keeps the largest digit whose count is at
most ``k``. With ``_BITS`` bits a pass, float32 needs ``32 / _BITS`` passes over the data
and float64 ``64 / _BITS``; each pass is one fused multi-output reduction (a compare and
an add per digit), so it runs at memory speed and never sorts. The next order statistic,
needed to interpolate, is the minimum of the keys above the k-th (or the k-th itself when
it is repeated), one more pass. XLA's sort on CPU is slow (``jnp.median`` of 1e7 float32
takes seconds); this takes a few linear passes on any backend.

The order is a total order in which ``-0.0`` comes before ``+0.0``; NumPy does not
distinguish them, so a zero result may differ from NumPy's in its sign only (they compare
equal). NaN is not ordered: any NaN in a reduced slice makes its result NaN, as NumPy.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _validate
from ._stats import _axes, _to_last

_BITS = 2  # bits decided per pass (2**_BITS - 1 counts per pass); divides 32
_MAX_SPLIT = 8  # up to this many quantiles get their own reduction operands
_METHODS = ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf")


def _key_types(dtype: Any) -> tuple[Any, Any, int]:
    bits = jnp.finfo(dtype).bits
    if bits == 64:
        return jnp.int64, jnp.uint64, 64
    if bits == 32:
        return jnp.int32, jnp.uint32, 32
    raise TypeError(f"x: median/quantile support float32 and float64, got {dtype}")


def _to_key(x: jax.Array) -> jax.Array:
    """Order-preserving map from floats to unsigned integers of the same width."""
    itype, utype, bits = _key_types(x.dtype)
    i = lax.bitcast_convert_type(x, itype)
    flip = lax.shift_right_arithmetic(i, jnp.asarray(bits - 1, itype)) | jnp.asarray(
        jnp.iinfo(itype).min, itype
    )
    return lax.bitcast_convert_type(i ^ flip, utype)


def _from_key(k: jax.Array, dtype: Any) -> jax.Array:
    itype, utype, bits = _key_types(dtype)
    top = jnp.asarray(1, utype) << (bits - 1)
    u = jnp.where(k >= top, k ^ top, ~k)
    return lax.bitcast_convert_type(u, dtype)


def _split(n: int, rows: int) -> int:
    """Split the reduced axis into ``r`` rows so XLA's CPU reduction runs them in parallel."""
    if rows >= 8 or n < (1 << 16):
        return 1
    for r in (8, 4, 2):
        if n % r == 0:
            return r
    return 1


def _reduce(operands: tuple[jax.Array, ...], inits: tuple[Any, ...], fns) -> tuple:
    """One multi-output reduction over the last axis (XLA fuses the producers into it)."""
    out = lax.reduce(
        operands,
        inits,
        lambda a, b: tuple(f(u, v) for f, u, v in zip(fns, a, b, strict=True)),
        (operands[0].ndim - 1,),
    )
    return tuple(out)


def _columns(nq: int) -> list:
    """Index expressions for the queries: one per query when few, else all at once.

    Few queries get one operand each (``[B, r, m]``), so one fused loop reads the data once
    for all of them; many share a broadcast ``[B, Q, r, m]`` operand (bounded program size).
    """
    if nq <= _MAX_SPLIT:
        return [(slice(None), slice(j, j + 1)) for j in range(nq)]
    return [(slice(None), slice(None))]


def _rows(a: jax.Array, cols: tuple) -> jax.Array:
    """``a[cols]`` (``[B, Q']``) shaped to broadcast against keys ``[B, 1 or Q', r, m]``."""
    return a[cols][..., None, None]


def _select(
    x: jax.Array, k: jax.Array, weights: jax.Array | None = None, q: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """Keys of the order statistics of ``x`` ``[B, n]`` at ranks ``k`` ``[B, Q]``.

    Unweighted: the ``k``-th smallest key (0-based). Weighted (``weights`` ``[B, n]``,
    ``q`` ``[B, Q]``): the smallest key ``t`` with ``W(key <= t) >= q * W`` and
    ``W(key <= t) > 0`` (``numpy.quantile(..., method="inverted_cdf", weights=...)``).
    Also returns whether each row has a NaN, ``[B, 1]``.
    """
    _, utype, bits = _key_types(x.dtype)
    b, n = x.shape
    r = _split(n, b)
    xr = x.reshape(b, 1, r, n // r)
    wr = None if weights is None else weights.reshape(b, 1, r, n // r)
    if wr is not None:
        total = jnp.sum(weights, axis=-1)[:, None]
    step = _BITS
    cols = _columns(k.shape[1])

    def one_pass(i, prefix, with_nan=False):
        key = _to_key(xr)
        shift = (bits - step * (i + 1)).astype(utype)
        ops, inits = [], []
        for d in range(1, 1 << step):
            thr = prefix | (jnp.asarray(d, utype) << shift)
            for c in cols:
                less = key < _rows(thr, c)
                if wr is None:
                    ops.append(less.astype(jnp.int32))
                    inits.append(jnp.int32(0))
                else:
                    ops.append(jnp.where(less, wr, 0))
                    inits.append(jnp.zeros((), wr.dtype))
        if with_nan:  # the first pass also looks for NaN, saving a pass
            ops.append(jnp.broadcast_to(jnp.isnan(xr), ops[0].shape).astype(jnp.int32))
            inits.append(jnp.int32(0))
        sums = _reduce(tuple(ops), tuple(inits), (lax.add,) * len(ops))
        sums = [jnp.sum(s, axis=-1) for s in sums]
        has_nan = sums.pop()[:, :1] > 0 if with_nan else None
        nc = len(cols)
        sums = [
            jnp.concatenate(sums[j * nc : (j + 1) * nc], axis=1) for j in range(len(sums) // nc)
        ]
        if wr is None:
            above = [s <= k for s in sums]
        else:
            above = [~((s >= q * total) & (s > 0)) for s in sums]
        digit = sum(a.astype(utype) for a in above)
        prefix = prefix | (digit << shift)
        return (prefix, has_nan) if with_nan else prefix

    prefix, has_nan = one_pass(jnp.int32(0), jnp.zeros(k.shape, utype), with_nan=True)
    prefix = lax.fori_loop(1, bits // step, one_pass, prefix)
    return prefix, has_nan


def _next(x: jax.Array, t: jax.Array, k_next: jax.Array) -> jax.Array:
    """Key of the order statistic at rank ``k_next`` (``k`` or ``k + 1``) given ``t``."""
    _, utype, _ = _key_types(x.dtype)
    b, n = x.shape
    r = _split(n, b)
    key = _to_key(x.reshape(b, 1, r, n // r))
    big = jnp.asarray(jnp.iinfo(utype).max, utype)
    cols = _columns(t.shape[1])
    ops, inits, fns = [], [], []
    for c in cols:
        tt = _rows(t, c)
        ops += [(key <= tt).astype(jnp.int32), jnp.where(key > tt, key, big)]
        inits += [jnp.int32(0), big]
        fns += [lax.add, lax.min]
    out = _reduce(tuple(ops), tuple(inits), tuple(fns))
    count_le = jnp.concatenate([jnp.sum(c, axis=-1) for c in out[0::2]], axis=1)
    min_gt = jnp.concatenate([jnp.min(c, axis=-1) for c in out[1::2]], axis=1)
    return jnp.where(count_le >= k_next + 1, t, min_gt)


def _concrete_q(q: Any) -> list[float] | None:
    """``q`` as Python floats (float64, like NumPy) when its values are known now."""
    if isinstance(q, jax.core.Tracer):
        return None
    if isinstance(q, (int, float)):
        return [float(q)]
    try:
        values = q.tolist() if hasattr(q, "tolist") else list(q)
    except TypeError:
        return None
    if not isinstance(values, list):
        values = [values]
    flat: list[float] = []
    for v in values:
        if isinstance(v, list):
            return None  # 2-D q: rejected later with a shape error
        flat.append(float(v))
    return flat


def _host_indices(n: int, qs: list[float], method: str) -> tuple[list, list, list]:
    """NumPy's (previous index, next index, gamma) for each quantile, in float64."""
    prev, nxt, gam = [], [], []
    for q in qs:
        if method in ("linear", "midpoint"):
            v = (n - 1) * q
            if method == "midpoint":
                v = 0.5 * (math.floor(v) + math.ceil(v))
            p = math.floor(v)
            if v >= n - 1:  # NumPy takes the last element for both, gamma stays v - (-1)
                p, nx, g = n - 1, n - 1, v + 1.0
            else:
                nx, g = p + 1, v - p
            if method == "midpoint":
                g = 0.0 if v % 1 == 0 else 0.5
            prev.append(p), nxt.append(nx), gam.append(g)
            continue
        if method == "lower":
            i = math.floor((n - 1) * q)
        elif method == "higher":
            i = math.ceil((n - 1) * q)
        elif method == "nearest":
            i = round((n - 1) * q)  # half to even, as numpy.around
        else:  # inverted_cdf
            v = n * q - 1
            f = math.floor(v)
            i = max(f if v - f == 0 else f + 1, 0)
        i = min(max(i, 0), n - 1)
        prev.append(i), nxt.append(i), gam.append(0.0)
    return prev, nxt, gam


def _traced_indices(n: int, q: jax.Array, method: str, dtype: Any):
    """The same indices for a traced ``q``, computed in ``dtype``."""
    q = q.astype(dtype)
    v = (n - 1) * q
    if method in ("linear", "midpoint"):
        fl, ce = jnp.floor(v), jnp.ceil(v)
        if method == "midpoint":
            v = 0.5 * (fl + ce)
            fl = jnp.floor(v)
        last = v >= n - 1
        p = jnp.where(last, n - 1, fl)
        nx = jnp.where(last, n - 1, fl + 1)
        g = jnp.where(last, v + 1, v - fl)
        if method == "midpoint":
            g = jnp.where(v % 1 == 0, 0.0, 0.5).astype(dtype)
        return p.astype(jnp.int32), nx.astype(jnp.int32), g
    if method == "lower":
        i = jnp.floor(v)
    elif method == "higher":
        i = jnp.ceil(v)
    elif method == "nearest":
        i = jnp.round(v)
    else:
        w = n * q - 1
        f = jnp.floor(w)
        i = jnp.where(w - f == 0, f, f + 1)
    i = jnp.clip(i, 0, n - 1).astype(jnp.int32)
    return i, i, jnp.zeros_like(q)


def _lerp(a: jax.Array, b: jax.Array, t: jax.Array, one_minus_t: jax.Array) -> jax.Array:
    """NumPy's ``_lerp``: ``a + (b-a) t`` below ``t = 0.5``, ``b - (b-a)(1-t)`` from it."""
    diff = b - a
    # XLA on CPU contracts a multiply feeding an add into one FMA, which rounds once where
    # NumPy rounds twice; a select between them (equal values either way: a NaN diff
    # gives NaN products) stops the contraction.
    nan = jnp.isnan(diff)
    up = jnp.where(nan, diff, diff * t)
    down = jnp.where(nan, diff, diff * one_minus_t)
    return jnp.where(t >= 0.5, b - down, a + up)


def _prepare(x: ArrayLike, axis) -> tuple[jax.Array, tuple[int, ...], tuple[int, ...]]:
    arr = _validate.as_real(x, "x")
    _key_types(arr.dtype)
    axes = _axes(axis, arr.ndim)
    out_shape = tuple(s for i, s in enumerate(arr.shape) if i not in axes)
    flat = _to_last(arr, axes)
    return flat.reshape(math.prod(out_shape), flat.shape[-1]), out_shape, axes


def median(x: ArrayLike, axis: int | Sequence[int] | None = None) -> jax.Array:
    """Median over ``axis`` by radix selection (as ``numpy.median``, without sorting).

    For an even count, the mean ``(a + b) / 2`` of the two middle values in ``x``'s dtype,
    exactly as NumPy computes it. Runs in ``32 / 2 + 1`` (float32) or ``64 / 2 + 1``
    (float64) linear passes over the data, each a fused multi-output reduction.

    Args:
      x: real array (float32 or float64; integers become the default float).
      axis: an int, a tuple of ints, or ``None`` (all axes).

    Returns:
      The median with ``axis`` removed. A slice holding a NaN gives NaN (as NumPy); an
      empty slice gives NaN. ``-inf`` and ``inf`` in the middle give ``nan`` as NumPy's
      mean of them does. Differentiable: the gradient goes to the middle element(s),
      shared equally among ties (as ``jnp.median``'s).

    Raises:
      ValueError: if an axis is out of range or repeated.
      TypeError: for a dtype other than float32/float64 (after integer promotion).

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> print(prob.median(jnp.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0])))
      3.5
      >>> print(prob.median(jnp.array([[3.0, 1.0, 2.0], [9.0, 7.0, 8.0]]), axis=1))
      [2. 8.]
    """
    return _median(_validate.as_real(x, "x"), _static_axis(axis))


def _static_axis(axis: Any) -> Any:
    """A hashable form of ``axis`` for ``jax.jit``'s static arguments."""
    return tuple(axis) if isinstance(axis, list) else axis


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def _order_stats(flat, k, k_next, interpolate):
    """Order statistics of ``flat`` ``[B, n]`` at ranks ``k`` and ``k_next`` ``[B, Q]``.

    Returns ``(lo, hi, has_nan)`` (``has_nan`` as 0/1 in the data's dtype). The derivative
    of an order statistic is the mean tangent of the elements equal to it (a subgradient;
    with no ties, the tangent of the selected element), as for a sort-based median.
    """
    t, has_nan = _select(flat, k)
    lo = _from_key(t, flat.dtype)
    hi = _from_key(_next(flat, t, k_next), flat.dtype) if interpolate else lo
    return lo, hi, jnp.broadcast_to(has_nan, lo.shape).astype(flat.dtype)


@_order_stats.defjvp
def _order_stats_jvp(interpolate, primals, tangents):
    flat, k, k_next = primals
    dflat = tangents[0]
    lo, hi, nan = _order_stats(flat, k, k_next, interpolate)
    dlo = _tangent_at(flat, dflat, lo)
    dhi = _tangent_at(flat, dflat, hi) if interpolate else dlo
    return (lo, hi, nan), (dlo, dhi, jnp.zeros_like(nan))


def _tangent_at(flat: jax.Array, dflat: jax.Array, v: jax.Array) -> jax.Array:
    eq = flat[:, None, :] == v[..., None]
    total = jnp.sum(jnp.where(eq, dflat[:, None, :], 0), axis=-1)
    return total / jnp.maximum(jnp.sum(eq, axis=-1), 1).astype(total.dtype)


@functools.partial(jax.jit, static_argnames=("axis",))
def _median(x: jax.Array, axis: Any) -> jax.Array:
    flat, out_shape, _ = _prepare(x, axis)
    b, n = flat.shape
    if n == 0:
        return jnp.full(out_shape, jnp.nan, flat.dtype)
    k = jnp.full((b, 1), (n - 1) // 2, jnp.int32)
    lo, hi, has_nan = _order_stats(flat, k, k + 1, n % 2 == 0)
    if n % 2 == 0:
        lo = (lo + hi) / 2
    out = jnp.where(has_nan > 0, jnp.nan, lo)
    return out[:, 0].reshape(out_shape)


def quantile(
    x: ArrayLike,
    q: ArrayLike,
    axis: int | Sequence[int] | None = None,
    *,
    method: str = "linear",
    weights: ArrayLike | None = None,
) -> jax.Array:
    """Quantiles over ``axis`` by radix selection (as ``numpy.quantile``, without sorting).

    The order statistics are found exactly (bit for bit); the interpolation then follows
    NumPy's formulas for each ``method``: ``"linear"`` (default), ``"lower"``,
    ``"higher"``, ``"midpoint"``, ``"nearest"`` (ties to the even index, as
    ``numpy.around``) and ``"inverted_cdf"``. When ``q`` is known at call time (a Python
    number, list or NumPy array), the indices and weights are computed in float64 on the
    host exactly as NumPy does, so results equal ``numpy.quantile(x, float(q_i))``
    bitwise. A traced ``q`` is used in ``x``'s dtype, which can move an interpolation
    weight by a rounding error (and, for float32 data with ``n > 2**24``, an index).

    Args:
      x: real array (float32 or float64; integers become the default float).
      q: a quantile in ``[0, 1]`` or a 1-D array of them.
      axis: an int, a tuple of ints, or ``None`` (all axes).
      method: one of ``"linear"``, ``"lower"``, ``"higher"``, ``"midpoint"``,
        ``"nearest"``, ``"inverted_cdf"``.
      weights: non-negative weights with ``x``'s shape, or 1-D with the length of a single
        ``axis``; only with ``method="inverted_cdf"`` (as
        ``numpy.quantile(..., weights=...)``): the result is the smallest value whose
        cumulative weight reaches ``q`` times the total. Weighted sums are accumulated in
        the weights' dtype, so a ``q`` within rounding of a step of the weighted CDF may
        pick the neighbouring value (exact for integer weights with sums below ``2**24``
        in float32).

    Returns:
      ``q.shape + <x's shape with axis removed>`` (the q axis first, as NumPy). Any NaN in
      a slice gives NaN. As NumPy's linear interpolation, a zero weight on an infinite
      neighbour gives NaN (``inf * 0``). Differentiable in ``x`` (unweighted): the
      gradient goes to the order statistics used, shared equally among ties; not in ``q``.

    Raises:
      ValueError: for a concrete ``q`` outside ``[0, 1]``, ``q`` of more than one
        dimension, an unknown method, weights with another method, negative concrete
        weights or weights of the wrong shape, an empty reduction, or a bad axis.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> x = jnp.array([1.0, 2.0, 3.0, 4.0, 10.0])
      >>> print(prob.quantile(x, 0.25), prob.quantile(x, [0.5, 0.9]))
      2.0 [3.  7.6]
      >>> print(prob.quantile(x, 0.5, method="inverted_cdf",
      ...                     weights=jnp.array([1.0, 1.0, 1.0, 1.0, 6.0])))
      10.0
    """
    _validate.one_of(method, _METHODS, "method")
    if weights is not None and method != "inverted_cdf":
        raise ValueError(f"weights need method='inverted_cdf' (as NumPy), got {method!r}")
    arr = _validate.as_real(x, "x")
    _key_types(arr.dtype)
    axes = _axes(axis, arr.ndim)
    n = math.prod(arr.shape[a] for a in axes)
    if n == 0:
        raise ValueError(f"x: cannot take a quantile over an empty axis (shape {arr.shape})")
    qs = _concrete_q(q)
    if qs is None:
        q_arr = _validate.as_real(q, "q").astype(arr.dtype)
        q_shape = q_arr.shape
    else:
        q_shape = () if isinstance(q, (int, float)) or getattr(q, "ndim", 1) == 0 else (len(qs),)
        if any(not 0.0 <= v <= 1.0 for v in qs):
            raise ValueError(f"q must be in [0, 1], got {q}")
    if len(q_shape) > 1:
        raise ValueError(f"q must be a scalar or 1-D, got shape {q_shape}")
    nq = max(math.prod(q_shape), 1)
    axis = _static_axis(axis)

    if weights is not None:
        w = _weights(weights, arr, axes)
        q_dev = jnp.asarray(qs, arr.dtype) if qs is not None else q_arr
        out = _weighted(arr, w, q_dev.reshape(nq).astype(w.dtype), axis)
    else:
        if qs is not None:
            p, nx, g = _host_indices(n, qs, method)
            p = jnp.asarray(p, jnp.int32)
            nx = jnp.asarray(nx, jnp.int32)
            one_minus = jnp.asarray([1.0 - v for v in g], arr.dtype)
            g = jnp.asarray(g, arr.dtype)
        else:
            p, nx, g = _traced_indices(n, q_arr.reshape(nq), method, arr.dtype)
            one_minus = 1 - g
        out = _unweighted(arr, p, nx, g, one_minus, axis, method in ("linear", "midpoint"))
    return out.reshape(q_shape + out.shape[1:])


@functools.partial(jax.jit, static_argnames=("axis", "interpolate"))
def _unweighted(x, p, nx, g, one_minus, axis, interpolate) -> jax.Array:
    flat, out_shape, _ = _prepare(x, axis)
    b, _ = flat.shape
    nq = p.shape[0]
    k, k_next = (jnp.broadcast_to(i[None, :], (b, nq)) for i in (p, nx))
    out, hi, has_nan = _order_stats(flat, k, k_next, interpolate)
    if interpolate:
        out = _lerp(out, hi, g[None, :], one_minus[None, :])
    out = jnp.where(has_nan > 0, jnp.nan, out)  # [b, nq]
    return jnp.moveaxis(out, 1, 0).reshape((nq,) + out_shape)


@functools.partial(jax.jit, static_argnames=("axis",))
def _weighted(x, w, q, axis) -> jax.Array:
    flat, out_shape, axes = _prepare(x, axis)
    w = _to_last(w, axes).reshape(flat.shape)
    b, _ = flat.shape
    nq = q.shape[0]
    qb = jnp.broadcast_to(q[None, :], (b, nq))
    t, has_nan = _select(flat, jnp.zeros((b, nq), jnp.int32), w, qb)
    out = jnp.where(has_nan, jnp.nan, _from_key(t, flat.dtype))
    return jnp.moveaxis(out, 1, 0).reshape((nq,) + out_shape)


def _weights(weights: ArrayLike, x: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    w = _validate.as_real(weights, "weights")
    shape = x.shape
    if w.shape != shape:
        if w.ndim == 1 and len(axes) == 1 and w.shape[0] == shape[axes[0]]:
            w = w.reshape([-1 if i == axes[0] else 1 for i in range(len(shape))])
            w = jnp.broadcast_to(w, shape)
        else:
            raise ValueError(
                f"weights must have x's shape {shape}, or be 1-D with the length of the single "
                f"reduced axis; got shape {w.shape}"
            )
    _validate.nonnegative(w, "weights")
    return w.astype(jnp.result_type(w.dtype, x.dtype))
