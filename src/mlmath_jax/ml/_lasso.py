"""Lasso regression by cyclic coordinate descent with scikit-learn's duality-gap stop."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _validate
from . import _data
from ._data import HI
from ._linear import LinearModel


def _soft(x: jax.Array, t: jax.Array) -> jax.Array:
    return jnp.maximum(x - t, 0.0) + jnp.minimum(x + t, 0.0)


def _gap(
    xtr: jax.Array, r_norm2: jax.Array, r_dot_y: jax.Array, w: jax.Array, reg: jax.Array
) -> jax.Array:
    """Duality gap of ``0.5 ||r||^2 + reg ||w||_1`` (scikit-learn's ``cd_fast`` formula).

    ``xtr = Xᵀr`` and ``r = y - X w``; the dual point is ``r`` scaled into the feasible set.
    """
    dual_norm = jnp.max(jnp.abs(xtr))
    scale = jnp.where(dual_norm > reg, reg / jnp.where(dual_norm > 0, dual_norm, 1.0), 1.0)
    a_norm2 = r_norm2 * scale**2
    return 0.5 * (r_norm2 + a_norm2) + reg * jnp.sum(jnp.abs(w)) - scale * r_dot_y


def _cd_gram(Xc, yc, reg, tol, max_iter):
    """Coordinate descent on the Gram matrix: ``O(d^2)`` a sweep (for ``n >= d``)."""
    d = Xc.shape[1]
    gram = jnp.matmul(Xc.T, Xc, precision=HI)
    q = _data.rmatvec(Xc, yc)
    y2 = jnp.dot(yc, yc, precision=HI)
    diag = jnp.diagonal(gram)

    def coordinate(j, carry):
        w, gw, dmax = carry
        wj, gjj = w[j], diag[j]
        rho = q[j] - gw[j] + gjj * wj
        new = jnp.where(gjj > 0, _soft(rho, reg) / jnp.where(gjj > 0, gjj, 1.0), 0.0)
        delta = new - wj
        gw = gw + gram[j] * delta
        return w.at[j].set(new), gw, jnp.maximum(dmax, jnp.abs(delta))

    def gap(w, gw):
        r_norm2 = y2 - 2.0 * jnp.dot(w, q) + jnp.dot(w, gw)
        return _gap(q - gw, r_norm2, y2 - jnp.dot(w, q), w, reg)

    w0 = jnp.zeros(d, Xc.dtype)
    return _descend(coordinate, gap, (w0, w0), d, y2, tol, max_iter)


def _cd_residual(Xc, yc, reg, tol, max_iter):
    """Coordinate descent keeping the residual: ``O(n d)`` a sweep (for ``d > n``)."""
    d = Xc.shape[1]
    xt = Xc.T
    norms = jnp.sum(xt * xt, axis=1)
    y2 = jnp.dot(yc, yc, precision=HI)

    def coordinate(j, carry):
        w, r, dmax = carry
        wj, njj, xj = w[j], norms[j], xt[j]
        rho = jnp.dot(xj, r, precision=HI) + njj * wj
        new = jnp.where(njj > 0, _soft(rho, reg) / jnp.where(njj > 0, njj, 1.0), 0.0)
        delta = new - wj
        r = r - xj * delta
        return w.at[j].set(new), r, jnp.maximum(dmax, jnp.abs(delta))

    def gap(w, r):
        xtr = _data.rmatvec(Xc, r)
        return _gap(xtr, jnp.dot(r, r), jnp.dot(r, yc), w, reg)

    return _descend(coordinate, gap, (jnp.zeros(d, Xc.dtype), yc), d, y2, tol, max_iter)


def _descend(coordinate, gap, init, d, y2, tol, max_iter):
    """Sweep until scikit-learn's test passes: small updates, then gap < ``tol * ||y||^2``."""
    dtype = init[0].dtype
    gap_tol = tol * y2
    zero = jnp.zeros((), dtype)

    def cond(state):
        it, _, _, done = state
        return (it < max_iter) & ~done

    def body(state):
        it, w, aux, _ = state
        w, aux, dmax = lax.fori_loop(0, d, coordinate, (w, aux, zero))
        wmax = jnp.max(jnp.abs(w), initial=0.0)
        small = (wmax == 0) | (dmax < tol * wmax) | (it == max_iter - 1)
        done = small & (gap(w, aux) <= gap_tol)
        return it + 1, w, aux, done

    state = (jnp.zeros((), jnp.int32), *init, jnp.zeros((), bool))
    n_iter, w, _, done = lax.while_loop(cond, body, state)
    return w, n_iter, done


def lasso(
    X: ArrayLike,
    y: ArrayLike,
    alpha: ArrayLike,
    *,
    fit_intercept: bool = True,
    tol: float = 1e-4,
    max_iter: int = 1000,
) -> LinearModel:
    """Lasso regression, as ``sklearn.linear_model.Lasso(alpha)``.

    Minimises ``(1 / (2 n)) ||y - X @ coef - intercept||^2 + alpha ||coef||_1`` (intercept
    not penalised) by cyclic coordinate descent: on the Gram matrix ``XᵀX`` (formed once,
    ``O(d^2)`` per sweep) when ``n >= d``, on the residual otherwise. It stops as
    scikit-learn does: after a sweep whose largest update is below ``tol`` times the largest
    coefficient, once the duality gap of ``0.5 ||r||^2 + n alpha ||coef||_1`` is below
    ``tol * ||y - mean(y)||^2``. ``alpha`` may be traced: ``jax.vmap`` over alphas fits a
    path in one call.

    Args:
      X: ``[n, d]`` design matrix.
      y: ``[n]`` targets.
      alpha: scalar ``>= 0``.
      fit_intercept: fit an (unpenalised) intercept by centring.
      tol: scikit-learn's ``tol`` (relative update size and scaled duality gap).
      max_iter: largest number of sweeps; ``converged`` is False if it is reached.

    Returns:
      A :class:`LinearModel` with ``n_iter`` (sweeps) and ``converged``.

    Raises:
      ValueError: if ``X`` is not 2-D, ``y`` has the wrong length, ``alpha`` is not a
        scalar, or a concrete ``alpha`` is negative.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> X = jnp.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
      >>> model = ml.lasso(X, jnp.array([0.0, 1.0, 2.0, 3.0]), 0.1)
      >>> print(model.coef, model.converged)
      [0.92 0.  ] True
    """
    X, y = _data.xy(X, y)
    alpha = _data.penalty(alpha, "alpha", X.dtype)
    max_iter = _validate.static_int(max_iter, "max_iter", minimum=1)
    tol = _data.scalar(tol, "tol", X.dtype)
    return _lasso(X, y, alpha, tol, fit_intercept=bool(fit_intercept), max_iter=max_iter)


@functools.partial(jax.jit, static_argnames=("fit_intercept", "max_iter"))
def _lasso(X, y, alpha, tol, *, fit_intercept: bool, max_iter: int) -> LinearModel:
    n, d = X.shape
    Xc, yc, x_mean, y_mean = _data.center(X, y, fit_intercept)
    solver = _cd_gram if n >= d else _cd_residual
    w, n_iter, done = solver(Xc, yc, alpha * n, tol, max_iter)
    return LinearModel(w, _data.intercept(w, x_mean, y_mean), n_iter, done)
