"""Binary L2-penalised logistic regression by damped Newton steps.

The solver is split as optimistix's are: :func:`init` builds the :class:`LogisticState`,
:func:`step` takes one damped Newton step, :func:`stop` says when to stop; the compiled
body :func:`_logistic` is a ``lax.while_loop`` over them.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _validate
from .._linesearch import backtrack
from . import _data
from ._data import HI
from ._linear import LinearModel

_ARMIJO = 1e-4
_MAX_HALVINGS = 30
_REUSE = 3  # steps per Hessian


class Problem(NamedTuple):
    """The data of one fit: ``X`` ``[n, d]``, labels ``y`` ``[n]`` (as floats), scalar ``C``."""

    X: jax.Array
    y: jax.Array
    C: jax.Array


class LogisticState(NamedTuple):
    """The Newton iteration's state; ``theta`` is ``[coef, intercept]`` (``[d + 1]``) or ``coef``.

    Attributes:
      n_iter: steps taken.
      theta: ``[p]`` parameters.
      z: ``[n]`` scores ``X @ coef + intercept`` at ``theta`` (updated along each step).
      value: the objective at ``theta``.
      grad: ``[p]`` its gradient.
      stalled: a step with a freshly formed Hessian found no decrease (rounding floor).
      chol: ``[p, p]`` Cholesky factor of the last Hessian formed.
      uses: steps taken with ``chol``; at ``_REUSE`` the next step forms a new Hessian.
    """

    n_iter: jax.Array
    theta: jax.Array
    z: jax.Array
    value: jax.Array
    grad: jax.Array
    stalled: jax.Array
    chol: jax.Array
    uses: jax.Array


@jax.jit
def _binary(y: jax.Array) -> jax.Array:
    return jnp.all((y == 0) | (y == 1))


def _labels01(y: jax.Array) -> None:
    """Concrete labels must be 0 or 1 (one compiled reduction, one device sync)."""
    if _validate.is_concrete(y) and y.size and not bool(_binary(y)):
        raise ValueError(f"y must hold labels 0 and 1 only, got values {jnp.unique(y)}")


def _mask(d: int, fit_intercept: bool, dtype) -> jax.Array:
    """1 on the penalised coefficients, 0 on the intercept."""
    return jnp.ones(d + int(fit_intercept), dtype).at[d:].set(0.0)


def _split(theta: jax.Array, d: int, fit_intercept: bool) -> tuple[jax.Array, jax.Array]:
    return theta[:d], (theta[d] if fit_intercept else jnp.zeros((), theta.dtype))


def _scores(X: jax.Array, theta: jax.Array, fit_intercept: bool) -> jax.Array:
    w, b = _split(theta, X.shape[1], fit_intercept)
    return jnp.matmul(X, w, precision=HI) + b


def _objective(problem: Problem, theta: jax.Array, z: jax.Array, fit_intercept: bool):
    """``C * sum(log(1 + exp(z)) - y z) + 0.5 ||coef||^2`` given the scores ``z``."""
    mask = _mask(problem.X.shape[1], fit_intercept, theta.dtype)
    loss = jnp.sum(jnp.logaddexp(0.0, z) - problem.y * z)
    return problem.C * loss + 0.5 * jnp.sum(mask * theta**2)


def _gradient(problem: Problem, theta: jax.Array, z: jax.Array, fit_intercept: bool):
    X, C = problem.X, problem.C
    r = jax.nn.sigmoid(z) - problem.y
    gw = C * _data.rmatvec(X, r)
    g = jnp.concatenate([gw, C * jnp.sum(r, keepdims=True)]) if fit_intercept else gw
    return g + _mask(X.shape[1], fit_intercept, theta.dtype) * theta


def _hessian(problem: Problem, z: jax.Array, fit_intercept: bool) -> jax.Array:
    X, C = problem.X, problem.C
    h = jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)
    hww = C * jnp.einsum("nd,ne->de", X * h[:, None], X, precision=HI)
    if fit_intercept:
        hwb = C * _data.rmatvec(X, h)
        hbb = C * jnp.sum(h, keepdims=True)
        hww = jnp.block([[hww, hwb[:, None]], [hwb[None, :], hbb[None, :]]])
    return hww + jnp.diag(_mask(X.shape[1], fit_intercept, X.dtype))


def grad_norm(problem: Problem, grad: jax.Array) -> jax.Array:
    """Largest gradient entry of scikit-learn's scaled objective (divided by ``C n``)."""
    return jnp.max(jnp.abs(grad)) / (problem.C * problem.X.shape[0])


