"""Order statistics of large slices in a few passes: sample, bracket, count, gather, select.

For a slice of ``n >= 2**16`` values and a few wanted ranks, the radix selection of
``_select_radix`` reads the data 16 (float32) or 32 (float64) times. This path reads it
twice, each a fused multi-output reduction, plus a small sort and a selection among the
per-block summaries of a small share of the data, and falls back to the radix selection
when its guess misses, so the result is always exact:

1. **Sample.** A strided subset of ``s`` values (about ``n / 512``, at most ``2**16``;
   deterministic, no gather) is sorted by key; for each wanted rank, ``_PIVOTS`` pivots
   are read off the sorted sample around the rank's expected sample position, spread
   evenly over four standard deviations of it on each side.
2. **Pass 1** counts, for every pivot, the values below it, and finds whether the row
   holds a NaN (five compares a value: at memory speed on a 2-core CPU, where nine were
   not). The interval between two adjacent pivots (or no bound below or above) that
   holds the wanted rank(s) is then known exactly, with the count of values below it:
   about ``n / sqrt(s)`` values for smooth data (2 standard deviations of the sample
   position).
3. **Pass 2** reduces blocks of ``_BLOCK`` consecutive values to the count, minimum,
   maximum and wrapping sum of the keys inside the interval: a block holding at most
   three candidates gives them all exactly (the third is ``sum - min - max`` modulo
   ``2**bits``). The blocks holding four or more (for smooth data a Poisson tail, a few
   hundred blocks; for a sorted row, one run of ``interval / _BLOCK`` blocks) are found
   by index (:func:`_crowded_blocks`: per-group counts, a prefix sum and a binary search)
   and read again whole, up to ``max(_CROWDED, n / _CROWDED_SHARE)`` of them.
4. **Selection** among the candidates where pass 2 left them (``_select_candidates``:
   radix passes over the per-block arrays, after narrowing the key range to between two
   adjacent sample keys where it is wide), so nothing of the blocks' size is copied.

The guess misses when too many blocks are crowded (heavy ties, an unrepresentative
sample); then :func:`bracket_select` reports ``ok`` False and the caller runs the exact
radix selection under ``lax.cond``, so only a miss pays for it. A slice holding a NaN
gives NaN whatever the guess did.

Measured on a 2-core AMD EPYC (float32, 2026-12-04, one process, old and new code
interleaved, min/median of 11): a median of 1e8 values in 50-55 ms (the nine-pivot,
two-a-block version before it: 54-60 ms; a ``jnp.sum`` of the array 17-20 ms), of 1e7 values
in 5.3-6.2 ms (before: 5.8-6.6 ms; the sum 1.3-2.0 ms, partly from the 32 MiB L3 cache).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

from ._select_candidates import (
    _KEPT,
    _next_key,
    _select_keys,
    _tally_type,
    narrow,
    regroup,
)
from ._select_radix import _from_key, _reduce, _to_key, key_types, row_parts

MIN_N = 1 << 16  # smaller slices keep the radix selection (its passes are cheap there)
MAX_QUERIES = 4  # more wanted ranks a slice: the radix selection (one operand each)
_PIVOTS = 5  # pivots a wanted rank in pass 1 (one compare each a value)
_BLOCK = 64  # values a block in pass 2; up to _KEPT candidates each given exactly
_Z = 4.0  # half-width of the sample window, in standard deviations of the sample rank
_CROWDED = 2048  # blocks with more than _KEPT candidates read again whole, a row and query,
_CROWDED_SHARE = 1 << 14  # or one a _CROWDED_SHARE values if more (a sorted row's interval)
_GROUP = 64  # blocks a group when finding the crowded ones
_NARROW_MIN_N = 1 << 22  # rows this long narrow a wide key range before the radix passes


def sample_size(n: int) -> int:
    """The sample's size for a slice of ``n``: a power of two near ``n / 512``, at most 2**16."""
    return int(min(1 << 16, max(1 << 12, 1 << max(0, round(math.log2(n / 512))))))


def _sample_keys(flat: jax.Array) -> jax.Array:
    """Sorted keys of a strided sample of each row, ``[B, s]`` (a slice, not a gather)."""
    b, n = flat.shape
    s = sample_size(n)
    stride = n // s
    start = stride // 2
    sample = lax.slice(flat, (0, start), (b, start + (s - 1) * stride + 1), (1, stride))
    return jnp.sort(_to_key(sample), axis=-1)


