"""Inverse, solve, determinants, pseudo-inverse and condition number.

Singular input cannot raise inside ``jit``; instead, as documented per function and
tested: an exactly singular matrix gives ``det`` 0, ``slogdet`` sign 0 and log -inf, and
non-finite entries from ``inv`` and ``solve`` (a zero pivot in the LU factorisation).
A merely ill-conditioned matrix gives finite but inaccurate results, as in NumPy: check
:func:`cond` when in doubt.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _validate
from ._norms import _matrix_body, _matrix_ord
from ._structure import default_rtol, finite_matrices, singular_values


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

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.inv(jnp.array([[2.0, 0.0], [0.0, 4.0]]))
      Array([[0.5 , 0.  ],
             [0.  , 0.25]], dtype=float32)
    """
    try:
        return _inv(a)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a})
        raise


@jax.jit
def _inv(a: jax.Array) -> jax.Array:
    return jnp.linalg.inv(_validate.square(a, "a"))


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

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.solve(jnp.array([[2.0, 0.0], [0.0, 4.0]]), jnp.array([1.0, 2.0]))
      Array([0.5, 0.5], dtype=float32)
    """
    try:
        return _solve(a, b)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a, "b": b})
        raise


@jax.jit
def _solve(a: jax.Array, b: jax.Array) -> jax.Array:
    a = _validate.square(a, "a")
    b = _validate.vector(b, "b")
    n = a.shape[-1]
    if b.ndim == 1:
        _validate.same_dim(n, b.shape[0], ("a", "b"), (a.shape, b.shape), "sizes")
        return _solve(a, b[:, None])[..., 0]
    _validate.same_dim(
        n,
        b.shape[-2],
        ("a", "b"),
        (a.shape, b.shape),
        "sizes",
        "b is [..., n, k] when it has 2 or more dimensions",
    )
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

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.det(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
      Array(-2., dtype=float32)
    """
    try:
        return _det(a)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a})
        raise


@jax.jit
def _det(a: jax.Array) -> jax.Array:
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

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.slogdet(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
      SlogdetResult(sign=Array(-1., dtype=float32), logabsdet=Array(0.6931472, dtype=float32))
    """
    try:
        return _slogdet(a)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a})
        raise


@jax.jit
def _slogdet(a: jax.Array) -> SlogdetResult:
    sign, logabsdet = jnp.linalg.slogdet(_validate.square(a, "a"))
    return SlogdetResult(sign, logabsdet)


def pinv(a: ArrayLike, *, rtol: ArrayLike | None = None) -> jax.Array:
    """Moore–Penrose pseudo-inverse by SVD (as ``numpy.linalg.pinv(a, rtol=rtol)``).

    Args:
      a: ``[..., m, n]`` matrices.
      rtol: singular values at most ``rtol * max(s)`` are treated as zero (a number or an
        array that broadcasts with the batch shape); default ``max(m, n) * eps`` for the
        dtype (NumPy's default).

    Returns:
      ``[..., n, m]``. A matrix holding NaN or inf gives NaN at once (its SVD is skipped),
      as does a negative or NaN ``rtol`` traced under ``jit``.

    Raises:
      ValueError: if ``a`` has fewer than 2 dimensions or a concrete ``rtol`` is negative
        or NaN.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.pinv(jnp.array([[1.0, 0.0], [0.0, 0.0]]))
      Array([[1., 0.],
             [0., 0.]], dtype=float32)
    """
    rtol = _validate.tolerance(rtol, "rtol", scalar=False, allow_none=True)
    try:
        return _pinv(a, rtol)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a, "rtol": rtol})
        raise


@jax.jit
def _pinv(a: jax.Array, rtol: ArrayLike | None) -> jax.Array:
    a = _validate.matrix(a, "a")
    m, n = a.shape[-2:]
    finite = finite_matrices(a)
    ok = finite
    if rtol is None:
        rtol = default_rtol(m, n, a.dtype)
    else:
        rtol = jnp.asarray(rtol)
        _validate.batch_shape([a.shape[:-2], rtol.shape], ["a", "rtol"])
        ok = ok & (rtol >= 0)
        rtol = jnp.where(rtol >= 0, rtol, 0)
    # LAPACK's SVD may not return on inf input: factor zeros there instead.
    p = jnp.linalg.pinv(jnp.where(finite[..., None, None], a, 0), rtol=rtol)
    return jnp.where(ok[..., None, None], p, jnp.nan)


_COND_PS = (None, 1, -1, 2, -2, math.inf, -math.inf, "fro", "nuc")


def cond(a: ArrayLike, p: str | float | None = None) -> jax.Array:
    """Condition number of ``a`` in the norm ``p`` (as ``numpy.linalg.cond``).

    ``p`` None, 2 or -2: the ratio of the largest to the smallest singular value (inverted
    for -2), for any ``[m, n]``; other ``p`` (1, -1, inf, -inf, "fro", "nuc"):
    ``norm(a, p) * norm(inv(a), p)`` for square ``a``.

    Args:
      a: ``[..., m, n]`` matrices (square unless ``p`` is None, 2 or -2).
      p: the norm, as in :func:`matrix_norm`: None (2-norm), 1, -1, 2, -2, inf, -inf,
        "fro" or "nuc".

    Returns:
      ``[...]``, real dtype. A singular matrix gives ``inf`` (as NumPy, a NaN from the
      inversion becomes ``inf`` unless ``a`` held NaN); NaN in ``a`` gives NaN.

    Raises:
      ValueError: for an unknown ``p``, ``a`` with fewer than 2 dimensions, an empty
        matrix (as NumPy's ``LinAlgError``), or non-square ``a`` with ``p`` other than
        None, 2 and -2.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.cond(jnp.array([[2.0, 0.0], [0.0, 0.5]]))
      Array(4., dtype=float32)
      >>> linalg.cond(jnp.array([[1.0, 0.0, 1.0], [0.0, -2.0, 0.0], [0.0, 0.0, 3.0]]), 1)
      Array(4., dtype=float32)
    """
    try:
        return _cond(a, p)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a}, {"p": p})
        raise


@functools.partial(jax.jit, static_argnums=(1,))
def _cond(a: jax.Array, p: str | float | None) -> jax.Array:
    if isinstance(p, bool):
        raise TypeError(f"p must be one of {_COND_PS!r}, got {p!r}")
    _validate.one_of(p, _COND_PS, "p")
    a = _validate.matrix(a, "a")
    m, n = a.shape[-2:]
    if m * n == 0:
        raise ValueError(
            f"a: cond is not defined on empty matrices (as numpy.linalg.cond), got shape {a.shape}"
        )
    if p is None or p in (2, -2):
        s = singular_values(a)
        r = s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    else:
        if m != n:
            raise ValueError(
                f"a must be square [..., n, n] for cond with p={p!r}, got shape {a.shape}"
            )
        p = _matrix_ord(p)
        r = _matrix_body(a, p) * _matrix_body(jnp.linalg.inv(a), p)
    nan_in = jnp.any(jnp.isnan(a), axis=(-2, -1))
    return jnp.where(jnp.isnan(r) & ~nan_in, jnp.inf, r)
