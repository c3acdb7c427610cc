"""Lasso regression by cyclic coordinate descent with scikit-learn's duality-gap stop.

Gradients (``jax.grad``/``jax.jvp`` in ``alpha``, ``X``, ``y`` and ``sample_weight``) come
from :func:`mlmath_jax.optim._implicit.implicit_solution`: the coordinate-descent loop is
the forward solve and is never differentiated; the derivative is that of the optimality
condition on the active set (below), one conjugate-gradient solve of size ``d``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _sharding, _validate
from .._implicit import ImplicitOptions, implicit_solution
from . import _data
from ._data import HI
from ._linear import LinearModel


def _soft(x: jax.Array, t: jax.Array, positive: bool) -> jax.Array:
    if positive:
        return jnp.maximum(x - t, 0.0)
    return jnp.maximum(x - t, 0.0) + jnp.minimum(x + t, 0.0)


def _gap(
    xtr: jax.Array,
    r_norm2: jax.Array,
    r_dot_y: jax.Array,
    w: jax.Array,
    reg: jax.Array,
    positive: bool,
) -> jax.Array:
    """Duality gap of ``0.5 ||r||^2 + reg ||w||_1`` (scikit-learn's ``cd_fast`` formula).

    ``xtr = Xᵀr`` and ``r = y - X w``; the dual point is ``r`` scaled into the feasible set
    (``max(Xᵀr)`` instead of ``max |Xᵀr|`` with ``positive``, as scikit-learn).
    """
    dual_norm = jnp.max(xtr) if positive else jnp.max(jnp.abs(xtr))
    scale = jnp.where(dual_norm > reg, reg / jnp.where(dual_norm > 0, dual_norm, 1.0), 1.0)
    a_norm2 = r_norm2 * scale**2
    return 0.5 * (r_norm2 + a_norm2) + reg * jnp.sum(jnp.abs(w)) - scale * r_dot_y


def _cd_gram(gram, q, y2, reg, tol, max_iter, positive):
    """Coordinate descent on the Gram matrix: ``O(d^2)`` a sweep (for ``n >= d``)."""
    d = gram.shape[0]
    diag = jnp.diagonal(gram)

    def coordinate(j, carry):
        w, gw, dmax = carry
        wj, gjj = w[j], diag[j]
        rho = q[j] - gw[j] + gjj * wj
        new = jnp.where(gjj > 0, _soft(rho, reg, positive) / jnp.where(gjj > 0, gjj, 1.0), 0.0)
        delta = new - wj
        gw = gw + gram[j] * delta
        return w.at[j].set(new), gw, jnp.maximum(dmax, jnp.abs(delta))

    def gap(w, gw):
        r_norm2 = y2 - 2.0 * jnp.dot(w, q) + jnp.dot(w, gw)
        return _gap(q - gw, r_norm2, y2 - jnp.dot(w, q), w, reg, positive)

    w0 = jnp.zeros(d, gram.dtype)
    return _descend(coordinate, gap, (w0, w0), d, y2, tol, max_iter)


def _cd_residual(Xc, yc, y2, reg, tol, max_iter, positive):
    """Coordinate descent keeping the residual: ``O(n d)`` a sweep (for ``d > n``)."""
    d = Xc.shape[1]
    xt = Xc.T
    norms = jnp.sum(xt * xt, axis=1)

    def coordinate(j, carry):
        w, r, dmax = carry
        wj, njj, xj = w[j], norms[j], xt[j]
        rho = jnp.dot(xj, r, precision=HI) + njj * wj
        new = jnp.where(njj > 0, _soft(rho, reg, positive) / jnp.where(njj > 0, njj, 1.0), 0.0)
        delta = new - wj
        r = r - xj * delta
        return w.at[j].set(new), r, jnp.maximum(dmax, jnp.abs(delta))

    def gap(w, r):
        xtr = _data.rmatvec(Xc, r)
        return _gap(xtr, jnp.dot(r, r), jnp.dot(r, yc), w, reg, positive)

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


# --- implicit differentiation ---------------------------------------------------------------
# At the solution w* with active set A = {j: w*_j != 0}, the lasso's optimality condition is
#   m ⊙ (G (m ⊙ w) - q + reg sign(w*)) + c (1 - m) ⊙ w = 0,   m = 1[A],
# (stationarity on A, w = 0 off it; c > 0 any scale). Its Jacobian in w is
# M G M + c (I - M): symmetric positive definite when G_AA is, so the backward pass is one
# conjugate-gradient solve, inactive coefficients get derivative 0, and the active ones that
# of the smooth problem restricted to A (the derivative of the prox-gradient fixed point,
# whose soft-threshold Jacobian is the same 0/1 mask). ``c`` = the mean of diag(G) keeps CG's
# spectrum in one range.


def _active_condition(matvec_g, q_of):
    def condition(w, aux, theta, data):
        mask, sign, c = aux[2], aux[3], aux[4]
        reg = theta[-1]
        stat = matvec_g(theta, mask * w) - q_of(theta) + reg * sign
        return mask * stat + c * (1.0 - mask) * w

    return condition


def _gram_matvec(theta, v):
    return jnp.matmul(theta[0], v, precision=HI)


def _gram_q(theta):
    return theta[1]


def _residual_matvec(theta, v):
    Xc = theta[0]
    return _data.rmatvec(Xc, jnp.matmul(Xc, v, precision=HI))


def _residual_q(theta):
    return _data.rmatvec(theta[0], theta[1])


def _finish(w, n_iter, done, finite, scale):
    """``(w, aux)`` for :func:`implicit_solution`; NaN data give NaN (stopped at once)."""
    w = jnp.where(finite, w, jnp.nan)
    mask = (w != 0).astype(w.dtype)
    sign = jnp.sign(w)
    return w, (n_iter, done & finite, mask, sign, scale)


def lasso(
    X: ArrayLike,
    y: ArrayLike,
    alpha: ArrayLike,
    *,
    fit_intercept: bool = True,
    positive: bool = False,
    sample_weight: ArrayLike | None = None,
    tol: float = 1e-4,
    max_iter: int = 1000,
) -> LinearModel:
    r"""Lasso regression, as ``sklearn.linear_model.Lasso(alpha)``.

    Minimises, over the coefficients $\beta$ = ``coef`` and the intercept $c$,

    $$\frac{1}{2n} \sum_i w_i \, (y_i - x_i^\top \beta - c)^2 + \alpha \|\beta\|_1$$

    (intercept not penalised; ``sample_weight`` $w$ rescaled to sum to $n$, weighted
    centring and $\sqrt{w}$ row scaling, all as scikit-learn) by cyclic coordinate descent:
    on the Gram matrix $X^\top X$ (formed once, $O(d^2)$ per sweep) when $n \ge d$ or the
    rows are on a device mesh (one $O(d^2)$ all-reduce, no gather of the rows; with an
    intercept or weights off a mesh, one read of ``X`` and ``y`` and no centred or weighted
    copy of ``X``), on the residual otherwise. It stops as scikit-learn does: after a sweep whose
    largest update is below ``tol`` times the largest coefficient, once the duality gap of
    $\frac{1}{2} \|r\|^2 + n \alpha \|\beta\|_1$ is below
    $\text{tol} \cdot \|y - \bar y\|^2$. ``positive=True`` constrains $\beta \ge 0$
    (scikit-learn's ``positive``). NaN or inf in ``X`` or ``y`` stops at once with NaN
    coefficients and ``converged`` False. ``alpha`` may be traced: ``jax.vmap`` over alphas
    fits a path in one call.

    Differentiable (``jax.grad``, ``jax.jvp``, under ``jit`` and ``vmap``) in ``alpha``,
    ``X``, ``y`` and ``sample_weight``, by implicit differentiation of the optimality
    condition at the solution, never through the loop: on the active set
    $A = \{j : \beta_j \ne 0\}$ the stationarity
    $(X^\top X \beta - X^\top y)_{A} + n \alpha \operatorname{sign}(\beta_{A}) = 0$ holds
    and $\beta$ is 0 off it (the fixed point of the prox-gradient map
    $\beta = \operatorname{soft}(\beta - s \nabla f, s n \alpha)$, whose soft threshold has
    the 0/1 Jacobian of $A$). The backward pass costs one conjugate-gradient solve with
    $(X^\top X)_{AA}$ and the products with the Gram statistics: inactive coefficients have
    derivative 0. The derivative is that of the exact solution (tighten ``tol`` for accurate
    gradients) and assumes strict complementarity (no coefficient leaving or entering $A$ at
    ``alpha``). ``n_iter`` and ``converged`` carry no derivative. (scikit-learn has no
    gradients.)

    Args:
      X: ``[n, d]`` design matrix. One data set: for a batch ``[..., n, d]`` use
        ``jax.vmap``.
      y: ``[n]`` targets (one target; see :func:`ridge` for several).
      alpha: scalar ``>= 0``.
      fit_intercept: fit an (unpenalised) intercept by centring (a Python bool).
      positive: constrain the coefficients to be ``>= 0`` (a Python bool).
      sample_weight: optional ``[n]`` non-negative weights (or a scalar), as scikit-learn.
      tol: scikit-learn's ``tol`` (relative update size and scaled duality gap), ``>= 0``.
      max_iter: largest number of sweeps; ``converged`` is False if it is reached.

    Returns:
      A :class:`LinearModel` with ``n_iter`` (sweeps) and ``converged``.

    Raises:
      ValueError: if ``X`` is not 2-D, ``y`` has the wrong length, ``alpha`` or ``tol`` is
        not a scalar, a concrete ``alpha`` or ``tol`` is negative, or ``sample_weight`` is
        malformed.
      TypeError: if ``fit_intercept`` or ``positive`` is not a bool.

    References:
      J. Friedman, T. Hastie and R. Tibshirani, "Regularization paths for generalized linear
      models via coordinate descent", J. Stat. Softw. 33(1), pp. 1-22, 2010.

      M. Blondel, Q. Berthet, M. Cuturi, R. Frostig, S. Hoyer, F. Llinares-López,
      F. Pedregosa and J.-P. Vert, "Efficient and modular implicit differentiation", Advances
      in Neural Information Processing Systems 35 (NeurIPS), 2022.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> X = jnp.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
      >>> y = jnp.array([0.0, 1.0, 2.0, 3.0])
      >>> model = ml.lasso(X, y, 0.1)
      >>> print(model.coef, model.converged)
      [0.92 0.  ] True
      >>> print(jax.grad(lambda a: ml.lasso(X, y, a, tol=1e-8).coef[0])(0.1))
      -0.8
    """
    fit_intercept = _data.flag(fit_intercept, "fit_intercept")
    positive = _data.flag(positive, "positive")
    X, y = _data.xy_targets(X, y, multi=False)
    alpha = _data.penalty(alpha, "alpha", X.dtype)
    max_iter = _validate.static_int(max_iter, "max_iter", minimum=1)
    tol_arr = _data.tolerance(tol, "tol", X.dtype)
    sw = _data.sample_weights(sample_weight, X.shape[0], X.dtype)
    return _lasso(
        X, y, alpha, tol_arr, sw, fit_intercept=fit_intercept, positive=positive, max_iter=max_iter
    )


@functools.partial(jax.jit, static_argnames=("fit_intercept", "positive", "max_iter"))
def _lasso(X, y, alpha, tol, sw, *, fit_intercept: bool, positive: bool, max_iter: int):
    n, d = X.shape
    if sw is not None:
        sw = sw * (n / jnp.sum(sw))  # as scikit-learn: weights summing to n
    reg = alpha * n
    options = ImplicitOptions(symmetric=True)
    if n >= d or _data.on_mesh(X, y):
        gram, q, y2, x_mean, y_mean = _data.normal_equations(X, y, sw, fit_intercept)
        y2 = lax.stop_gradient(y2)

        def solve(theta, data):
            g, qq, r = theta
            finite = _all_finite(g, qq)
            # NaN/inf data: no sweep at all (the loop starts done).
            w, n_iter, done = _cd_gram(
                g, qq, data[0], r, data[1], jnp.where(finite, max_iter, 0), positive
            )
            return _finish(w, n_iter, done, finite, jnp.mean(jnp.diagonal(g)))

        condition = _active_condition(_gram_matvec, _gram_q)
        theta = (gram, q, reg)
    else:
        Xc, yc, x_mean, y_mean = _data.prepare(X, y, sw, fit_intercept)
        y2 = lax.stop_gradient(_sharding.contract("n,n->", yc, yc, precision=HI))

        def solve(theta, data):
            x, yy, r = theta
            finite = _all_finite(x, yy)
            w, n_iter, done = _cd_residual(
                x, yy, data[0], r, data[1], jnp.where(finite, max_iter, 0), positive
            )
            return _finish(w, n_iter, done, finite, jnp.mean(jnp.sum(x * x, axis=0)))

        condition = _active_condition(_residual_matvec, _residual_q)
        theta = (Xc, yc, reg)
    w, (n_iter, done, _, _, _) = implicit_solution(solve, condition, theta, (y2, tol), options)
    return LinearModel(w, _data.intercept(w, x_mean, y_mean), n_iter, done)


def _all_finite(*arrays: jax.Array) -> jax.Array:
    out = jnp.ones((), bool)
    for a in arrays:
        out = out & jnp.all(jnp.isfinite(a))
    return out
