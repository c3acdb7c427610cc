"""Inverse, solve, determinants, pseudo-inverse and condition number.

Singular input cannot raise inside ``jit``; instead, as documented per function and
tested: an exactly singular matrix gives ``det`` 0, ``slogdet`` sign 0 and log -inf, and
non-finite entries from ``inv`` and ``solve`` (a zero pivot in the LU factorisation).
A merely ill-conditioned matrix gives finite but inaccurate results, as in NumPy: check
:func:`cond` when in doubt.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _validate
from ._structure import default_rtol


class SlogdetResult(NamedTuple):
    """``sign`` and ``logabsdet`` of a determinant: ``det = sign * exp(logabsdet)``."""

    sign: jax.Array
    logabsdet: jax.Array


def inv(a: ArrayLike) -> jax.Array:
    """Matrix inverse (as ``numpy.linalg.inv``), by LU with partial pivoting.

    Args:
      a: ``[..., n, n]`` square matrices.

    Returns:
      ``[..., n, n]`` inverses. An exactly singular matrix gives non-finite entries
      (NumPy raises ``LinAlgError``, which a jitted function cannot).

    Raises:
      ValueError: if ``a`` is not square.

    Example:
      >>> linalg.inv(jnp.array([[2.0, 0.0], [0.0, 4.0]]))
      Array([[0.5 , 0.  ],
             [0.  , 0.25]], dtype=float32)
    """
    a = _validate.square(a, "a")
    return jnp.linalg.inv(a)


def solve(a: ArrayLike, b: ArrayLike) -> jax.Array:
    """Solve ``a @ x = b`` for ``x`` (as ``numpy.linalg.solve``, NumPy 2 semantics).

    Args:
      a: ``[..., n, n]`` square matrices.
      b: ``[n]`` (one right-hand side, only when ``b`` is 1-D) or ``[..., n, k]``;
        batch dimensions broadcast with ``a``'s.

    Returns:
      ``x`` with ``b``'s trailing shape and the broadcast batch shape. Exactly singular
      ``a`` gives non-finite entries.

    Raises:
      ValueError: if ``a`` is not square, ``b`` is 0-D, or ``b``'s ``n`` differs from ``a``'s.

    Example:
      >>> linalg.solve(jnp.array([[2.0, 0.0], [0.0, 4.0]]), jnp.array([1.0, 2.0]))
      Array([0.5, 0.5], dtype=float32)
    """
    a = _validate.square(a, "a")
    b = _validate.vector(b, "b")
    n = a.shape[-1]
    if b.ndim == 1:
        _validate.same_dim(n, b.shape[0], ("a", "b"), (a.shape, b.shape), "sizes")
        return solve(a, b[:, None])[..., 0]
    _validate.same_dim(n, b.shape[-2], ("a", "b"), (a.shape, b.shape), "sizes",
                       "b is [..., n, k] when it has 2 or more dimensions")
    batch = _validate.batch_shape([a.shape[:-2], b.shape[:-2]], ("a", "b"))
    dtype = jnp.result_type(a, b)
    a = jnp.broadcast_to(a, batch + a.shape[-2:]).astype(dtype)
    b = jnp.broadcast_to(b, batch + b.shape[-2:]).astype(dtype)
    return jnp.linalg.solve(a, b)


def det(a: ArrayLike) -> jax.Array:
    """Determinant (as ``numpy.linalg.det``), by LU; differentiable.

    Args:
      a: ``[..., n, n]`` square matrices.

    Returns:
      ``[...]``. Exactly singular input gives 0. For large ``n`` the determinant
      over- or underflows easily: prefer :func:`slogdet`.

    Raises:
      ValueError: if ``a`` is not square.

    Example:
      >>> linalg.det(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
      Array(-2., dtype=float32)
    """
    return jnp.linalg.det(_validate.square(a, "a"))


def slogdet(a: ArrayLike) -> SlogdetResult:
    """Sign and natural log of the absolute determinant (as ``numpy.linalg.slogdet``).

    Args:
      a: ``[..., n, n]`` square matrices.

    Returns:
      ``SlogdetResult(sign, logabsdet)``, each ``[...]``. Exactly singular input gives
      sign 0 and logabsdet ``-inf``.

    Raises:
      ValueError: if ``a`` is not square.

    Example:
      >>> linalg.slogdet(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
      SlogdetResult(sign=Array(-1., dtype=float32), logabsdet=Array(0.6931472, dtype=float32))
    """
    sign, logabsdet = jnp.linalg.slogdet(_validate.square(a, "a"))
    return SlogdetResult(sign, logabsdet)


def pinv(a: ArrayLike, *, rtol: float | None = None) -> jax.Array:
    """Moore–Penrose pseudo-inverse by SVD (as ``numpy.linalg.pinv(a, rtol=rtol)``).

    Args:
      a: ``[..., m, n]`` matrices.
      rtol: singular values at most ``rtol * max(s)`` are treated as zero; default
        ``max(m, n) * eps`` for the dtype (NumPy's default).

    Returns:
      ``[..., n, m]``.

    Raises:
      ValueError: if ``a`` has fewer than 2 dimensions.

    Example:
      >>> linalg.pinv(jnp.array([[1.0, 0.0], [0.0, 0.0]]))
      Array([[1., 0.],
             [0., 0.]], dtype=float32)
    """
    a = _validate.matrix(a, "a")
    m, n = a.shape[-2:]
    if rtol is None:
        rtol = default_rtol(m, n, a.dtype)
    return jnp.linalg.pinv(a, rtol=rtol)


def cond(a: ArrayLike) -> jax.Array:
    """2-norm condition number ``s_max / s_min`` (as ``numpy.linalg.cond(a)``).

    Args:
      a: ``[..., m, n]`` matrices.

    Returns:
      ``[...]``; ``inf`` for a matrix with a zero singular value.

    Raises:
      ValueError: if ``a`` has fewer than 2 dimensions.

    Example:
      >>> linalg.cond(jnp.array([[2.0, 0.0], [0.0, 0.5]]))
      Array(4., dtype=float32)
    """
    a = _validate.matrix(a, "a")
    s = jnp.linalg.svd(a, compute_uv=False)
    smin = s[..., -1]
    return jnp.where(smin > 0, s[..., 0] / jnp.where(smin > 0, smin, 1), jnp.inf)


