"""Order statistics of large slices in a few passes: sample, bracket, count, gather, select.

For a slice of ``n >= 2**16`` values and a few wanted ranks, the radix selection of
``_select_radix`` reads the data 16 (float32) or 32 (float64) times. This path reads it
twice, each a fused multi-output reduction, plus a small sort and a selection among a
``2 / _BLOCK`` fraction of the data, and falls back to the radix selection when its guess
misses, so the result is always exact:

1. **Sample.** A strided subset of ``s`` values (about ``n / 512``, deterministic, no
   gather) is sorted by key; for each wanted rank, pivots are read off the sorted sample
   around the rank's expected sample position, spread over four standard deviations of it
   on each side.
2. **Pass 1** counts, for every pivot, the keys below it, and finds whether the row holds
   a NaN. The interval between two adjacent pivots (or no bound below or above) that holds
   the wanted rank(s) is then known exactly, with the count of keys below it: about
   ``0.3 n / sqrt(s)`` values for smooth data.
3. **Pass 2** reduces blocks of ``_BLOCK`` consecutive values to the count, minimum and
   maximum key of those inside the interval: a block holding at most two of them gives
   both exactly. The few blocks holding three or more (for smooth data a Poisson tail,
   tens of blocks) are found by index and read again whole, up to ``_CROWDED`` of them.
   The radix selection then finds the wanted ranks among the candidates.

The guess misses when more than ``_CROWDED`` blocks are crowded (heavy ties, an
unrepresentative sample); then :func:`bracket_select` reports ``ok`` False and the caller
runs the exact radix selection under ``lax.cond``, so only a miss pays for it. A slice
holding a NaN gives NaN whatever the guess did.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

from ._select_radix import _from_key, _reduce, _select, _split, _to_key, key_types

MIN_N = 1 << 16  # smaller slices keep the radix selection (its passes are cheap there)
MAX_QUERIES = 4  # more wanted ranks a slice: the radix selection (one operand each)
_BLOCK = 64  # values a block in pass 3; at most two candidates each are kept
_Z = 4.0  # half-width of the sample window, in standard deviations of the sample rank
_CROWDED = 512  # blocks with three or more candidates read again whole, a row and query


def sample_size(n: int) -> int:
    """The sample's size for a slice of ``n``: a power of two near ``n / 512``."""
    return int(min(1 << 18, max(1 << 12, 1 << max(0, round(math.log2(n / 512))))))


def _pivots(n: int, q: int) -> int:
    """Pivots a pass per wanted rank: fewer with more ranks (one compare each per value)."""
    return 15 if q == 1 else 11


def _sample_keys(flat: jax.Array) -> jax.Array:
    """Sorted keys of a strided sample of each row, ``[B, s]`` (a slice, not a gather)."""
    b, n = flat.shape
    s = sample_size(n)
    stride = n // s
    start = stride // 2
    sample = lax.slice(flat, (0, start), (b, start + (s - 1) * stride + 1), (1, stride))
    return jnp.sort(_to_key(sample), axis=-1)


def _sample_pivots(sorted_keys: jax.Array, k: jax.Array, k_next: jax.Array, n: int, m: int, dtype):
    """``m`` pivot values a rank from the sorted sample, ``[B, Q, m]``, ascending."""
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
    return _from_key(keys, dtype)