def _sample_pivots(sorted_keys: jax.Array, k: jax.Array, k_next: jax.Array, n: int, m: int, dtype):
    """``m`` pivot values a rank from the sorted sample, ``[B, Q, m]``, ascending.

    Also returns their positions in the sample, ``[B, Q, m]``.
    """
    s = sorted_keys.shape[-1]
    centre = (k.astype(jnp.float32) + k_next.astype(jnp.float32)) / 2 + 0.5
    p = jnp.clip(centre / n, 0.0, 1.0)
    pos = p * s - 0.5
    half = _Z * jnp.sqrt(s * p * (1 - p)) + 2.0
    steps = jnp.linspace(-1.0, 1.0, m, dtype=jnp.float32)
    idx = jnp.clip(jnp.round(pos[..., None] + half[..., None] * steps), 0, s - 1)
    b, nq = k.shape
    idx = idx.astype(jnp.int32).reshape(b, nq * m)
    keys = jnp.take_along_axis(sorted_keys, idx, axis=-1).reshape(b, nq, m)
    return _from_key(keys, dtype), idx.reshape(b, nq, m)


def _count_pass(flat: jax.Array, pivots: jax.Array):
    """Values below each pivot ``[B, Q, m]``, and whether each row holds a NaN ``[B]``.

    Compares values, not keys (cheaper; ``-0.0`` and ``+0.0`` tie, as in NumPy); the later
    steps compare values the same way, so ranks stay consistent.
    """
    b, _ = flat.shape
    _, nq, m = pivots.shape
    ct = _tally_type(flat.dtype)
    counts = jnp.zeros((b, nq * m), jnp.int32)
    nans = jnp.zeros((b,), jnp.int32)
    for xr in row_parts(flat):
        ops = [
            (xr < pivots[:, q, j][:, None, None]).astype(ct) for q in range(nq) for j in range(m)
        ]
        ops.append(jnp.isnan(xr).astype(ct))
        out = _reduce(tuple(ops), (jnp.zeros((), ct),) * len(ops), (lax.add,) * len(ops))
        out = [o.astype(jnp.int32) for o in out]  # counts below n < 2**31
        counts = counts + jnp.stack([jnp.sum(c, axis=-1) for c in out[:-1]], axis=-1)
        nans = nans + jnp.sum(out[-1], axis=-1)
    return counts.reshape(b, nq, m), nans > 0


def _interval(pivots, counts, lo, lo_count, hi, hi_count, k, k_next, where):
    """The interval ``[L, H)`` between adjacent bounds holding ranks ``k..k_next``.

    ``pivots``/``counts`` ``[B, Q, m]`` (ascending values, counts of values below them),
    bounds ``[B, Q]`` with their counts; an upper bound NaN means none (``~(x >= H)`` holds
    for every value). Returns ``L, H``, the counts below them and their sample positions
    (from ``where``, the bounds' positions ``[B, Q, m + 2]``), ``[B, Q]`` each.
    """
    bounds = jnp.concatenate([lo[..., None], pivots, hi[..., None]], axis=-1)
    below = jnp.concatenate([lo_count[..., None], counts, hi_count[..., None]], axis=-1)
    j = jnp.sum(counts <= k[..., None], axis=-1)  # bound j: below[j] <= k < below[j + 1]
    jn = jnp.sum(counts <= k_next[..., None], axis=-1) + 1
    pick = lambda a, i: jnp.take_along_axis(a, i[..., None], axis=-1)[..., 0]  # noqa: E731
    lo, hi, lo_count, hi_count = pick(bounds, j), pick(bounds, jn), pick(below, j), pick(below, jn)
    return lo, hi, lo_count, hi_count, pick(where, j), pick(where, jn)


