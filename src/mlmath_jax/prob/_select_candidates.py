"""Selection among a bracket's candidates: radix passes over parts, narrowing, regrouping.

The bracket selection of ``_select_bracket`` leaves each wanted rank's candidates where its
gather pass wrote them, as a list of **parts**: per-block ``(count, low, high, total)``
arrays (a block's count of candidates, their minimum and maximum key and the wrapping sum
of their keys, which give up to three candidates exactly) and key arrays with sentinels.
:func:`_select_keys` runs the radix selection over the parts in place; for a wide key span
(values near zero span many binades) :func:`narrow` first shrinks the key range to between
two adjacent sample keys in a few counting passes and :func:`regroup` reduces the parts to
``1 / _FINE_GROUP`` of their size, so the radix passes run over small arrays.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from ._select_radix import _BITS, _reduce, _split, digit_thresholds, next_of, next_ops

_KEPT = 3  # candidates a block's (count, low, high, total) gives exactly
_NARROW = 4  # passes narrowing the candidates to between adjacent sample keys (4x each)
_FINE_GROUP = 64  # per-block entries a group when the narrowed candidates are regrouped
_FINE_CROWDED = 32  # groups holding more than _KEPT narrowed candidates read again, a part


def _tally_type(dtype) -> type:
    """The integer type to count in beside data of ``dtype``: as wide as its values.

    XLA's CPU code vectorises a count best in lanes of the data's width: counting float64
    compares in int32 took 5.3 ms for 1e7 values, in int64 2.9 ms (a sum: 2.3 ms).
    """
    return jnp.int64 if jnp.dtype(dtype).itemsize == 8 else jnp.int32


def _rows(part: jax.Array) -> jax.Array:
    """A ``[R, w]`` array as ``[R, r, w / r]`` (``_split``), so its reductions run in parallel."""
    rows, w = part.shape
    r = _split(w, rows)
    return part.reshape(rows, r, w // r)


def _candidates(part) -> list:
    """A part's candidate keys as ``(keys, kept)`` pairs (``kept`` None: every key counts).

    A part is a key array ``[R, w]`` (sentinels stand for no candidate) or per-block
    ``(count, low, high, total)`` arrays ``[R, w]``: ``low`` counts where a block holds one
    to ``_KEPT`` candidates, ``high`` where it holds two or three, ``total - low - high``
    (wrapping) where it holds three. The pairs come split into rows (:func:`_rows`).
    """
    return [(_rows(keys), None if kept is None else _rows(kept)) for keys, kept in _terms(part)]


def _terms(part) -> list:
    """A part's ``(keys, kept)`` pairs ``[R, w]``, not split into rows (:func:`_candidates`)."""
    if not isinstance(part, tuple):
        return [(part, None)]
    count, low, high, total = part
    few = count <= _KEPT
    mid = total - low - high  # the third of three, exact modulo 2**bits
    return [(low, (count >= 1) & few), (high, (count >= 2) & few), (mid, count == 3)]


def _count_below(parts: list, thresholds: list, base: jax.Array) -> list:
    """For each threshold ``[R]``, the candidates of all ``parts`` below it, ``[R]``.

    Keys are compared as offsets ``key - base`` (``base`` ``[R]``, at most every candidate:
    the offsets keep the keys' order, and a sentinel's stays above every candidate's).
    """
    totals = [jnp.zeros(thresholds[0].shape, jnp.int32) for _ in thresholds]
    ct = _tally_type(thresholds[0].dtype)
    b = base[:, None, None]
    for part in parts:
        terms = _candidates(part)
        ops = []
        for t in thresholds:
            tt = t[:, None, None]
            hits = [((k - b) < tt) if kept is None else ((k - b) < tt) & kept for k, kept in terms]
            ops.append(sum(h.astype(ct) for h in hits))
        sums = _reduce(tuple(ops), (jnp.zeros((), ct),) * len(ops), (lax.add,) * len(ops))
        sums = [v.astype(jnp.int32) for v in sums]
        totals = [a + jnp.sum(s, axis=-1) for a, s in zip(totals, sums, strict=True)]
    return totals


