"""Rank and linear independence, from singular values (as ``numpy.linalg.matrix_rank``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _validate


def default_rtol(m: int, n: int, dtype: jnp.dtype) -> float:
    """NumPy's default relative tolerance for ``matrix_rank`` and ``pinv``: ``max(m, n) eps``."""
    return max(m, n) * float(jnp.finfo(dtype).eps)


def singular_value_tolerance(s: jax.Array, m: int, n: int, rtol: float | None) -> jax.Array:
    """``rtol * max(s)``, with :func:`default_rtol` when ``rtol`` is None."""
    if rtol is None:
        rtol = default_rtol(m, n, s.dtype)
    return rtol * jnp.max(s, axis=-1, initial=0.0)


def rank(a: ArrayLike, *, rtol: float | None = None) -> jax.Array:
    """Numerical rank: the number of singular values above ``rtol * max(s)``.

    As ``numpy.linalg.matrix_rank(a, rtol=rtol)``.

    Args:
      a: ``[..., m, n]`` matrices.
      rtol: tolerance relative to the largest singular value; default
        ``max(m, n) * eps`` for the dtype.

    Returns:
      ``[...]`` int32 ranks.

    Raises:
      ValueError: if ``a`` has fewer than 2 dimensions.

    Example:
      >>> linalg.rank(jnp.array([[1.0, 2.0], [2.0, 4.0]]))
      Array(1, dtype=int32)
    """
    a = _validate.matrix(a, "a")
    m, n = a.shape[-2:]
    s = jnp.linalg.svd(a, compute_uv=False)
    tol = singular_value_tolerance(s, m, n, rtol)
    return jnp.sum(s > tol[..., None], axis=-1, dtype=jnp.int32)


def is_linearly_independent(vectors: ArrayLike, *, rtol: float | None = None) -> jax.Array:
    """Whether the ``k`` rows of ``vectors`` are linearly independent (rank equals ``k``).

    Args:
      vectors: ``[..., k, n]``, one vector a row. More than ``n`` vectors are never
        independent.
      rtol: as in :func:`rank`.

    Returns:
      ``[...]`` booleans.

    Raises:
      ValueError: if ``vectors`` has fewer than 2 dimensions.

    Example:
      >>> linalg.is_linearly_independent(jnp.array([[1.0, 0.0], [1.0, 1.0]]))
      Array(True, dtype=bool)
    """
    vectors = _validate.at_least_rank(
        _validate.as_inexact(vectors, "vectors"), 2, "vectors", "a [..., k, n] stack of rows"
    )
    return rank(vectors, rtol=rtol) == vectors.shape[-2]
