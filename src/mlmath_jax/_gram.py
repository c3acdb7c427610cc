"""Gram products over the sample axis: ``XᵀX`` (using its symmetry), ``XᵀY``, centred ``XᵀX``.

Every product contracts the rows, the axis users shard, through
:func:`mlmath_jax._sharding.contract`: a row-sharded ``X`` (explicit or auto mesh) gives
per-device partial products and one all-reduce of the small ``[d, d]`` result, never a
gather of the rows.

Symmetry. :func:`gram` splits the columns into ``B`` blocks, computes the upper-triangular
block products ``X_iᵀ X_j`` (``i <= j``) and mirrors them: ``(B + 1) / (2B)`` of a general
matmul's flops. From ``d = 1024`` (2 or 4 blocks; at ``d = 2048``, ``n = 4096`` on the 2-core
CPU 1.9 s against 2.6 s for one ``XᵀX``), and off a mesh from ``d = 144``: about 96-wide
blocks over cache-sized row chunks (see ``_BLOCK_WIDTH``; whole-array blocks were slower
than one product there). Narrower data, and data on a mesh below ``d = 1024``, take one
product.

Centring. :func:`centred_gram` reads the data once off a mesh (the corrected two-pass sums
about a sample's mean, over cache-sized strided row chunks, so no centred copy is stored);
on a mesh it takes the one-pass route ``XᵀX - n m mᵀ`` when that is as accurate as centring
first, and the corrected two-pass route otherwise; see its docstring. Given ``y`` as well it
is the centred Gram of ``[X, y]`` (a regression's ``XᵀX``, ``Xᵀy`` and ``yᵀy``) without
concatenating the data.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from . import _sharding

HIGHEST = lax.Precision.HIGHEST

# One product below this many features (blocking measured slower at d = 256, faster at 2048).
_BLOCKED_FROM = 1024
# The one-pass centred Gram is used while Σx² <= ratio · Σ(x - m)² for every feature, i.e.
# mean² <= (ratio - 1) · variance: its rounding error is then at most ``ratio`` times that
# of centring first.
ONE_PASS_RATIO = 4.0
# Rows are centred in chunks of about this many bytes (they stay in cache between the
# subtraction and the product). Measured on a 2-core AMD EPYC, float32, data with mean 3 std,
# medians of 9 calls: 100,000 x 256 in 10 chunks 64-74 ms (centring the whole array first
# 66-186 ms; one uncentred product 56 ms); 1,000,000 x 100 in 40 chunks 120 ms (whole-array
# centring 305 ms, one product 132 ms). 4-32 MB chunks were within the noise of each other.
CHUNK_BYTES = 12 << 20
# A chunk's rows (n / chunks) stay a multiple of this, so that a row-sharded X (any device
# count dividing it) splits into whole chunks per device under an auto mesh.
_CHUNK_ROW_MULTIPLE = 8
# Rows whose mean is the centre of centred_gram's single-read route (off a mesh).
_CENTRE_SAMPLE = 1024


# Below _BLOCKED_FROM, off a mesh, column blocks about this wide from _BLOCKED_MIN features:
# the upper-triangle blocks of each row chunk (a chunk's column slices stay in cache).
# Measured on a 2-core Intel Xeon (2026-12-02, float32, 25e6 values, medians of 9; one
# product / chunked blocks / numpy's syrk): d = 160 69 / 37 / 40 ms (2 blocks), 192
# 89 / 43 / 50 (2), 256 106 / 63 / 46 (3), 384 138 / 65 / 60 (4), 512 156 / 77 / 68 (3).
# Blocks exactly 64 wide ran 2-3x slower in XLA's CPU dot (192 in 3: 117 ms, 256 in 4: 130),
# and at d = 100 blocking lost (1e6 rows: 225 against 149 ms).
_BLOCK_WIDTH = 96
_BLOCKED_MIN = 144


def default_blocks(d: int, *, on_mesh: bool = False) -> int:
    """Column blocks :func:`gram` uses for ``d`` features (1 = one product).

    ``on_mesh``: the rows are sharded (each block's partial product is then all-reduced
    apart, so below ``_BLOCKED_FROM`` features one product is kept).
    """
    if d >= _BLOCKED_FROM:
        return 2 if d < 4 * _BLOCKED_FROM else 4
    if on_mesh or d < _BLOCKED_MIN:
        return 1
    return min(4, round(d / _BLOCK_WIDTH))


def _symmetric(c: jax.Array) -> jax.Array:
    # The two triangles of one product may round differently: make it exactly symmetric.
    return 0.5 * (c + jnp.swapaxes(c, -1, -2))


def gram(
    x: jax.Array, y: jax.Array | None = None, *, blocks: int | None = None, precision=HIGHEST
) -> jax.Array:
    """``xᵀ x`` (exactly symmetric, about half the flops for wide ``x``) or ``xᵀ y``.

    Call it inside a jitted function (it is traced, not jitted itself); operands are
    validated arrays of one float dtype.

    Args:
      x: ``[..., n, d]``; ``n`` (the contracted sample axis) may be sharded.
      y: optional ``[..., n, e]``: the cross product ``xᵀ y`` (no symmetry to use).
      blocks: column blocks for ``xᵀ x``; default :func:`default_blocks` of ``d`` (with
        it, below ``_BLOCKED_FROM`` features, the rows go in :func:`row_chunks` chunks).
      precision: XLA precision; HIGHEST by default (TF32 on a GPU keeps 10 mantissa bits).

    Returns:
      ``[..., d, d]`` (or ``[..., d, e]``), replicated when the rows were sharded on an
      explicit mesh.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import _gram
      >>> print(_gram.gram(jnp.array([[1.0, 2.0], [3.0, 4.0]])))
      [[10. 14.]
       [14. 20.]]
    """
    if y is not None:
        return _sharding.contract("...nd,...ne->...de", x, y, precision=precision)
    d = x.shape[-1]
    b = default_blocks(d, on_mesh=_under_a_mesh(x)) if blocks is None else int(blocks)
    if b <= 1 or d < 2:
        return _symmetric(_sharding.contract("...nd,...ne->...de", x, x, precision=precision))
    if blocks is None and d < _BLOCKED_FROM:
        # Row chunks of cache size, so that each chunk's column slices are read from cache.
        chunks = row_chunks(x, d)
        if chunks > 1:
            part = functools.partial(_blocked_gram, blocks=b, precision=precision)
            return chunked_row_sum(part, (x,), chunks, axis=x.ndim - 2)
    return _blocked_gram(x, blocks=b, precision=precision)


def _blocked_gram(x: jax.Array, *, blocks: int, precision) -> jax.Array:
    """``xᵀ x`` from the upper-triangle products of ``blocks`` column blocks."""
    d, b = x.shape[-1], blocks
    edges = [min(i * -(-d // b), d) for i in range(b + 1)]
    cols = [x[..., lo:hi] for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    upper = {
        (i, j): _sharding.contract("...nd,...ne->...de", cols[i], cols[j], precision=precision)
        for i in range(b)
        for j in range(i, b)
    }
    rows = [
        [upper[(i, j)] if j >= i else jnp.swapaxes(upper[(j, i)], -1, -2) for j in range(b)]
        for i in range(b)
    ]
    for i in range(b):
        rows[i][i] = _symmetric(rows[i][i])
    return jnp.concatenate([jnp.concatenate(r, axis=-1) for r in rows], axis=-2)


def centring_chunks(n: int, d: int, itemsize: int, *, chunk_bytes: int = CHUNK_BYTES) -> int:
    """How many strided row chunks :func:`centred_gram` centres ``[n, d]`` data in (1: none).

    The count ``b`` divides ``n`` with ``n / b`` a multiple of 8 and is the one closest (in
    ratio) to ``n d itemsize / chunk_bytes``, searched within a factor 2 of it; 1 when the
    data fit in one chunk or no such divisor exists.

    Examples:
      >>> from mlmath_jax import _gram
      >>> _gram.centring_chunks(100_000, 256, 4), _gram.centring_chunks(1000, 4, 4)
      (10, 1)
    """
    target = n * d * itemsize / chunk_bytes
    if target < 1.5:
        return 1
    best, best_gap = 1, math.inf
    for b in range(max(2, int(target / 2)), int(2 * target) + 2):
        if n % b == 0 and (n // b) % _CHUNK_ROW_MULTIPLE == 0:
            gap = abs(math.log(b / target))
            if gap < best_gap:
                best, best_gap = b, gap
    return best


def _under_a_mesh(x: jax.Array) -> bool:
    """True when ``x`` is sharded on an explicit mesh or a mesh is set (``jax.set_mesh``)."""
    if _sharding.replicated_if_explicit(x) is not None:
        return True
    abstract = jax.sharding.get_abstract_mesh()
    return not abstract.empty


class CentredGram(NamedTuple):
    """``mean`` ``[..., d]`` of the rows and ``gram`` ``[..., d, d]`` = Σ (x - mean)(x - mean)ᵀ."""

    mean: jax.Array
    gram: jax.Array


def centred_gram(
    x: jax.Array,
    y: jax.Array | None = None,
    *,
    weights: jax.Array | None = None,
    ratio: float = ONE_PASS_RATIO,
    chunk_bytes: int = CHUNK_BYTES,
) -> CentredGram:
    """Mean and centred Gram (scatter matrix) of the rows of ``x``, accurate in float32.

    Off a mesh, one read of ``x``: the corrected two-pass sums (Chan, Golub and LeVeque)
    about the mean ``c`` of a strided sample of 1,024 rows, ``DᵀD - n r rᵀ`` with
    ``D = X - c`` and ``r`` the mean of ``D``; for data larger than ``chunk_bytes`` whose
    row count has a suitable divisor (:func:`centring_chunks`) ``D`` is never stored: a
    ``lax.scan`` over strided row chunks accumulates ``Σ DⱼᵀDⱼ`` and ``Σ Dⱼ``. Where the
    sample's mean is far from the data's (``Σ(x - c)² > ratio · Σ(x - mean)²`` for some
    feature: a contrived row order) or ``x`` holds NaN or inf, a ``lax.cond`` takes the sums
    again about the mean found (NaN stays NaN). Measured on a 2-core Intel Xeon (float32,
    2026-12-02, against the earlier two reads: sums, then the product): 100,000 x 256
    145-151 -> 83-101 ms, 1,000,000 x 100 266-309 -> 214-247 ms.

    On a mesh (explicit sharding, or inside ``jax.set_mesh``) the chunks are not used (they
    would all-reduce one ``d x d`` partial product per chunk instead of one in all), nor the
    sample (a strided slice across shards); one ``lax.cond`` chooses between

    - one pass, when ``Σx² <= ratio · Σ(x - m)²`` for every feature (``|mean|`` at most
      ``√(ratio - 1)`` standard deviations): ``XᵀX - n m mᵀ``, as scikit-learn's
      ``PCA(svd_solver="covariance_eigh")``; its rounding error is at most ``ratio`` times
      the centred route's;
    - otherwise the corrected two-pass sums about the mean ``m₁`` of the sums.

    With ``y`` it is the centred Gram of ``concatenate([x, y], axis=-1)`` (a regression's
    ``X_cᵀX_c``, ``X_cᵀy_c`` and ``y_cᵀy_c`` in its blocks), off a mesh without that copy:
    the columns are joined a chunk at a time.

    With ``weights`` ``w`` (off a mesh only) it is the weighted mean ``Σ wᵢxᵢ / Σ wᵢ`` and
    ``Σ wᵢ (xᵢ - mean)(xᵢ - mean)ᵀ``, the same single read: a chunk's deviations are scaled by
    ``√w`` where they are used, so no weighted copy of ``x`` is stored either.

    Args:
      x: ``[..., n, d]`` with ``n >= 1``; ``n`` may be sharded.
      y: optional ``[..., n, t]`` more columns (the same dtype and leading dimensions).
      weights: optional ``[..., n]`` row weights ``>= 0`` (not checked here), off a mesh.
      ratio: the threshold above (``1`` forces the second read, or on a mesh the two-pass
        route, for data that are not exactly centred about the centre used).
      chunk_bytes: the chunk size of the chunked route (``0`` or less turns it off).

    Returns:
      :class:`CentredGram` ``(mean [..., d], gram [..., d, d])`` (``d + t`` with ``y``),
      ``gram`` exactly symmetric.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import _gram
      >>> print(_gram.centred_gram(jnp.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]])).gram)
      [[2. 4.]
       [4. 8.]]
    """
    parts = (x,) if y is None else (x, y)
    n = x.shape[-2]
    d = sum(p.shape[-1] for p in parts)
    if not any(_under_a_mesh(p) for p in (*parts, weights) if p is not None):
        chunks = row_chunks(x, d, chunk_bytes=chunk_bytes)
        return _sample_centred(parts, weights, ratio, chunks)
    if weights is not None:
        raise ValueError("centred_gram: weights are supported off a mesh only")
    if y is not None:
        x = jnp.concatenate(parts, axis=-1)  # row-sharded: joined on each device
    chunks = row_chunks(x, d, chunk_bytes=chunk_bytes)
    s1 = jnp.sum(x, axis=-2)
    s2 = jnp.sum(x * x, axis=-2)
    one_pass_ok = jnp.all(s2 <= ratio * (s2 - s1 * (s1 / n)))  # False on NaN
    m1 = lax.stop_gradient(s1 / n)  # the two-pass centre: any works, r repairs it

    def one_pass(x):
        m = s1 / n
        return m, gram(x) - n * (m[..., :, None] * m[..., None, :])

    def two_pass(x):
        if chunks > 1:
            return _chunked_two_pass(x, m1, chunks)
        dev = x - m1[..., None, :]
        r = jnp.mean(dev, axis=-2)
        return m1 + r, gram(dev) - n * (r[..., :, None] * r[..., None, :])

    mean, g = lax.cond(one_pass_ok, one_pass, two_pass, x)
    return CentredGram(mean, g)


def row_chunks(x: jax.Array, width: int, *, chunk_bytes: int | None = None) -> int:
    """Strided row chunks for a product over the rows of ``x`` ``[..., n, d]`` (1: none).

    ``width`` is the widest row (in values) a chunk's product materialises; chunks are
    about ``chunk_bytes`` (default :data:`CHUNK_BYTES`, read at the call). One chunk on a
    mesh (a chunk's partial product would be all-reduced once a chunk).

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import _gram
      >>> _gram.row_chunks(jnp.zeros((100_000, 256)), 256), _gram.row_chunks(jnp.zeros((8, 2)), 2)
      (10, 1)
    """
    if chunk_bytes is None:
        chunk_bytes = CHUNK_BYTES
    if chunk_bytes <= 0 or _under_a_mesh(x):
        return 1
    return centring_chunks(x.shape[-2], width, x.dtype.itemsize, chunk_bytes=chunk_bytes)


def chunked_row_sum(fn, arrays: tuple, chunks: int, *, axis: int = 0):
    """``fn(*arrays)`` for a ``fn`` that sums over the rows (``axis`` of each array), in chunks.

    ``Σ_j fn(*chunk_j)`` over ``chunks`` strided chunks (rows ``j, j + chunks, ...``) in a
    ``lax.scan``, so what ``fn`` materialises per row (a weighted copy of ``X``, say)
    stays cache-sized; ``fn`` returns a pytree of arrays. ``chunks`` divides the rows
    (:func:`row_chunks`); 1 calls ``fn`` once on the whole arrays.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import _gram
      >>> x = jnp.arange(32.0).reshape(16, 2)
      >>> print(_gram.chunked_row_sum(lambda a: a.T @ a, (x,), 2))
      [[4960. 5200.]
       [5200. 5456.]]
    """
    if chunks <= 1:
        return fn(*arrays)
    n = arrays[0].shape[axis]
    first = tuple(lax.slice_in_dim(a, 0, n // chunks, axis=axis) for a in arrays)
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(fn, *first))
    return chunked_row_fold(
        lambda acc, *parts: jax.tree.map(jnp.add, acc, fn(*parts)), zeros, arrays, chunks, axis=axis
    )


def chunked_row_fold(fn, init, arrays: tuple, chunks: int, *, axis: int = 0):
    """``acc = fn(acc, *chunk_j)`` over ``chunks`` strided row chunks, from ``acc = init``.

    The chunks are those of :func:`chunked_row_sum` (rows ``j, j + chunks, ...`` along
    ``axis``), folded in a ``lax.scan``: a running QR factor, say, where a sum will not do.
    ``chunks`` 1 is ``fn(init, *arrays)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import _gram
      >>> x = jnp.arange(8.0)
      >>> print(_gram.chunked_row_fold(lambda m, c: jnp.maximum(m, c.max()), 0.0, (x,), 4))
      7.0
    """
    if chunks <= 1:
        return fn(init, *arrays)
    n = arrays[0].shape[axis]
    strided = [
        a.reshape(*a.shape[:axis], n // chunks, chunks, *a.shape[axis + 1 :]) for a in arrays
    ]

    def step(acc, j):
        parts = [lax.dynamic_index_in_dim(a, j, axis=axis + 1, keepdims=False) for a in strided]
        return fn(acc, *parts), None

    total, _ = lax.scan(step, init, jnp.arange(chunks))
    return total


def sample_mean(x: jax.Array, *, axis: int) -> jax.Array:
    """The mean along ``axis`` of at most ``_CENTRE_SAMPLE`` rows at an even stride.

    A centre near the mean for sums of deviations (no gradient flows through it: the sums
    built on it carry the derivative). Off a mesh only: the strided slice crosses shards.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import _gram
      >>> print(_gram.sample_mean(jnp.arange(4096.0), axis=0))
      2046.0
    """
    n = x.shape[axis]
    sample = lax.slice_in_dim(x, 0, n, stride=max(1, n // _CENTRE_SAMPLE), axis=axis)
    return lax.stop_gradient(jnp.mean(sample, axis=axis))


def _sample_centred(
    parts: tuple[jax.Array, ...], weights: jax.Array | None, ratio: float, chunks: int
) -> CentredGram:
    """Off a mesh: the corrected two-pass sums about a sample's mean, in one read of ``x``.

    ``x`` is ``concatenate(parts, axis=-1)``, joined a chunk at a time; with ``weights``
    ``w`` the sums are ``Σ w dev devᵀ`` (``√w dev`` formed a chunk at a time) and
    ``Σ w dev``, and ``n`` below is ``Σ w``.

    The centre ``c`` is the mean of at most ``_CENTRE_SAMPLE`` rows at an even stride, so
    ``r = mean(x - c)`` is small beside the spread for all but contrived row orders; where
    it is not (``Σ(x - c)² > ratio · Σ(x - mean)²`` for some feature, as the one-pass test
    above, or NaN), the sums are taken again about the mean just found (``c + r``).
    """
    axis = parts[0].ndim - 2
    n = parts[0].shape[axis] if weights is None else jnp.sum(weights, axis=-1)[..., None]
    centre = jnp.concatenate([sample_mean(p, axis=axis) for p in parts], -1)
    arrays = parts if weights is None else (*parts, weights)

    def about(c):
        def part(*chunk):
            dev = jnp.concatenate(chunk[: len(parts)], axis=-1) - c[..., None, :]
            if weights is None:
                return gram(dev), jnp.sum(dev, axis=-2)
            w = chunk[-1][..., :, None]
            return gram(dev * jnp.sqrt(w)), jnp.sum(dev * w, axis=-2)

        g, total = chunked_row_sum(part, arrays, chunks, axis=axis)
        r = total / n
        return c + r, g - _outer_scale(n, r), r

    mean, g, r = about(centre)
    spread = jnp.diagonal(g, axis1=-2, axis2=-1)
    ok = jnp.all(spread + n * r * r <= ratio * spread)  # False on NaN

    def again(_):
        mean2, g2, _ = about(lax.stop_gradient(mean))
        return mean2, g2

    mean, g = lax.cond(ok, lambda _: (mean, g), again, None)
    return CentredGram(mean, g)


def _outer_scale(n, r: jax.Array) -> jax.Array:
    """``n r rᵀ`` for ``r`` ``[..., d]``: ``n`` a count, or a ``[..., 1]`` weight total."""
    scale = n if isinstance(n, int) else n[..., None]
    return scale * (r[..., :, None] * r[..., None, :])


def _chunked_two_pass(x: jax.Array, m1: jax.Array, chunks: int) -> tuple[jax.Array, jax.Array]:
    """The chunked two-pass route: ``(mean, gram)`` from ``chunks`` strided row chunks."""
    n = x.shape[-2]

    def part(xc):
        dev = xc - m1[..., None, :]
        # gram: exactly symmetric, and the triangular blocks for wide data, chunk by chunk
        return gram(dev), jnp.sum(dev, axis=-2)

    g, s = chunked_row_sum(part, (x,), chunks, axis=x.ndim - 2)
    r = s / n
    return m1 + r, g - n * (r[..., :, None] * r[..., None, :])


__all__ = [
    "CHUNK_BYTES",
    "CentredGram",
    "ONE_PASS_RATIO",
    "centred_gram",
    "centring_chunks",
    "chunked_row_sum",
    "default_blocks",
    "gram",
    "row_chunks",
]
