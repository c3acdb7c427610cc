"""Products: matmul, matvec, inner, outer (NumPy semantics, validated, full precision).

Each public function calls one module-level jitted function directly, so a repeated eager
call costs what the ``jnp`` call costs: shape checks run inside it, once per trace.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _sharding, _validate

PrecisionLike = str | lax.Precision | None

_PRECISIONS = ("highest", "high", "default", "tensorfloat32", "bfloat16_3x", "float32")


def _precision(precision: PrecisionLike) -> PrecisionLike:
    if precision is None or isinstance(precision, lax.Precision):
        return precision
    return _validate.one_of(precision, _PRECISIONS, "precision")


def matmul(a: ArrayLike, b: ArrayLike, *, precision: PrecisionLike = "highest") -> jax.Array:
    """Matrix product ``a @ b`` with batch broadcasting (as ``numpy.matmul``).

    Args:
      a: ``[..., m, k]`` matrices.
      b: ``[..., k, n]`` matrices; batch dimensions broadcast with ``a``'s.
      precision: XLA precision. The default ``"highest"`` keeps full float32 accuracy on
        GPUs and TPUs, where ``"default"`` may use TF32/bfloat16 passes (faster, about
        three decimal digits).

    Returns:
      ``[..., m, n]``.

    Raises:
      ValueError: if either argument has fewer than 2 dimensions or the inner dimensions
        differ.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.matmul(jnp.eye(2), jnp.array([[1.0, 2.0], [3.0, 4.0]]))
      Array([[1., 2.],
             [3., 4.]], dtype=float32)
    """
    try:
        return _matmul(a, b, precision)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a, "b": b}, {"precision": precision})
        raise


@functools.partial(jax.jit, static_argnums=(2,))
def _matmul(a: jax.Array, b: jax.Array, precision: PrecisionLike) -> jax.Array:
    a = _validate.matrix(a, "a")
    b = _validate.matrix(b, "b")
    _validate.same_dim(a.shape[-1], b.shape[-2], ("a", "b"), (a.shape, b.shape), "inner dimensions")
    _validate.batch_shape([a.shape[:-2], b.shape[:-2]], ("a", "b"))
    # A sharded contracted axis on an explicit mesh needs an output sharding (one
    # all-reduce of the [..., m, n] result); elsewhere JAX decides, as for jnp.matmul.
    return jnp.matmul(
        a, b, precision=_precision(precision), out_sharding=_sharding.product_out_sharding(a, b)
    )


def matvec(a: ArrayLike, x: ArrayLike, *, precision: PrecisionLike = "highest") -> jax.Array:
    """Matrix-vector product ``a @ x`` with batch broadcasting.

    Args:
      a: ``[..., m, n]`` matrices.
      x: ``[..., n]`` vectors; batch dimensions broadcast with ``a``'s.
      precision: as in :func:`matmul`.

    Returns:
      ``[..., m]``.

    Raises:
      ValueError: if ``a`` is not at least 2-D, ``x`` not at least 1-D, or ``n`` differs.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.matvec(jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.array([1.0, 1.0]))
      Array([3., 7.], dtype=float32)
    """
    try:
        return _matvec(a, x, precision)
    except (TypeError, ValueError):
        _validate.explain_call_error({"a": a, "x": x}, {"precision": precision})
        raise


@functools.partial(jax.jit, static_argnums=(2,))
def _matvec(a: jax.Array, x: jax.Array, precision: PrecisionLike) -> jax.Array:
    a = _validate.matrix(a, "a")
    x = _validate.vector(x, "x")
    _validate.same_dim(a.shape[-1], x.shape[-1], ("a", "x"), (a.shape, x.shape), "inner dimensions")
    _validate.batch_shape([a.shape[:-2], x.shape[:-1]], ("a", "x"))
    return jnp.einsum(
        "...mn,...n->...m",
        a,
        x,
        precision=_precision(precision),
        out_sharding=_sharding.product_out_sharding(a, x, vector=True),
    )


def inner(x: ArrayLike, y: ArrayLike, *, precision: PrecisionLike = "highest") -> jax.Array:
    """Inner product over the last axis, without conjugation (as ``numpy.inner`` on vectors).

    Args:
      x: ``[..., n]``.
      y: ``[..., n]``; batch dimensions broadcast with ``x``'s.
      precision: as in :func:`matmul`.

    Returns:
      ``[...]``: ``sum(x * y, axis=-1)``.

    Raises:
      ValueError: if either is 0-D or the last dimensions differ.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.inner(jnp.array([1.0, 2.0, 3.0]), jnp.array([4.0, 5.0, 6.0]))
      Array(32., dtype=float32)
    """
    try:
        return _inner(x, y, precision)
    except (TypeError, ValueError):
        _validate.explain_call_error({"x": x, "y": y}, {"precision": precision})
        raise


@functools.partial(jax.jit, static_argnums=(2,))
def _inner(x: jax.Array, y: jax.Array, precision: PrecisionLike) -> jax.Array:
    x = _validate.vector(x, "x")
    y = _validate.vector(y, "y")
    _validate.same_dim(x.shape[-1], y.shape[-1], ("x", "y"), (x.shape, y.shape), "last dimensions")
    _validate.batch_shape([x.shape[:-1], y.shape[:-1]], ("x", "y"))
    return jnp.einsum("...n,...n->...", x, y, precision=_precision(precision))


def outer(x: ArrayLike, y: ArrayLike) -> jax.Array:
    """Outer product of vectors, batched (as ``numpy.outer`` on 1-D input).

    Args:
      x: ``[..., m]``.
      y: ``[..., n]``; batch dimensions broadcast with ``x``'s.

    Returns:
      ``[..., m, n]`` with entries ``x[..., i] * y[..., j]``.

    Raises:
      ValueError: if either is 0-D or the batch dimensions do not broadcast.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import linalg
      >>> linalg.outer(jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0, 5.0]))
      Array([[ 3.,  4.,  5.],
             [ 6.,  8., 10.]], dtype=float32)
    """
    try:
        return _outer(x, y)
    except (TypeError, ValueError):
        _validate.explain_call_error({"x": x, "y": y})
        raise


@jax.jit
def _outer(x: jax.Array, y: jax.Array) -> jax.Array:
    x = _validate.vector(x, "x")
    y = _validate.vector(y, "y")
    _validate.batch_shape([x.shape[:-1], y.shape[:-1]], ("x", "y"))
    return x[..., :, None] * y[..., None, :]
