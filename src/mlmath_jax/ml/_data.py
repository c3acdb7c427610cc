"""Input checks and data preparation shared by the ``ml`` estimators.

Validation here runs while tracing (shapes, ranks, dtypes) and so costs nothing on a
repeated call; :func:`prepare` and :func:`intercept` run inside the estimators' compiled
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

from .. import _gram, _sharding, _validate
from .._sharding import on_mesh as on_mesh

# Gram matrices and projections at full precision: TF32 would lose the answer on GPUs.
HI = lax.Precision.HIGHEST


def rmatvec(X: jax.Array, v: jax.Array) -> jax.Array:
    """``Xᵀ v`` written as ``v @ X``: XLA:CPU runs the transposed form several times slower.

    ``v`` is ``[n]`` (or ``[n, t]``: ``[d, t]`` out). The contraction runs over the rows,
    the axis users shard: :func:`mlmath_jax._sharding.contract` gives a replicated result
    on explicit meshes (one all-reduce of ``d`` values, never a gather of the rows).
    """
    if v.ndim == 1:
        return _sharding.contract("n,nd->d", v, X, precision=HI)
    return _sharding.contract("nt,nd->dt", v, X, precision=HI)


def flag(value: Any, name: str) -> bool:
    """A Python ``bool`` option (``fit_intercept``, ``positive``): anything else is a TypeError.

    ``bool("no")`` is True, so a truthy string must not pass for a flag.
    """
    return _validate.bool_option(value, name)


def tolerance(value: ArrayLike, name: str, dtype: Any) -> jax.Array | np.ndarray:
    """A scalar tolerance, checked ``>= 0`` when concrete (as :func:`scalar` otherwise)."""
    arr = scalar(value, name, dtype)
    _validate.nonnegative(value, name)
    return arr


def design_batch_hint(X: ArrayLike) -> jax.Array:
    """:func:`design` whose error for ``[..., n, d]`` input says to use ``jax.vmap``."""
    X = real(X, "X")
    if X.ndim > 2:
        raise ValueError(
            f"X must be a 2-D [n, d] matrix, got shape {X.shape}: an estimator fits one data "
            "set; for a batch of data sets use jax.vmap (e.g. jax.vmap(ml.ridge, "
            "in_axes=(0, 0, None)))"
        )
    return design(X)


def xy_targets(X: ArrayLike, y: ArrayLike, *, multi: bool) -> tuple[jax.Array, jax.Array]:
    """Validate ``X`` ``[n, d]`` and ``y`` ``[n]`` (or ``[n, t]`` when ``multi``)."""
    X = fit_samples(design_batch_hint(X))
    y = real(y, "y")
    if y.ndim not in ((1, 2) if multi else (1,)):
        want = "a 1-D [n] vector or a 2-D [n, t] matrix" if multi else "a 1-D [n] vector"
        raise ValueError(f"y must be {want}, got shape {y.shape}")
    _validate.same_dim(X.shape[0], y.shape[0], ("X", "y"), (X.shape, y.shape), "lengths")
    return X, y.astype(X.dtype)


def sample_weights(sample_weight: ArrayLike | None, n: int, dtype: Any) -> jax.Array | None:
    """``sample_weight`` as a ``[n]`` array of ``dtype`` (None stays None).

    A scalar broadcasts to every row (as scikit-learn). Host (NumPy, list) weights are
    checked ``>= 0`` and finite here; device arrays are not read back (no device work).
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real | np.ndarray | np.generic | list | tuple):
        host = np.asarray(sample_weight)
        if host.dtype.kind in "biuf" and host.size and not np.all(np.isfinite(host) & (host >= 0)):
            raise ValueError(f"sample_weight must be finite and >= 0, got {host}")
    w = real(sample_weight, "sample_weight")
    if w.ndim == 0:
        return jnp.broadcast_to(w.astype(dtype), (n,))
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(
            f"sample_weight must be a scalar or a 1-D [n] vector with n = {n} (the rows of "
            f"X), got shape {w.shape}"
        )
    return w.astype(dtype)


