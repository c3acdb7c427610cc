"""Rank and linear independence, from singular values (as ``numpy.linalg.matrix_rank``).

Also the guarded singular values that every SVD-based function in ``linalg`` uses: LAPACK's
SVD may not return on a matrix holding ``inf`` (``pinv`` hung), so such matrices are
replaced by zeros before the factorisation and their singular values come back NaN.
"""

from __future__ import annotations

from typing import cast

import jax
import jax.core
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _validate


def default_rtol(m: int, n: int, dtype: jnp.dtype) -> float:
    """NumPy's default relative tolerance for ``matrix_rank`` and ``pinv``: ``max(m, n) eps``."""
    return max(m, n) * float(jnp.finfo(dtype).eps)


def singular_value_tolerance(s: jax.Array, m: int, n: int, rtol: ArrayLike | None) -> jax.Array:
    """``rtol * max(s)``, with :func:`default_rtol` when ``rtol`` is None."""
    if rtol is None:
        rtol = default_rtol(m, n, s.dtype)
    # A NumPy rtol defers to the jax.Array (__array_priority__): the product is a jax.Array.
    return cast(jax.Array, rtol * jnp.max(s, axis=-1, initial=0.0))


def finite_matrices(a: jax.Array) -> jax.Array:
    """``[...]`` booleans: whether every entry of each ``[m, n]`` matrix is finite."""
    return jnp.all(jnp.isfinite(a), axis=(-2, -1))


def singular_values(a: jax.Array) -> jax.Array:
    """Singular values ``[..., min(m, n)]``, descending; NaN for a matrix with NaN or inf.

    The non-finite matrices are zeroed before the SVD, which then returns at once.
    """
    finite = finite_matrices(a)
    if min(a.shape[-2:]) == 0:
        return jnp.zeros(a.shape[:-2] + (0,), jnp.finfo(a.dtype).dtype)
    s = jnp.linalg.svd(jnp.where(finite[..., None, None], a, 0), compute_uv=False)
    return jnp.where(finite[..., None], s, jnp.nan)


def _check_rtol(rtol: ArrayLike | None) -> ArrayLike | None:
    """``rtol`` checked (a real number or array, >= 0 when known); a list becomes an array.

    A host check for Python numbers and NumPy arrays; a jax.Array costs one transfer.
    """
    return _validate.tolerance(rtol, "rtol", scalar=False, allow_none=True)


def check_rtol_batch(rtol: ArrayLike | None, batch: tuple[int, ...], name: str) -> None:
    """``rtol``'s shape must broadcast with the batch shape of ``name`` (trace time)."""
    if rtol is not None:
        _validate.batch_shape([batch, jnp.shape(rtol)], [name, "rtol"])


def _defined(all_finite: jax.Array, name: str) -> None:
    """For a concrete result, raise if some matrix held NaN or inf (its rank is undefined)."""
    if not isinstance(all_finite, jax.core.Tracer) and not bool(all_finite):
        raise ValueError(f"{name} holds NaN or inf: its rank is undefined")


def rank(a: ArrayLike, *, rtol: ArrayLike | None = None) -> jax.Array:
    """Numerical rank: the number of singular values above ``rtol * max(s)``.

    As ``numpy.linalg.matrix_rank(a, rtol=rtol)``.

    Args:
      a: ``[..., m, n]`` matrices.
      rtol: tolerance relative to the largest singular value (a number or an array that
        broadcasts with the batch shape); default ``max(m, n) * eps`` for the dtype.

    Returns:
      ``[...]`` int32 ranks. Under ``jit`` (where no error can be raised) a matrix holding
      NaN or inf, or a negative or NaN traced ``rtol``, gives rank ``-1``.

    Raises:
      ValueError: if ``a`` has fewer than 2 dimensions, ``rtol`` is negative or NaN, or
        (for concrete input) ``a`` holds NaN or inf.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.rank(jnp.array([[1.0, 2.0], [2.0, 4.0]]))
      Array(1, dtype=int32)
    """
    rtol = _check_rtol(rtol)
    try:
        r, ok = _rank(a, rtol)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a, "rtol": rtol})
        raise
    _defined(ok, "a")
    return r


def _rank_body(
    a: jax.Array, rtol: jax.Array | None, name: str = "a"
) -> tuple[jax.Array, jax.Array]:
    check_rtol_batch(rtol, a.shape[:-2], name)
    m, n = a.shape[-2:]
    s = singular_values(a)
    tol = singular_value_tolerance(s, m, n, rtol)
    r = jnp.sum(s > tol[..., None], axis=-1, dtype=jnp.int32)
    ok = finite_matrices(a)
    if rtol is not None:
        ok_rtol = jnp.asarray(rtol) >= 0
        r = jnp.where(ok_rtol, r, -1)
    return jnp.where(ok, r, -1), jnp.all(ok)


@jax.jit
def _rank(a: jax.Array, rtol: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    return _rank_body(_validate.matrix(a, "a"), rtol)


@jax.jit
def _independent(vectors: jax.Array, rtol: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    vectors = _validate.at_least_rank(
        _validate.as_inexact(vectors, "vectors"), 2, "vectors", "a [..., k, n] stack of rows"
    )
    r, ok = _rank_body(vectors, rtol, "vectors")
    return r == vectors.shape[-2], ok


def is_linearly_independent(vectors: ArrayLike, *, rtol: ArrayLike | None = None) -> jax.Array:
    """Whether the ``k`` rows of ``vectors`` are linearly independent (rank equals ``k``).

    Args:
      vectors: ``[..., k, n]``, one vector a row. More than ``n`` vectors are never
        independent.
      rtol: as in :func:`rank`.

    Returns:
      ``[...]`` booleans. Under ``jit`` a stack holding NaN or inf gives ``False``.

    Raises:
      ValueError: if ``vectors`` has fewer than 2 dimensions, ``rtol`` is negative or NaN,
        or (for concrete input) ``vectors`` holds NaN or inf.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.is_linearly_independent(jnp.array([[1.0, 0.0], [1.0, 1.0]]))
      Array(True, dtype=bool)
    """
    rtol = _check_rtol(rtol)
    try:
        independent, ok = _independent(vectors, rtol)
    except (TypeError, ValueError):
        _validate.explain_call_error({"vectors": vectors, "rtol": rtol})
        raise
    _defined(ok, "vectors")
    return independent