def _select_keys(
    queries: list, rank: jax.Array, base: jax.Array, span: jax.Array, unroll: bool = True
) -> jax.Array:
    """For each query ``q``, the key at 0-based ``rank[:, q]`` among its candidates, ``[B, Q]``.

    ``queries[q]`` is a list of parts (key arrays ``[B, w]`` or per-block summaries, see
    :func:`_candidates`). Radix selection, ``_BITS`` bits a pass, as
    ``_select_radix._select`` on keys, but over several arrays at once (the candidates
    stay where the gather pass wrote them); the loop is unrolled (``unroll``), so XLA
    schedules the passes without a loop's overhead, and a loop does not carry (copy) the
    parts; small parts (the regrouped ones) keep the loop, which compiles faster.

    The candidates' keys lie in ``[base, base + span]`` (``[B, Q]`` each, from the
    bracket's bounds), so the selection runs on the offsets ``key - base``: the passes
    over digits above ``span``'s highest bit (zero in every offset) are skipped
    (``lax.cond``, a query at a time for the whole batch). A bracket of values of one sign
    and exponent leaves about half of them (0.9-quantile of normal data, 1e7 values: 9 of
    16 passes).
    """
    utype = queries[0][-1].dtype  # the key array part
    bits = jnp.iinfo(utype).bits

    def one_pass(i, prefix):
        thresholds, shift = digit_thresholds(prefix, i)  # [B, Q] each

        def digit(q):
            def count():
                below = _count_below(queries[q], [t[:, q] for t in thresholds], base[:, q])
                return sum((c <= rank[:, q]).astype(utype) for c in below)

            # Every offset is zero in these bits: the digit is 0.
            zero = jnp.all((span[:, q] >> shift) == 0)  # offsets <= span < 2**shift
            return lax.cond(zero, lambda: jnp.zeros(rank.shape[:1], utype), count)

        return prefix | (jnp.stack([digit(q) for q in range(len(queries))], axis=1) << shift)

    offset = lax.fori_loop(0, bits // _BITS, one_pass, jnp.zeros(rank.shape, utype), unroll=unroll)
    return offset + base


def _next_key(queries: list, key: jax.Array, rank_next: jax.Array) -> jax.Array:
    """The key at rank ``rank_next`` (the rank of ``key`` or the one after), ``[B, Q]``.

    One pass over each query's candidates: ``key`` itself when enough candidates are
    ``<=`` it (ties), else the smallest candidate above it.
    """
    ct = _tally_type(key.dtype)
    counts, mins = [], []
    for q, parts in enumerate(queries):
        kk = key[:, q, None, None]
        count = jnp.zeros(key.shape[:1], jnp.int32)
        above = jnp.full(key.shape[:1], jnp.iinfo(key.dtype).max, key.dtype)
        for part in parts:
            ops, inits, fns = [], [], []
            for keys, kept in _candidates(part):
                o, i, f = next_ops(keys, kk, True if kept is None else kept, ct)
                ops, inits, fns = ops + o, inits + i, fns + f
            red = _reduce(tuple(ops), tuple(inits), tuple(fns))
            for c, a in zip(red[0::2], red[1::2], strict=True):
                count = count + jnp.sum(c, axis=-1).astype(jnp.int32)
                above = jnp.minimum(above, jnp.min(a, axis=-1))
        counts.append(count)
        mins.append(above)
    return next_of(key, jnp.stack(counts, axis=1), jnp.stack(mins, axis=1), rank_next)


def narrow(queries, sorted_keys, first, last, rank, rank_next, base, span):
    """Key offsets ``[ka, kb)`` holding the candidates at ``rank..rank_next``, and below ``ka``.

    The bracket's interval lies between sample positions ``first`` and ``last`` ``[B, Q]``
    (``-1`` and ``s`` for no bound); ``_NARROW`` passes over the candidates count them
    below the sample keys at three positions between the current ones and keep the
    quarter holding the ranks, so for smooth data the candidates left are those between
    two adjacent sample keys (about ``n / s``). Offsets are ``key - base``; ``kb`` past
    every candidate at the interval's end. Returns ``ka, kb`` and the count below ``ka``.
    """
    utype = sorted_keys.dtype
    top = jnp.asarray(jnp.iinfo(utype).max, utype)
    s = sorted_keys.shape[-1]
    end = jnp.minimum(span, top - 1) + 1

    def offset(p):
        key = jnp.take_along_axis(sorted_keys, jnp.clip(p, 0, s - 1), axis=-1)
        inner = jnp.clip(key - base, 0, end)
        return jnp.where(p <= first, 0, jnp.where(p >= last, end, inner)).astype(utype)

    a, b = first, last
    ka, kb = jnp.zeros_like(base), end
    below = jnp.zeros(rank.shape, jnp.int32)
    pick = lambda xs, i: jnp.take_along_axis(jnp.stack(xs, -1), i[..., None], -1)[..., 0]  # noqa: E731
    for _ in range(_NARROW):
        ps = [a + (b - a) * j // 4 for j in (1, 2, 3)]
        ts = [offset(p) for p in ps]
        counts = [
            _count_below(queries[q], [t[:, q] for t in ts], base[:, q]) for q in range(len(queries))
        ]
        cs = [jnp.stack([c[j] for c in counts], axis=1) for j in range(3)]  # [B, Q] each
        jk = sum((c <= rank).astype(jnp.int32) for c in cs)
        jn = sum((c <= rank_next).astype(jnp.int32) for c in cs) + 1
        pos, keys = [a, *ps, b], [ka, *ts, kb]
        a, b = pick(pos, jk), pick(pos, jn)
        ka, kb, below = pick(keys, jk), pick(keys, jn), pick([below, *cs], jk)
    return ka, kb, below


def regroup(queries, base, ka, kb):
    """The candidates with offsets in ``[ka, kb)`` as parts of ``1 / _FINE_GROUP`` the size.

    Every part's candidates are reduced in groups of ``_FINE_GROUP`` entries to the
    ``(count, low, high, total)`` of those in range (exact for groups of up to ``_KEPT``);
    groups holding more are read again whole, up to ``_FINE_CROWDED`` a part. Returns the
    new parts a query and ``ok`` ``[B]``, False where a part had more crowded groups.
    """
    out, oks = [], []
    for q, parts in enumerate(queries):
        fine = []
        bounds = base[:, q, None], ka[:, q, None], kb[:, q, None]
        for part in parts:
            summary, again, ok = _regroup_part(part, *bounds)
            fine += [summary, again]
            oks.append(ok)
        out.append(fine)
    return out, functools.reduce(jnp.logical_and, oks)


def _regroup_part(part, base, ka, kb):
    """One part's in-range candidates: group summaries, re-read crowded groups, ``ok``."""
    g = _FINE_GROUP
    top = jnp.asarray(jnp.iinfo(base.dtype).max, base.dtype)
    zero = jnp.asarray(0, base.dtype)
    terms = _terms(part)
    b, w = terms[0][0].shape
    pad = (-w) % g
    ng = (w + pad) // g
    keys, masks = [], []
    for key, kept in terms:
        off = key - base
        m = (off >= ka) & (off < kb) & (key != top if kept is None else kept)
        keys.append(jnp.pad(key, ((0, 0), (0, pad))).reshape(b, ng, g))
        masks.append(jnp.pad(m, ((0, 0), (0, pad))).reshape(b, ng, g))
    pairs = list(zip(keys, masks, strict=True))
    summary = _reduce(
        (
            functools.reduce(jnp.add, [m.astype(jnp.int32) for m in masks]),
            functools.reduce(jnp.minimum, [jnp.where(m, k, top) for k, m in pairs]),
            functools.reduce(jnp.maximum, [jnp.where(m, k, zero) for k, m in pairs]),
            functools.reduce(jnp.add, [jnp.where(m, k, zero) for k, m in pairs]),
        ),
        (jnp.zeros((), jnp.int32), top, zero, zero),
        (lax.add, lax.min, lax.max, lax.add),
    )
    crowded = summary[0] > _KEPT
    idx = jax.vmap(lambda c: jnp.nonzero(c, size=_FINE_CROWDED, fill_value=0)[0])(crowded)
    num = jnp.sum(crowded, axis=-1)
    real = (jnp.arange(_FINE_CROWDED) < num[:, None])[..., None]
    pick = lambda a: jnp.take_along_axis(a, idx[..., None], axis=1)  # noqa: E731
    again = [jnp.where(pick(m) & real, pick(k), top).reshape(b, -1) for k, m in pairs]
    return tuple(summary), jnp.concatenate(again, axis=-1), num <= _FINE_CROWDED
