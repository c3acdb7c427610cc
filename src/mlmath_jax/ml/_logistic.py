"""Binary L2-penalised logistic regression by damped Newton steps."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _validate
from ._linear import _HI, LinearModel, _penalty, _rmatvec, _xy

_ARMIJO = 1e-4
_MAX_HALVINGS = 30
_REUSE = 3  # steps per Hessian


def _labels01(y: jax.Array) -> None:
    """Concrete labels must be 0 or 1."""
    if _validate.is_concrete(y) and y.size:
        ok = bool(jnp.all((y == 0) | (y == 1)))
        if not ok:
            raise ValueError(f"y must hold labels 0 and 1 only, got values {jnp.unique(y)}")


def logistic_regression(
    X: ArrayLike,
    y: ArrayLike,
    *,
    C: ArrayLike = 1.0,
    fit_intercept: bool = True,
    tol: float = 1e-6,
    max_iter: int = 100,
) -> LinearModel:
    """Binary logistic regression, as ``sklearn.linear_model.LogisticRegression(C=C)``.

    Minimises ``C * sum_i log(1 + exp(-s_i z_i)) + 0.5 ||coef||^2`` with
    ``z = X @ coef + intercept`` and ``s_i = 2 y_i - 1`` (the intercept is not penalised),
    by Newton's method with Armijo backtracking (so it converges from any start): Cholesky
    solves with the ``(d + 1) x (d + 1)`` Hessian, which is re-formed every third step
    (Shamanskii's variant: the ``n d^2`` Hessian costs far more than an ``n d`` step), or
    at once when a step with an older one stalls. It stops when the largest gradient entry
    of scikit-learn's scaled objective (the above divided by ``C n``) is at most ``tol``,
    the quantity scikit-learn's ``lbfgs`` compares with its ``tol`` (default 1e-4; ours is
    stricter, as the last steps are cheap). ``C`` may be traced (``vmap`` over ``C``;
    there every step forms the Hessian).

    Args:
      X: ``[n, d]`` design matrix.
      y: ``[n]`` labels 0/1 (integers, booleans or floats).
      C: inverse regularisation strength, scalar ``> 0``.
      fit_intercept: fit an (unpenalised) intercept.
      tol: gradient tolerance (as above).
      max_iter: largest number of steps (``n_iter`` counts them); ``converged`` is False
        if it is reached or the line search stalls (float32 rounding) before ``tol``.

    Returns:
      A :class:`LinearModel` of kind ``"logistic"``: ``predict`` gives labels 0/1 and
      ``predict_proba`` ``[n, 2]`` probabilities of class 0 and 1.

    Raises:
      ValueError: if ``X`` is not 2-D, ``y`` has the wrong length, concrete labels are
        not 0/1, ``C`` is not a scalar or a concrete ``C`` is not positive.

    Example:
      >>> X = jnp.array([[0.0], [1.0], [2.0], [3.0]])
      >>> model = ml.logistic_regression(X, jnp.array([0, 0, 1, 1]))
      >>> print(model.predict(X))
      [0 0 1 1]
      >>> print(model.predict_proba(X[:1]))
      [[0.8... 0.1...]]
    """
    X, y = _xy(X, y)
    _labels01(y)
    C = _penalty(C, "C", X.dtype)
    _validate.positive(C, "C")
    max_iter = _validate.static_int(max_iter, "max_iter", minimum=1)
    tol = jnp.asarray(tol, X.dtype)
    return _logistic(X, y, C, tol, fit_intercept=bool(fit_intercept), max_iter=max_iter)


@functools.partial(jax.jit, static_argnames=("fit_intercept", "max_iter"))
def _logistic(X, y, C, tol, *, fit_intercept: bool, max_iter: int) -> LinearModel:
    n, d = X.shape
    dtype = X.dtype
    p = d + 1 if fit_intercept else d
    mask = jnp.ones(p, dtype).at[d:].set(0.0)
    scale = 1.0 / (C * n)
    eps = jnp.finfo(dtype).eps

    def split(theta):
        return theta[:d], (theta[d] if fit_intercept else jnp.zeros((), dtype))

    def scores(theta):
        w, b = split(theta)
        return jnp.matmul(X, w, precision=_HI) + b

    def value(theta, z):
        loss = jnp.sum(jnp.logaddexp(0.0, z) - y * z)
        return C * loss + 0.5 * jnp.sum(mask * theta**2)

    def gradient(theta, z):
        r = jax.nn.sigmoid(z) - y
        gw = C * _rmatvec(X, r)
        g = jnp.concatenate([gw, C * jnp.sum(r, keepdims=True)]) if fit_intercept else gw
        return g + mask * theta

    def hessian(z):
        h = jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)
        hww = C * jnp.einsum("nd,ne->de", X * h[:, None], X, precision=_HI)
        if fit_intercept:
            hwb = C * _rmatvec(X, h)
            hbb = C * jnp.sum(h, keepdims=True)
            hww = jnp.block([[hww, hwb[:, None]], [hwb[None, :], hbb[None, :]]])
        return hww + jnp.diag(mask)

    def gnorm(g):
        return jnp.max(jnp.abs(g)) * scale

    def cond(state):
        it, _, _, _, g, stalled, _, _ = state
        return (it < max_iter) & (gnorm(g) > tol) & ~stalled

    def body(state):
        it, theta, z, f, g, _, chol, uses = state
        # The Hessian (n d^2) costs far more than a step (n d): reuse it for _REUSE steps
        # (Shamanskii's method), refreshing early if a step with a stale one stalls.
        fresh = uses >= _REUSE
        chol = lax.cond(fresh, lambda: jnp.linalg.cholesky(hessian(z)), lambda: chol)
        step = jax.scipy.linalg.cho_solve((chol, True), g)
        # A failed factorisation (Hessian numerically singular) falls back to the gradient.
        step = jnp.where(jnp.all(jnp.isfinite(step)), step, g)
        dz = scores(step)
        slope = jnp.dot(g, step)
        slack = 16 * eps * jnp.abs(f)

        def ls_cond(ls):
            t, f_new, k = ls
            return (f_new > f - _ARMIJO * t * slope + slack) & (k < _MAX_HALVINGS)

        def ls_body(ls):
            t, _, k = ls
            t = 0.5 * t
            return t, value(theta - t * step, z - t * dz), k + 1

        one = jnp.ones((), dtype)
        t, f_new, k = lax.while_loop(
            ls_cond, ls_body, (one, value(theta - step, z - dz), jnp.zeros((), jnp.int32))
        )
        stalled = (k >= _MAX_HALVINGS) | ~jnp.isfinite(f_new)
        theta_new = jnp.where(stalled, theta, theta - t * step)
        z_new = jnp.where(stalled, z, z - t * dz)
        f_new = jnp.where(stalled, f, f_new)
        g_new = gradient(theta_new, z_new)
        uses = jnp.where(stalled, _REUSE, jnp.where(fresh, 1, uses + 1))
        return it + 1, theta_new, z_new, f_new, g_new, stalled & fresh, chol, uses

    theta0 = jnp.zeros(p, dtype)
    if fit_intercept:  # start from the intercept-only fit: usually one Newton step fewer
        frac = jnp.clip(jnp.mean(y), 0.5 / n, 1.0 - 0.5 / n)
        theta0 = theta0.at[d].set(jnp.log(frac) - jnp.log1p(-frac))
    z0 = jnp.full(n, theta0[d] if fit_intercept else 0.0, dtype)
    state = (
        jnp.zeros((), jnp.int32),
        theta0,
        z0,
        value(theta0, z0),
        gradient(theta0, z0),
        jnp.zeros((), bool),
        jnp.zeros((p, p), dtype),
        jnp.asarray(_REUSE, jnp.int32),
    )
    n_iter, theta, _, _, g, _, _, _ = lax.while_loop(cond, body, state)
    w, b = split(theta)
    return LinearModel(w, b, n_iter, gnorm(g) <= tol, kind="logistic")