def _gather_pass(flat: jax.Array, lo: jax.Array, hi: jax.Array):
    """Candidates (keys of values in ``[L, H)``, sentinels elsewhere) and ``ok`` ``[B, Q]``.

    A block of ``_BLOCK`` values gives its count, minimum, maximum and wrapping sum of the
    keys inside the interval: exact for blocks holding at most ``_KEPT`` candidates. The
    few blocks holding more (up to ``_CROWDED`` a row and query) are read again whole,
    from their index; only more crowded blocks than that make ``ok`` False. The blocks
    cover the longest prefix of a row made of whole groups of ``_GROUP`` blocks; the rest
    (fewer than ``_BLOCK * _GROUP`` values) is taken whole.

    Returns ``(queries, ok)``: for each wanted rank, its candidates as a list of parts,
    the per-block ``(count, low, high, total)`` ``[B, nb]`` each (the selection reads the
    candidates off them, ``_select_candidates._terms``) and the keys ``[B, c]`` of the
    row's tail and the crowded blocks. Nothing of size ``nb`` is rewritten.
    """
    b, n = flat.shape
    _, utype, _ = key_types(flat.dtype)
    top = jnp.asarray(jnp.iinfo(utype).max, utype)
    ct = _tally_type(flat.dtype)
    nb = n // (_BLOCK * _GROUP) * _GROUP
    xr = lax.slice(flat, (0, 0), (b, nb * _BLOCK)).reshape(b, nb, _BLOCK)
    key = _to_key(xr)
    nq = lo.shape[1]
    ops, inits, fns = [], [], []
    for q in range(nq):
        inside = (xr >= lo[:, q, None, None]) & ~(xr >= hi[:, q, None, None])
        inner = jnp.where(inside, key, 0)
        ops += [inside.astype(ct), jnp.where(inside, key, top), inner, inner]
        inits += [jnp.zeros((), ct), top, jnp.asarray(0, utype), jnp.asarray(0, utype)]
        fns += [lax.add, lax.min, lax.max, lax.add]
    out = _reduce(tuple(ops), tuple(inits), tuple(fns))
    tail = lax.slice(flat, (0, nb * _BLOCK), (b, n))
    tail_key = _to_key(tail)
    queries, oks = [], []
    for q in range(nq):
        count, low, high, total = out[4 * q : 4 * q + 4]  # [B, nb] each
        inside = (tail >= lo[:, q, None]) & ~(tail >= hi[:, q, None])
        rest = [jnp.where(inside, tail_key, top)]
        # The crowded blocks, read again whole: [B, K, _BLOCK] keys (sentinels outside).
        idx, num, ok = _crowded_blocks(count)
        k_max = idx.shape[-1]
        blocks = jax.vmap(lambda rows, i: rows[i])(xr, idx)  # [B, K, _BLOCK]
        real = (jnp.arange(k_max) < num[:, None])[..., None]
        inside = real & (blocks >= lo[:, q, None, None]) & ~(blocks >= hi[:, q, None, None])
        rest.append(jnp.where(inside, _to_key(blocks), top).reshape(b, k_max * _BLOCK))
        queries.append([(count, low, high, total), jnp.concatenate(rest, axis=-1)])
        oks.append(ok)
    return queries, jnp.stack(oks, axis=1)


