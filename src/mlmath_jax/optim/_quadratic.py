"""Quadratic objectives ``xᵀAx + bᵀx + c`` and their closed-form minimiser."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .. import _validate


def _a_and_b(a: ArrayLike, b: ArrayLike) -> tuple[jax.Array, jax.Array]:
    a = _validate.square(a, "a")
    b = _validate.vector(b, "b")
    _validate.same_dim(a.shape[-1], b.shape[-1], ("a", "b"), (a.shape, b.shape), "dimensions")
    _validate.batch_shape([a.shape[:-2], b.shape[:-1]], ["a", "b"])
    dtype = jnp.result_type(a.dtype, b.dtype)
    return a.astype(dtype), b.astype(dtype)


@jax.jit
def _quadratic_value(x, a, b, c):
    x = _validate.vector(x, "x")
    _validate.same_dim(x.shape[-1], a.shape[-1], ("x", "a"), (x.shape, a.shape), "dimensions")
    quad = jnp.einsum("...i,...ij,...j->...", x, a, x, precision=jax.lax.Precision.HIGHEST)
    return quad + jnp.sum(b * x, axis=-1) + c


def quadratic(a: ArrayLike, b: ArrayLike, c: ArrayLike = 0.0) -> Callable[[ArrayLike], jax.Array]:
    r"""The quadratic function $x \mapsto x^\top A x + b^\top x + c$ (no factor $\frac{1}{2}$).

    The returned function accepts ``x`` of shape ``[..., n]`` and broadcasts batch
    dimensions with those of ``a``, ``b`` and ``c``; it is differentiable, and its gradient
    is $(A + A^\top) \, x + b$. (NumPy: ``x @ a @ x + b @ x + c``.)

    Args:
      a: ``[..., n, n]`` matrix (need not be symmetric; only its symmetric part matters).
      b: ``[..., n]`` vector.
      c: scalar or ``[...]`` constant.

    Returns:
      A callable ``x [..., n] -> [...]``.

    Raises:
      ValueError: if ``a`` is not square, ``b`` is not ``[..., n]``, or the batch
        dimensions do not broadcast (the callable raises if ``x`` is not ``[..., n]``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import optim
      >>> f = optim.quadratic(jnp.eye(2), jnp.array([1.0, 0.0]), 2.0)
      >>> f(jnp.array([1.0, 1.0]))
      Array(5., dtype=float32)
    """
    a, b = _a_and_b(a, b)
    c = _validate.as_real(c, "c").astype(a.dtype)

    def f(x: ArrayLike) -> jax.Array:
        return _quadratic_value(x, a, b, c)

    return f


@jax.jit
def _quadratic_minimizer(a, b):
    """The minimiser and whether every symmetric part had a Cholesky factor."""
    a, b = _a_and_b(_validate.as_real(a, "a"), _validate.as_real(b, "b"))
    sym = 0.5 * (a + jnp.swapaxes(a, -1, -2))
    chol = jnp.linalg.cholesky(sym)
    diag = jnp.diagonal(chol, axis1=-2, axis2=-1)
    ok = jnp.all(jnp.isfinite(chol)) & jnp.all(diag > 0)
    batch = jnp.broadcast_shapes(chol.shape[:-2], b.shape[:-1])
    chol = jnp.broadcast_to(chol, (*batch, *chol.shape[-2:]))
    rhs = jnp.broadcast_to(b, (*batch, b.shape[-1]))[..., None]
    x = jax.scipy.linalg.cho_solve((chol, True), rhs)[..., 0]
    return -0.5 * x, ok


def quadratic_minimizer(a: ArrayLike, b: ArrayLike) -> jax.Array:
    r"""Minimiser $x^* = -(A + A^\top)^{-1} b$ of $x^\top A x + b^\top x$.

    For symmetric $A$ that is $-\frac{1}{2} A^{-1} b$. Solved with a Cholesky factorisation
    of the symmetric part $(A + A^\top)/2$ (``numpy.linalg.solve(a + a.T, -b)``, or
    ``scipy.linalg.cho_solve``). Batched over leading dimensions.

    Args:
      a: ``[..., n, n]`` positive-definite matrix (its symmetric part must be PD).
      b: ``[..., n]`` vector.

    Returns:
      ``[..., n]`` minimiser. Under ``jit``/``vmap`` (traced input) a matrix whose symmetric
      part is not positive definite gives NaN entries (the quadratic then has no minimiser).

    Raises:
      ValueError: on shape errors, and on concrete (untraced) input whose symmetric part
        is not positive definite.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import optim
      >>> optim.quadratic_minimizer(jnp.eye(2), jnp.array([2.0, -4.0]))
      Array([-1.,  2.], dtype=float32)
    """
    x, ok = _validate.call(_quadratic_minimizer, {"a": a, "b": b}, a, b)
    if _validate.is_concrete((a, b)) and not bool(ok):
        raise ValueError(
            f"a must be positive definite (its symmetric part has no Cholesky factor), "
            f"got a of shape {np.shape(a)}"
        )
    return x
