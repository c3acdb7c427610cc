"""Input checks and data preparation shared by the ``ml`` estimators.

Validation here runs while tracing (shapes, ranks, dtypes) and so costs nothing on a
repeated call; :func:`center` and :func:`intercept` run inside the estimators' compiled
bodies.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from .. import _validate

# Gram matrices and projections at full precision: TF32 would lose the answer on GPUs.
HI = lax.Precision.HIGHEST


def rmatvec(X: jax.Array, v: jax.Array) -> jax.Array:
    """``Xᵀ v`` written as ``v @ X``: XLA:CPU runs the transposed form several times slower."""
    return jnp.matmul(v, X, precision=HI)


def real(x: ArrayLike, name: str) -> jax.Array:
    """``x`` as a real floating array (:func:`_validate.as_real`), at no cost when it is one."""
    if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating):
        return x
    return _validate.as_real(x, name)


def design(X: ArrayLike, d: int | None = None) -> jax.Array:
    """Validate a 2-D ``[n, d]`` design matrix (optionally with ``d`` columns)."""
    X = real(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D [n, d] matrix, got shape {X.shape}")
    if d is not None and X.shape[1] != d:
        raise ValueError(f"X must have {d} columns (as the fitted coef), got shape {X.shape}")
    return X


def xy(X: ArrayLike, y: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Validate ``X`` ``[n, d]`` and ``y`` ``[n]``; ``y`` takes ``X``'s float dtype."""
    X = design(X)
    y = real(y, "y")
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D [n] vector, got shape {y.shape}")
    _validate.same_dim(X.shape[0], y.shape[0], ("X", "y"), (X.shape, y.shape), "lengths")
    return X, y.astype(X.dtype)


def scalar(value: ArrayLike, name: str, dtype: Any) -> jax.Array | np.ndarray:
    """A real scalar option in ``dtype`` (``tol``, ``alpha``, ``C``), traced when it is.

    Python numbers and NumPy values stay on the host (a NumPy scalar, which the compiled
    fit takes as an argument): no device work before the fit.
    """
    if isinstance(value, numbers.Real | np.ndarray | np.generic):
        host = np.asarray(value)
        if host.dtype.kind in "biuf":
            if host.ndim != 0:
                raise ValueError(f"{name} must be a scalar, got shape {host.shape}")
            return host.astype(dtype)
    arr = _validate.as_real(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return arr.astype(dtype)


def penalty(
    value: ArrayLike, name: str, dtype: Any, *, positive: bool = False
) -> jax.Array | np.ndarray:
    """A scalar regularisation strength, checked ``>= 0`` (or ``> 0``) when concrete."""
    arr = scalar(value, name, dtype)
    _validate.nonnegative(arr, name)
    if positive:
        _validate.positive(arr, name)
    return arr


def center(
    X: jax.Array, y: jax.Array, fit_intercept: bool
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Centre ``X`` and ``y`` (as scikit-learn does before solving) when fitting an intercept.

    Returns ``(X_centred, y_centred, x_mean, y_mean)`` (zero means without an intercept).
    """
    if not fit_intercept:
        zero = jnp.zeros((), X.dtype)
        return X, y, jnp.zeros(X.shape[1], X.dtype), zero
    x_mean, y_mean = jnp.mean(X, axis=0), jnp.mean(y)
    return X - x_mean, y - y_mean, x_mean, y_mean


def intercept(coef: jax.Array, x_mean: jax.Array, y_mean: jax.Array) -> jax.Array:
    """The intercept that undoes :func:`center`: ``y_mean - x_mean · coef``."""
    return y_mean - jnp.dot(x_mean, coef, precision=HI)