def _crowded_blocks(count: jax.Array):
    """Indices of the crowded blocks ``[B, K]`` (0-filled), their number and ``ok`` ``[B]``.

    ``count`` ``[B, nb]`` (candidates a block, ``nb`` a multiple of ``_GROUP``); a block is
    crowded when it holds more than ``_KEPT``. ``jnp.nonzero`` over all ``nb`` flags is a
    prefix sum and a scatter as costly as a pass over the data (XLA's CPU prefix sum runs
    at about 15 ns a value), so the crowded blocks are counted a group of ``_GROUP`` (a
    two-output reduction: XLA's CPU code for a one-output integer reduction is many times
    slower), those counts summed up (``nb / _GROUP`` values), each of the ``K`` slots'
    group found by binary search, and its place in the group from an exact prefix sum of
    the group's flags (a ``[K, 64] x [64, 64]`` product of zeros and ones). ``ok`` is
    False when more than ``K`` blocks are crowded.
    """
    b, nb = count.shape
    k_max = min(max(_CROWDED, nb * _BLOCK // _CROWDED_SHARE), nb // 8)
    least = _KEPT + 1
    ng = nb // _GROUP
    groups = count.reshape(b, ng, _GROUP)
    per_group, _ = _reduce(
        ((groups >= least).astype(count.dtype), groups),
        (jnp.zeros((), count.dtype),) * 2,
        (lax.add, lax.max),
    )
    ends = jnp.cumsum(per_group, axis=-1)  # crowded blocks in groups 0..g
    num = ends[:, -1]
    slot = jnp.arange(k_max, dtype=ends.dtype)
    g = jax.vmap(lambda e: jnp.searchsorted(e, slot, side="right"))(ends)
    g = jnp.minimum(g, ng - 1).astype(jnp.int32)  # [B, K]
    starts = jnp.take_along_axis(ends - per_group, g, axis=-1)
    rank = slot - starts  # the slot's place among its group's crowded blocks
    flags = (jnp.take_along_axis(groups, g[..., None], axis=1) >= least).astype(jnp.float32)
    upper = jnp.triu(jnp.ones((_GROUP, _GROUP), jnp.float32))
    prefix = jnp.matmul(flags, upper, precision=lax.Precision.HIGHEST)  # inclusive, exact
    within = jnp.sum(prefix <= rank[..., None].astype(jnp.float32), axis=-1)
    idx = g * _GROUP + jnp.minimum(within, _GROUP - 1).astype(jnp.int32)
    idx = jnp.where(slot < num[:, None], idx, 0)
    return idx, num, num <= k_max


def bracket_select(flat: jax.Array, k: jax.Array, k_next: jax.Array, interpolate: bool):
    """Order statistics at ranks ``k``/``k_next`` ``[B, Q]`` of ``flat`` ``[B, n]``, or a miss.

    Returns ``(lo, hi, has_nan, ok)``: values ``[B, Q]`` (``hi`` is ``lo`` without
    ``interpolate``), ``has_nan`` ``[B, 1]`` and ``ok`` ``[B, Q]``, False where the values are
    not to be trusted (the caller falls back to the exact selection there).
    """
    b, n = flat.shape
    if not interpolate:
        k_next = k
    m = _PIVOTS
    sorted_keys = _sample_keys(flat)
    s = sorted_keys.shape[-1]
    pivots, where = _sample_pivots(sorted_keys, k, k_next, n, m, flat.dtype)
    counts, has_nan = _count_pass(flat, pivots)
    zero = jnp.zeros(k.shape, jnp.int32)
    where = jnp.concatenate([zero[..., None] - 1, where, zero[..., None] + s], axis=-1)
    lo, hi, lo_c, hi_c, first, last = _interval(
        pivots,
        counts,
        jnp.full(k.shape, -jnp.inf, flat.dtype),  # every non-NaN value is >= -inf
        zero,
        jnp.full(k.shape, jnp.nan, flat.dtype),  # no upper bound: every value is below
        zero + n,
        k,
        k_next,
        where,
    )
    queries, ok = _gather_pass(flat, lo, hi)
    width = sum(_KEPT * p[0].shape[-1] if isinstance(p, tuple) else p.shape[-1] for p in queries[0])
    base, span = _key_span(lo, hi)
    rank = jnp.clip(k - lo_c, 0, width - 1)
    rank_next = jnp.clip(k_next - lo_c, 0, width - 1)

    def select(queries, rank, rank_next, base, span, unroll=True):
        key = _select_keys(queries, rank, base, span, unroll)
        return key, (_next_key(queries, key, rank_next) if interpolate else key)

    def narrowed():
        ka, kb, below = narrow(queries, sorted_keys, first, last, rank, rank_next, base, span)
        fine, fine_ok = regroup(queries, base, ka, kb)
        key, nxt = select(fine, rank - below, rank_next - below, base + ka, kb - ka - 1, False)
        return jnp.all(fine_ok), key, nxt

    # Narrowing and regrouping cost about six passes over the candidates; the radix
    # selection one a 2 bits of the key span (the passes above its top bit are skipped).
    # Shorter rows keep the radix passes: there each of the narrowing's many small steps
    # costs more than it saves (4 rows of 1e6, 2 quantiles: 6.5 -> 7.7 ms with them).
    # Each selection is traced once (compile time): the narrowed one where the span is
    # wide, the radix passes over the whole candidate parts where it is not or where the
    # regrouping overflowed.
    if n < _NARROW_MIN_N:
        key, nxt = select(queries, rank, rank_next, base, span)
    else:
        unused = jnp.zeros(rank.shape, base.dtype)
        wide = jnp.any(span >= jnp.asarray(1 << 16, span.dtype))
        done, key, nxt = lax.cond(wide, narrowed, lambda: (jnp.asarray(False), unused, unused))
        key, nxt = lax.cond(
            done, lambda: (key, nxt), lambda: select(queries, rank, rank_next, base, span)
        )
    lo = _from_key(key, flat.dtype)
    return lo, _from_key(nxt, flat.dtype), has_nan[:, None], ok


def _key_span(lo: jax.Array, hi: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Keys ``base`` and ``span`` ``[B, Q]`` with every candidate key in ``[base, base + span]``.

    Candidates are the values ``v`` with ``v >= lo`` and ``~(v >= hi)`` (an upper bound NaN:
    none). Values compare ``-0.0`` and ``+0.0`` equal where keys do not, so a zero bound
    counts as its lower key below and its upper key above.
    """
    zero = lo == 0
    base = _to_key(jnp.where(zero, -jnp.zeros_like(lo), lo))
    top = jnp.asarray(jnp.iinfo(base.dtype).max, base.dtype)
    upper = jnp.where(jnp.isnan(hi), top, _to_key(jnp.where(hi == 0, jnp.zeros_like(hi), hi)))
    return base, jnp.where(upper >= base, upper - base, top)


def use_bracket(n: int, num_queries: int) -> bool:
    """Whether a slice of ``n`` with ``num_queries`` wanted ranks takes this path."""
    return n >= MIN_N and num_queries <= MAX_QUERIES