def prepare(
    X: jax.Array, y: jax.Array, sample_weight: jax.Array | None, fit_intercept: bool
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Centre (weighted) and rescale rows by ``sqrt(w)``, as scikit-learn's preprocessing.

    ``sum_i w_i (y_i - x_i·b - c)²`` at the best intercept ``c`` equals
    ``||y_c - X_c b||²`` with ``X_c = sqrt(w) (X - x̄_w)``, ``y_c = sqrt(w) (y - ȳ_w)``
    and the weighted means ``x̄_w``, ``ȳ_w``. ``y`` is ``[n]`` or ``[n, t]``.

    Returns ``(X_c, y_c, x_mean [d], y_mean [] or [t])`` (zero means without an intercept).
    """
    if not fit_intercept:
        x_mean = jnp.zeros(X.shape[1], X.dtype)
        y_mean = jnp.zeros(y.shape[1:], X.dtype)
    else:
        X, y, x_mean, y_mean = _centre(X, y, sample_weight)
    if sample_weight is None:
        return X, y, x_mean, y_mean
    root = jnp.sqrt(sample_weight)
    return X * root[:, None], y * (root if y.ndim == 1 else root[:, None]), x_mean, y_mean


def _centre(
    X: jax.Array, y: jax.Array, w: jax.Array | None
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """``(X - x̄, y - ȳ, x̄, ȳ)`` with (weighted) means accurate to rounding.

    A float sum of ``n`` terms can be off by ``n * eps`` of its size (a constant column's
    mean by hundreds of ulps at a million rows), so the means are sums of deviations from a
    centre near them: a constant column then centres to an ulp of its value, and other
    columns' means are as accurate beside their spread. Off a mesh the centre is the mean of
    a strided sample of rows (no extra read of ``X``); on a mesh, where a strided slice
    would cross shards, it is a first mean of all rows (one more read of ``X``, row-local
    work and a ``d``-vector reduction).
    """
    total = X.shape[0] if w is None else jnp.sum(w)
    if on_mesh(X, y):

        def mean(a):
            if w is None:
                return jnp.mean(a, axis=0)
            spec = "n,nd->d" if a.ndim == 2 else "n,n->"
            return _sharding.contract(spec, w, a, precision=HI) / total

        cx, cy = lax.stop_gradient(mean(X)), lax.stop_gradient(mean(y))
        dx, dy = mean(X - cx), mean(y - cy)
    else:
        cx, cy = _gram.sample_mean(X, axis=0), _gram.sample_mean(y, axis=0)
        weights = jnp.ones(X.shape[0], X.dtype) if w is None else w

        def part(xs, ys, ws):
            # the deviations of cache-sized chunks: X - c is never stored whole
            return jnp.matmul(ws, xs - cx, precision=HI), jnp.matmul(ws, ys - cy, precision=HI)

        sx, sy = _gram.chunked_row_sum(part, (X, y, weights), _gram.row_chunks(X, X.shape[1]))
        dx, dy = sx / total, sy / total
    x_mean, y_mean = cx + dx, cy + dy
    return X - x_mean, y - y_mean, x_mean, y_mean


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


def fit_samples(X: jax.Array) -> jax.Array:
    """A design to fit on needs at least one row (scikit-learn raises too)."""
    if X.ndim >= 1 and X.shape[0] == 0:
        raise ValueError(f"X must have at least one sample (row) to fit, got shape {X.shape}")
    return X


def xy(X: ArrayLike, y: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Validate ``X`` ``[n, d]`` and ``y`` ``[n]``; ``y`` takes ``X``'s float dtype."""
    X = fit_samples(design(X))
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
    # The user's value in the message (not the float32 cast), and one rule per option.
    if positive:
        _validate.positive(value, name)
    else:
        _validate.nonnegative(value, name)
    return arr


def normal_equations(
    X: jax.Array, y: jax.Array, sample_weight: jax.Array | None, fit_intercept: bool
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """The pieces of the normal equations after :func:`prepare`'s centring and scaling.

    ``(X_cᵀX_c [d, d], X_cᵀy_c [d] or [d, t], y_cᵀy_c [] or [t, t], x_mean [d], y_mean)``
    for ``X`` ``[n, d]`` and ``y`` ``[n]`` or ``[n, t]``, as :func:`prepare` then
    ``gram(X_c)``, ``rmatvec(X_c, y_c)``, ``y_cᵀy_c``. Off a mesh no centred or weighted
    copy of ``X`` is stored: with an intercept it is
    :func:`mlmath_jax._gram.centred_gram` of ``[X, y]`` (weighted or not: one read of both,
    joined, centred and scaled by ``√w`` a chunk at a time); weighted without one, the Gram
    of ``√w [X, y]`` summed over row chunks.
    """
    operands = (X, y) if sample_weight is None else (X, y, sample_weight)
    if (fit_intercept or sample_weight is not None) and not on_mesh(*operands):
        d = X.shape[1]
        joined = (X, y[:, None] if y.ndim == 1 else y)
        if fit_intercept:
            mean, g = _gram.centred_gram(*joined, weights=sample_weight)
        else:

            def part(xs, ys, ws):
                return _gram.gram(jnp.concatenate([xs, ys], axis=-1) * jnp.sqrt(ws)[:, None])

            chunks = _gram.row_chunks(X, d + joined[1].shape[1])
            g = _gram.chunked_row_sum(part, (*joined, sample_weight), chunks)
            mean = jnp.zeros(g.shape[0], X.dtype)
        xty, yty, y_mean = g[:d, d:], g[d:, d:], mean[d:]
        if y.ndim == 1:
            xty, yty, y_mean = xty[:, 0], yty[0, 0], y_mean[0]
        return g[:d, :d], xty, yty, mean[:d], y_mean
    Xc, yc, x_mean, y_mean = prepare(X, y, sample_weight, fit_intercept)
    spec = "n,n->" if y.ndim == 1 else "nt,ns->ts"
    yty = _sharding.contract(spec, yc, yc, precision=HI)
    return _gram.gram(Xc), rmatvec(Xc, yc), yty, x_mean, y_mean


def intercept(coef: jax.Array, x_mean: jax.Array, y_mean: jax.Array) -> jax.Array:
    """The intercept that undoes :func:`prepare`: ``y_mean - x_mean · coef``.

    ``coef`` ``[d]`` (scalar intercept) or ``[t, d]`` (``[t]``, several targets).
    """
    return y_mean - jnp.matmul(coef, x_mean, precision=HI)
