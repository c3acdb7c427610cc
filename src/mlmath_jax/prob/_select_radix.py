"""Order statistics by radix selection on the float bits, not by sorting.

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

The entry points take data flattened to ``[B, n]`` (one row per reduced slice) and ranks
``[B, Q]``. :func:`order_stats` sends slices of ``2**16`` values or more (and at most four
ranks) to the few-pass bracket selection of ``_select_bracket`` and runs the radix
selection only where that misses (``lax.cond``), so results are exact either way.

The order is a total order in which ``-0.0`` comes before ``+0.0``; NumPy does not
distinguish them, so a zero result may differ from NumPy's in its sign only (they compare
equal). NaN is not ordered: callers replace the result of a slice holding a NaN by NaN,
as NumPy does, using the ``has_nan`` flag returned here.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from .. import _sharding

_BITS = 2  # bits decided per pass (2**_BITS - 1 counts per pass); divides 32
_MAX_SPLIT = 8  # up to this many quantiles get their own reduction operands


def key_types(dtype: Any) -> tuple[Any, Any, int]:
    """Signed and unsigned integer types of ``dtype``'s width, and the width in bits."""
    bits = jnp.finfo(dtype).bits
    if bits == 64:
        return jnp.int64, jnp.uint64, 64
    if bits == 32:
        return jnp.int32, jnp.uint32, 32
    raise TypeError(f"x: median/quantile support float32 and float64, got {jnp.dtype(dtype)}")


def _to_key(x: jax.Array) -> jax.Array:
    """Order-preserving map from floats to unsigned integers of the same width."""
    itype, utype, bits = key_types(x.dtype)
    i = lax.bitcast_convert_type(x, itype)
    flip = lax.shift_right_arithmetic(i, jnp.asarray(bits - 1, itype)) | jnp.asarray(
        jnp.iinfo(itype).min, itype
    )
    return lax.bitcast_convert_type(i ^ flip, utype)


def _from_key(k: jax.Array, dtype: Any) -> jax.Array:
    _, utype, bits = key_types(dtype)
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