def _count_pass(flat: jax.Array, pivots: jax.Array):
    """Values below each pivot ``[B, Q, m]``, and whether each row holds a NaN ``[B]``.

    Compares values, not keys (cheaper; ``-0.0`` and ``+0.0`` tie, as in NumPy); the later
    steps compare values the same way, so ranks stay consistent.
    """
    b, n = flat.shape
    r = _split(n, b)
    xr = flat.reshape(b, r, n // r)
    _, nq, m = pivots.shape
    ops, inits, fns = [], [], []
    for q in range(nq):
        for j in range(m):
            ops.append((xr < pivots[:, q, j][:, None, None]).astype(jnp.int32))
            inits.append(jnp.int32(0))
            fns.append(lax.add)
    ops.append(jnp.isnan(xr).astype(jnp.int32))
    inits.append(jnp.int32(0))
    fns.append(lax.add)
    out = _reduce(tuple(ops), tuple(inits), tuple(fns))
    counts = jnp.stack([jnp.sum(c, axis=-1) for c in out[: nq * m]], axis=-1)
    return counts.reshape(b, nq, m), jnp.sum(out[-1], axis=-1) > 0


def _interval(pivots, counts, lo, lo_count, hi, hi_count, k, k_next):
    """The interval ``[L, H)`` between adjacent bounds holding ranks ``k..k_next``.

    ``pivots``/``counts`` ``[B, Q, m]`` (ascending values, counts of values below them),
    bounds ``[B, Q]`` with their counts; an upper bound NaN means none (``~(x >= H)`` holds
    for every value). Returns ``L, H`` and the counts below them, ``[B, Q]`` each.
    """
    bounds = jnp.concatenate([lo[..., None], pivots, hi[..., None]], axis=-1)
    below = jnp.concatenate([lo_count[..., None], counts, hi_count[..., None]], axis=-1)
    j = jnp.sum(counts <= k[..., None], axis=-1)  # bound j: below[j] <= k < below[j + 1]
    jn = jnp.sum(counts <= k_next[..., None], axis=-1) + 1
    pick = lambda a, i: jnp.take_along_axis(a, i[..., None], axis=-1)[..., 0]  # noqa: E731
    return pick(bounds, j), pick(bounds, jn), pick(below, j), pick(below, jn)


def _gather_pass(flat: jax.Array, lo: jax.Array, hi: jax.Array):
    """Candidates ``[B, Q, c]`` (keys of values in ``[L, H)``, sentinels elsewhere), ``ok``.

    A block of ``_BLOCK`` values gives its count, minimum and maximum key inside the
    interval: exact for blocks holding at most two candidates. The few blocks holding more
    (up to ``_CROWDED`` a row and query) are read again whole, from their index; only
    more crowded blocks than that make ``ok`` False.
    """
    b, n = flat.shape
    _, utype, _ = key_types(flat.dtype)
    top = jnp.asarray(jnp.iinfo(utype).max, utype)
    nb = n // _BLOCK
    xr = lax.slice(flat, (0, 0), (b, nb * _BLOCK)).reshape(b, nb, _BLOCK)
    key = _to_key(xr)
    nq = lo.shape[1]
    ops, inits, fns = [], [], []
    for q in range(nq):
        inside = (xr >= lo[:, q, None, None]) & ~(xr >= hi[:, q, None, None])
        ops += [inside.astype(jnp.int32), jnp.where(inside, key, top), jnp.where(inside, key, 0)]
        inits += [jnp.int32(0), top, jnp.asarray(0, utype)]
        fns += [lax.add, lax.min, lax.max]
    out = _reduce(tuple(ops), tuple(inits), tuple(fns))
    tail = lax.slice(flat, (0, nb * _BLOCK), (b, n))[:, None, :]
    inside = (tail >= lo[..., None]) & ~(tail >= hi[..., None])
    tail = jnp.where(inside, _to_key(tail), top)
    count = jnp.stack(out[0::3], axis=1)  # [B, Q, nb]
    crowded = count > 2
    lows = jnp.where(crowded, top, jnp.stack(out[1::3], axis=1))
    highs = jnp.where((count >= 2) & ~crowded, jnp.stack(out[2::3], axis=1), top)
    # The crowded blocks, read again whole: [B, Q, K, _BLOCK] keys (sentinels outside).
    k_max = min(_CROWDED, nb)
    num = jnp.sum(crowded, axis=-1)  # [B, Q]
    (idx,) = jax.vmap(jax.vmap(lambda c: jnp.nonzero(c, size=k_max, fill_value=0)))(crowded)
    blocks = jax.vmap(lambda rows, i: rows[i])(xr, idx)  # [B, Q, K, _BLOCK]
    real = (jnp.arange(k_max) < num[..., None])[..., None]
    inside = real & (blocks >= lo[..., None, None]) & ~(blocks >= hi[..., None, None])
    again = jnp.where(inside, _to_key(blocks), top).reshape(b, nq, k_max * _BLOCK)
    ok = num <= k_max
    return jnp.concatenate([lows, highs, tail, again], axis=-1), ok


def bracket_select(flat: jax.Array, k: jax.Array, k_next: jax.Array, interpolate: bool):
    """Order statistics at ranks ``k``/``k_next`` ``[B, Q]`` of ``flat`` ``[B, n]``, or a miss.

    Returns ``(lo, hi, has_nan, ok)``: values ``[B, Q]`` (``hi`` is ``lo`` without
    ``interpolate``), ``has_nan`` ``[B, 1]`` and ``ok`` ``[B, Q]``, False where the values are
    not to be trusted (the caller falls back to the exact selection there).
    """
    b, n = flat.shape
    nq = k.shape[1]
    if not interpolate:
        k_next = k
    m = _pivots(n, nq)
    pivots = _sample_pivots(_sample_keys(flat), k, k_next, n, m, flat.dtype)
    counts, has_nan = _count_pass(flat, pivots)
    zero = jnp.zeros(k.shape, jnp.int32)
    lo, hi, lo_c, hi_c = _interval(
        pivots,
        counts,
        jnp.full(k.shape, -jnp.inf, flat.dtype),  # every non-NaN value is >= -inf
        zero,
        jnp.full(k.shape, jnp.nan, flat.dtype),  # no upper bound: every value is below
        zero + n,
        k,
        k_next,
    )
    cand, ok = _gather_pass(flat, lo, hi)
    width = cand.shape[-1]
    ranks = jnp.stack([k - lo_c, k_next - lo_c], axis=-1) if interpolate else (k - lo_c)[..., None]
    ranks = jnp.clip(ranks, 0, width - 1).reshape(b * nq, -1)
    keys, _ = _select(cand.reshape(b * nq, width), ranks, is_key=True)
    keys = keys.reshape(b, nq, -1)
    lo = _from_key(keys[..., 0], flat.dtype)
    hi = _from_key(keys[..., 1], flat.dtype) if interpolate else lo
    return lo, hi, has_nan[:, None], ok


def use_bracket(n: int, num_queries: int) -> bool:
    """Whether a slice of ``n`` with ``num_queries`` wanted ranks takes this path."""
    return n >= MIN_N and num_queries <= MAX_QUERIES