def init(problem: Problem, *, fit_intercept: bool) -> LogisticState:
    """The state at the intercept-only fit (usually one Newton step fewer than zeros)."""
    X, y = problem.X, problem.y
    n, d = X.shape
    dtype = X.dtype
    p = d + int(fit_intercept)
    theta = jnp.zeros(p, dtype)
    if fit_intercept:
        frac = jnp.clip(jnp.mean(y), 0.5 / n, 1.0 - 0.5 / n)
        theta = theta.at[d].set(jnp.log(frac) - jnp.log1p(-frac))
    z = jnp.full(n, theta[d] if fit_intercept else 0.0, dtype)
    return LogisticState(
        n_iter=jnp.zeros((), jnp.int32),
        theta=theta,
        z=z,
        value=_objective(problem, theta, z, fit_intercept),
        grad=_gradient(problem, theta, z, fit_intercept),
        stalled=jnp.zeros((), bool),
        chol=jnp.zeros((p, p), dtype),
        uses=jnp.asarray(_REUSE, jnp.int32),
    )


def step(problem: Problem, state: LogisticState, *, fit_intercept: bool) -> LogisticState:
    """One Newton step with Armijo backtracking (:func:`mlmath_jax._linesearch.backtrack`).

    The Hessian (``n d^2``) costs far more than a step (``n d``): it is reused for
    ``_REUSE`` steps (Shamanskii's method) and re-formed early when a step with a stale
    one finds no decrease.
    """
    X = problem.X
    eps = jnp.finfo(X.dtype).eps
    fresh = state.uses >= _REUSE
    chol = lax.cond(
        fresh,
        lambda: jnp.linalg.cholesky(_hessian(problem, state.z, fit_intercept)),
        lambda: state.chol,
    )
    direction = jax.scipy.linalg.cho_solve((chol, True), state.grad)
    # A failed factorisation (Hessian numerically singular) falls back to the gradient.
    direction = jnp.where(jnp.all(jnp.isfinite(direction)), direction, state.grad)
    dz = _scores(X, direction, fit_intercept)

    def phi(t):
        return _objective(problem, state.theta - t * direction, state.z - t * dz, fit_intercept)

    search = backtrack(
        phi,
        state.value,
        -jnp.dot(state.grad, direction),
        c=_ARMIJO,
        slack=16 * eps * jnp.abs(state.value),
        max_halvings=_MAX_HALVINGS,
    )
    stalled = ~search.accepted
    theta = jnp.where(stalled, state.theta, state.theta - search.step * direction)
    z = jnp.where(stalled, state.z, state.z - search.step * dz)
    return LogisticState(
        n_iter=state.n_iter + 1,
        theta=theta,
        z=z,
        value=jnp.where(stalled, state.value, search.value),
        grad=_gradient(problem, theta, z, fit_intercept),
        stalled=stalled & fresh,
        chol=chol,
        uses=jnp.where(stalled, _REUSE, jnp.where(fresh, 1, state.uses + 1)),
    )


def stop(problem: Problem, state: LogisticState, tol: jax.Array, max_iter: int) -> jax.Array:
    """True once the scaled gradient is within ``tol``, ``max_iter`` is reached, or stalled."""
    return (grad_norm(problem, state.grad) <= tol) | (state.n_iter >= max_iter) | state.stalled


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
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> X = jnp.array([[0.0], [1.0], [2.0], [3.0]])
      >>> model = ml.logistic_regression(X, jnp.array([0, 0, 1, 1]))
      >>> print(model.predict(X))
      [0 0 1 1]
      >>> print(model.predict_proba(X[:1]))
      [[0.8... 0.1...]]
    """
    X, y = _data.xy(X, y)
    _labels01(y)
    C = _data.penalty(C, "C", X.dtype, positive=True)
    max_iter = _validate.static_int(max_iter, "max_iter", minimum=1)
    tol = _data.scalar(tol, "tol", X.dtype)
    return _logistic(X, y, C, tol, fit_intercept=bool(fit_intercept), max_iter=max_iter)


@functools.partial(jax.jit, static_argnames=("fit_intercept", "max_iter"))
def _logistic(X, y, C, tol, *, fit_intercept: bool, max_iter: int) -> LinearModel:
    problem = Problem(X, y, C)
    state = lax.while_loop(
        lambda s: ~stop(problem, s, tol, max_iter),
        lambda s: step(problem, s, fit_intercept=fit_intercept),
        init(problem, fit_intercept=fit_intercept),
    )
    coef, intercept = _split(state.theta, X.shape[1], fit_intercept)
    converged = grad_norm(problem, state.grad) <= tol
    return LinearModel(coef, intercept, state.n_iter, converged, kind="logistic")