def row_parts(x: jax.Array) -> list[jax.Array]:
    """``x`` ``[B, n]`` as parts ``[B, r, m]`` whose reductions run in parallel on CPU.

    A long row splits into ``r = 8`` rows (:func:`_split`); a length that is not a multiple
    of 8 keeps that split for the longest such prefix, and the few values left over form
    a second part ``[B, 1, n % 8]``. Reducing every part and adding the results gives the
    row's reduction.
    """
    b, n = x.shape
    r = _split(n - n % 8, b)
    main = n - n % r
    parts = [lax.slice(x, (0, 0), (b, main)).reshape(b, r, main // r)]
    if main < n:
        parts.append(lax.slice(x, (0, main), (b, n))[:, None, :])
    return parts


def digit_thresholds(prefix: jax.Array, i: jax.Array) -> tuple[list[jax.Array], jax.Array]:
    """Pass ``i`` of a radix selection: the thresholds ``prefix | d << shift`` and ``shift``.

    ``d`` runs over the nonzero digits of ``_BITS`` bits; the digit kept is the number of
    thresholds whose count below is still at most the wanted rank (:func:`advance`).
    """
    utype = prefix.dtype
    shift = (jnp.iinfo(utype).bits - _BITS * (i + 1)).astype(utype)
    return [prefix | (jnp.asarray(d, utype) << shift) for d in range(1, 1 << _BITS)], shift


def advance(prefix: jax.Array, shift: jax.Array, kept: list[jax.Array]) -> jax.Array:
    """The prefix after a pass: the digit is the number of thresholds ``kept`` (bool each)."""
    digit = sum(a.astype(prefix.dtype) for a in kept)
    return prefix | (digit << shift)


def next_of(t: jax.Array, count_le: jax.Array, min_gt: jax.Array, k_next: jax.Array) -> jax.Array:
    """The key at rank ``k_next`` (``k`` or ``k + 1``) given the key ``t`` at rank ``k``.

    ``t`` itself when more than ``k_next`` values are ``<= t`` (``count_le``: ties), else
    ``min_gt``, the smallest key above ``t``.
    """
    return jnp.where(count_le >= k_next + 1, t, min_gt)


def next_ops(key: jax.Array, t: jax.Array, valid: Any, ct: Any) -> tuple[list, list, list]:
    """Reduction operands, initial values and functions for :func:`next_of`.

    They give ``count(key <= t)`` (in integers ``ct``) and ``min(key > t)`` over the
    ``valid`` keys (``True``: all).
    """
    big = jnp.asarray(jnp.iinfo(key.dtype).max, key.dtype)
    ops = [((key <= t) & valid).astype(ct), jnp.where((key > t) & valid, key, big)]
    return ops, [jnp.zeros((), ct), big], [lax.add, lax.min]


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
    x: jax.Array,
    k: jax.Array,
    weights: jax.Array | None = None,
    total: jax.Array | None = None,
    q: jax.Array | None = None,
    unroll: bool = False,
) -> tuple[jax.Array, jax.Array]:
    """Keys of the order statistics of ``x`` ``[B, n]`` at ranks ``k`` ``[B, Q]``.

    Unweighted: the ``k``-th smallest key (0-based). Weighted (``weights`` ``[B, n]``, their
    row sums ``total`` ``[B, 1]``, ``q`` ``[B, Q]``): the smallest key ``t`` whose weighted
    CDF ``W(key <= t) / W`` is ``>= q`` and ``> 0``, the division and comparison made as
    ``numpy.quantile(..., method="inverted_cdf", weights=...)`` makes them. Also returns
    whether each row has a NaN, ``[B, 1]``.

    ``unroll`` unrolls the passes' loop. Where this runs as the untaken branch of a
    ``lax.cond``, a loop carrying ``x`` made XLA copy ``x`` on every call, taken or not
    (400 MB of scratch and 13 ms a median of 1e8 float32); unrolled, nothing is copied, at
    about 0.5 s more compile time.
    """
    _, utype, bits = key_types(x.dtype)
    xparts = [p[:, None] for p in row_parts(x)]  # [B, 1, r, m]: broadcast over the queries
    wparts = None if weights is None else [p[:, None] for p in row_parts(weights)]
    cols = _columns(k.shape[1])

    def counts_below(thresholds, with_nan):
        """For each threshold [B, Q], the (weighted) count of keys below it; NaN count."""
        per_part, nan = [], jnp.zeros((k.shape[0], 1), bool)
        for j, xr in enumerate(xparts):
            key = _to_key(xr)
            ops, inits = [], []
            for thr in thresholds:
                for c in cols:
                    less = key < _rows(thr, c)
                    if wparts is None:
                        ops.append(less.astype(jnp.int32))
                        inits.append(jnp.int32(0))
                    else:
                        ops.append(jnp.where(less, wparts[j], 0))
                        inits.append(jnp.zeros((), wparts[j].dtype))
            if with_nan:  # the first pass also looks for NaN, saving a pass
                ops.append(jnp.broadcast_to(jnp.isnan(xr), ops[0].shape).astype(jnp.int32))
                inits.append(jnp.int32(0))
            sums = [
                jnp.sum(s, axis=-1)
                for s in _reduce(tuple(ops), tuple(inits), (lax.add,) * len(ops))
            ]
            if with_nan:
                nan = nan | (sums.pop()[:, :1] > 0)
            nc = len(cols)
            sums = [
                jnp.concatenate(sums[i * nc : (i + 1) * nc], axis=1) for i in range(len(thresholds))
            ]
            per_part.append(sums)
        return [functools.reduce(jnp.add, ps) for ps in zip(*per_part, strict=True)], nan

    def one_pass(i, prefix, with_nan=False):
        thresholds, shift = digit_thresholds(prefix, i)
        sums, has_nan = counts_below(thresholds, with_nan)
        if wparts is None:
            kept = [s <= k for s in sums]
        else:  # NumPy: the first index with cdf >= q, leading zeros of the cdf skipped
            assert total is not None and q is not None  # given with weights
            kept = [~((s / total >= q) & (s / total > 0)) for s in sums]
        prefix = advance(prefix, shift, kept)
        return (prefix, has_nan) if with_nan else prefix

    prefix, has_nan = one_pass(jnp.int32(0), jnp.zeros(k.shape, utype), with_nan=True)
    prefix = lax.fori_loop(1, bits // _BITS, one_pass, prefix, unroll=unroll)
    return prefix, has_nan


def _next(x: jax.Array, t: jax.Array, k_next: jax.Array) -> jax.Array:
    """Key of the order statistic at rank ``k_next`` (``k`` or ``k + 1``) given ``t``."""
    cols = _columns(t.shape[1])
    count_le = jnp.zeros(t.shape, jnp.int32)
    min_gt = jnp.full(t.shape, jnp.iinfo(t.dtype).max, t.dtype)
    for xr in row_parts(x):
        key = _to_key(xr[:, None])
        ops, inits, fns = [], [], []
        for c in cols:
            o, i, f = next_ops(key, _rows(t, c), True, jnp.int32)
            ops, inits, fns = ops + o, inits + i, fns + f
        out = _reduce(tuple(ops), tuple(inits), tuple(fns))
        count_le = count_le + jnp.concatenate([jnp.sum(c, axis=-1) for c in out[0::2]], axis=1)
        min_gt = jnp.minimum(
            min_gt, jnp.concatenate([jnp.min(c, axis=-1) for c in out[1::2]], axis=1)
        )
    return next_of(t, count_le, min_gt, k_next)


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def order_stats(flat, k, k_next, interpolate):
    """Order statistics of ``flat`` ``[B, n]`` at ranks ``k`` and ``k_next`` ``[B, Q]``.

    Returns ``(lo, hi, has_nan)`` (``has_nan`` as 0/1 in the data's dtype, ``[B, Q]``);
    without ``interpolate``, ``hi`` is ``lo``. The derivative of an order statistic is the
    mean tangent of the elements equal to it (a subgradient; with no ties, the tangent of
    the selected element), as for a sort-based median.
    """
    from . import _select_bracket  # it builds on this module's pieces

    b, n = flat.shape
    # Sharded rows keep the radix path: its passes exchange only counts, where the bracket's
    # sample sort would gather the sample across devices.
    if not _select_bracket.use_bracket(n, k.shape[1]) or _sharding.on_mesh(flat):
        lo, hi, has_nan = _radix_order_stats(flat, k, k_next, interpolate)
        return lo, hi, jnp.broadcast_to(has_nan, lo.shape).astype(flat.dtype)
    lo, hi, has_nan, ok = _select_bracket.bracket_select(flat, k, k_next, interpolate)
    # A miss anywhere runs the exact radix selection for the whole batch (only then).
    lo, hi = lax.cond(
        jnp.all(ok | has_nan),
        lambda: (lo, hi),
        lambda: _radix_order_stats(flat, k, k_next, interpolate, unroll=True)[:2],
    )
    return lo, hi, jnp.broadcast_to(has_nan, lo.shape).astype(flat.dtype)


def _radix_order_stats(flat, k, k_next, interpolate, unroll=False):
    """Order statistics by radix selection alone: ``(lo, hi, has_nan [B, 1])``."""
    t, has_nan = _select(flat, k, unroll=unroll)
    lo = _from_key(t, flat.dtype)
    hi = _from_key(_next(flat, t, k_next), flat.dtype) if interpolate else lo
    return lo, hi, has_nan


@order_stats.defjvp
def _order_stats_jvp(interpolate, primals, tangents):
    flat, k, k_next = primals
    dflat = tangents[0]
    lo, hi, nan = order_stats(flat, k, k_next, interpolate)
    dlo = _tangent_at(flat, dflat, lo)
    dhi = _tangent_at(flat, dflat, hi) if interpolate else dlo
    return (lo, hi, nan), (dlo, dhi, jnp.zeros_like(nan))


def _tangent_at(flat: jax.Array, dflat: jax.Array, v: jax.Array) -> jax.Array:
    eq = flat[:, None, :] == v[..., None]
    total = jnp.sum(jnp.where(eq, dflat[:, None, :], 0), axis=-1)
    return total / jnp.maximum(jnp.sum(eq, axis=-1), 1).astype(total.dtype)


def weighted_order_stats(flat: jax.Array, w: jax.Array, q: jax.Array) -> jax.Array:
    """The weighted inverted-CDF quantile of each row of ``flat`` ``[B, n]`` at ``q`` ``[B, Q]``.

    ``w`` ``[B, n]`` are the weights. A row holding a NaN, or whose weights hold a negative,
    NaN or infinite entry or sum to zero, gives NaN (NumPy raises for the weights; under
    ``jit`` their values are not known, so the result says it).
    """
    total = jnp.sum(w, axis=-1, keepdims=True)
    bad_w = ~(jnp.isfinite(total) & (total > 0)) | jnp.any(w < 0, axis=-1, keepdims=True)
    k = jnp.zeros(q.shape, jnp.int32)
    t, has_nan = _select(flat, k, w, total, q)
    return jnp.where(has_nan | bad_w, jnp.nan, _from_key(t, flat.dtype))
