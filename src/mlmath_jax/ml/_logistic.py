"""L2-penalised logistic regression (binary and multinomial) by damped Newton steps.

The solver is split as optimistix's are: :func:`init` builds the :class:`LogisticState`,
:func:`step` takes one damped Newton step, :func:`stop` says when to stop; the compiled
body :func:`_logistic` is a ``lax.while_loop`` over them, wrapped in
:func:`mlmath_jax.optim._implicit.implicit_solution` so that ``jax.grad`` differentiates
the optimality condition instead of the loop. Problems whose Hessian would cost far more
than a gradient (``n p²`` large) are solved by L-BFGS (:func:`mlmath_jax.optim.minimize`)
on the same objective.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from jax.typing import ArrayLike

from .. import _gram, _implicit, _sharding, _validate, optim
from .._linesearch import backtrack
from . import _data, _model
from ._data import HI
from ._linear import LinearModel

_ARMIJO = 1e-4
_MAX_HALVINGS = 30
_REUSE = 3  # steps per Hessian
# Newton's dense Hessian costs n p² (p parameters) per formation; above this many
# multiply-adds, or above _NEWTON_MAX_PARAMS parameters, L-BFGS (n p per step) is used.
_NEWTON_MAX_WORK = 2e9
_NEWTON_MAX_PARAMS = 1024
# The implicit derivative's linear solve forms the Hessian (p JVPs) up to this size.
_DENSE_BACKWARD = 512
_LBFGS = optax.lbfgs(memory_size=20)


class Problem(NamedTuple):
    """The data of one fit.

    Attributes:
      X: ``[n, d]`` design matrix.
      Y: ``[n]`` 0/1 targets (binary) or ``[n, K]`` one-hot targets (multinomial).
      w: ``[n]`` sample weights divided by their sum.
      lam: ``1 / (C · Σ sample_weight)``: the L2 strength of the scaled objective (0 for
        ``C = inf``).
    """

    X: jax.Array
    Y: jax.Array
    w: jax.Array
    lam: jax.Array


class LogisticState(NamedTuple):
    """The Newton iteration's state; ``theta`` is ``[m, d + 1]`` (coef, intercept) or ``[m, d]``.

    ``m`` is 1 for a binary fit and ``K`` for a multinomial one.

    Attributes:
      n_iter: steps taken.
      theta: ``[m, q]`` parameters (``q = d + fit_intercept``).
      z: ``[n, m]`` scores ``X @ coefᵀ + intercept`` at ``theta`` (updated along each step).
      value: the scaled objective at ``theta``.
      grad: ``[m, q]`` its gradient.
      stalled: a step with a freshly formed Hessian found no decrease (rounding floor).
      chol: ``[m q, m q]`` Cholesky factor of the last Hessian formed.
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


# --- the model ---------------------------------------------------------------------------
@functools.partial(_model.register, meta_fields=("kind", "n_classes"))
@dataclasses.dataclass(frozen=True, eq=False)
class LogisticModel(LinearModel):
    """A fitted logistic regression (a :class:`LinearModel` of kind ``"logistic"``).

    Binary fits have ``coef`` ``[..., d]`` and ``intercept`` ``[...]``; multinomial fits
    (``K > 2`` classes) ``coef`` ``[..., K, d]`` and ``intercept`` ``[..., K]`` in
    scikit-learn's symmetric parametrisation (the intercepts sum to 0). A row of ``X``
    holding NaN gets label ``-1`` and NaN probabilities (scikit-learn raises instead).

    Attributes:
      n_classes: ``K`` (static; 2 for a binary fit).
    """

    n_classes: int = 2

    def predict(self, X: ArrayLike) -> jax.Array:
        """Labels ``[..., n]`` (int32): the most probable class, ``-1`` for a NaN row.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> X = jnp.array([[0.0], [1.0], [2.0], [3.0]])
          >>> model = ml.logistic_regression(X, jnp.array([0, 0, 1, 1]))
          >>> print(model.predict(jnp.array([[0.0], [jnp.nan], [3.0]])))
          [ 0 -1  1]
        """
        return _predict(self, _data.design(X, jnp.shape(self.coef)[-1]))

    def predict_proba(self, X: ArrayLike) -> jax.Array:
        """Class probabilities ``[..., n, K]`` (``K = 2`` for a binary fit), NaN for a NaN row.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> X = jnp.array([[0.0], [1.0], [2.0], [3.0]])
          >>> model = ml.logistic_regression(X, jnp.array([0, 0, 1, 1]))
          >>> print(model.predict_proba(jnp.array([[1.5]])))
          [[0.5 0.5]]
        """
        return _predict_proba(self, _data.design(X, jnp.shape(self.coef)[-1]))

    def decision_function(self, X: ArrayLike) -> jax.Array:
        """Scores ``X @ coefᵀ + intercept``: ``[..., n]`` (binary) or ``[..., n, K]``.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> X = jnp.array([[0.0], [1.0], [2.0], [3.0]])
          >>> print(ml.logistic_regression(X, jnp.array([0, 0, 1, 1])).decision_function(X).shape)
          (4,)
        """
        return _scores_of(self, _data.design(X, jnp.shape(self.coef)[-1]))


def _is_multinomial(model: LogisticModel) -> bool:
    return model.n_classes > 2


@jax.jit
def _scores_of(model: LogisticModel, X: jax.Array) -> jax.Array:
    if _is_multinomial(model):
        z = jnp.einsum("nd,...kd->...nk", X, model.coef, precision=HI)
        return z + jnp.asarray(model.intercept)[..., None, :]
    z = jnp.einsum("nd,...d->...n", X, model.coef, precision=HI)
    return z + jnp.asarray(model.intercept)[..., None]


@jax.jit
def _predict_proba(model: LogisticModel, X: jax.Array) -> jax.Array:
    z = _scores_of(model, X)
    if _is_multinomial(model):
        return jax.nn.softmax(z, axis=-1)
    # sigmoid(-z) and sigmoid(z) each computed directly: no 1 - p cancellation.
    return jnp.stack([jax.nn.sigmoid(-z), jax.nn.sigmoid(z)], axis=-1)


@jax.jit
def _predict(model: LogisticModel, X: jax.Array) -> jax.Array:
    z = _scores_of(model, X)
    if _is_multinomial(model):
        labels = jnp.argmax(z, axis=-1).astype(jnp.int32)
        nan = jnp.any(jnp.isnan(z), axis=-1)
    else:
        labels = (z > 0).astype(jnp.int32)
        nan = jnp.isnan(z)
    return jnp.where(nan, -1, labels)


# --- the objective -------------------------------------------------------------------------
def _multinomial(problem: Problem) -> bool:
    return problem.Y.ndim == 2


def _mask(q: int, d: int, dtype) -> jax.Array:
    """1 on the penalised coefficients, 0 on the intercept column."""
    return (jnp.arange(q) < d).astype(dtype)


def _split(theta: jax.Array, d: int, fit_intercept: bool) -> tuple[jax.Array, jax.Array]:
    """``(coef [m, d], intercept [m])``."""
    b = theta[:, d] if fit_intercept else jnp.zeros(theta.shape[0], theta.dtype)
    return theta[:, :d], b


def _scores(X: jax.Array, theta: jax.Array, fit_intercept: bool) -> jax.Array:
    w, b = _split(theta, X.shape[1], fit_intercept)
    return jnp.matmul(X, w.T, precision=HI) + b


def _losses(problem: Problem, z: jax.Array) -> jax.Array:
    """Per-sample negative log-likelihood ``[n]`` at scores ``z`` ``[n, m]``."""
    if _multinomial(problem):
        return jax.nn.logsumexp(z, axis=-1) - jnp.sum(problem.Y * z, axis=-1)
    return jnp.logaddexp(0.0, z[:, 0]) - problem.Y * z[:, 0]


def _penalty(problem: Problem, theta: jax.Array, *, gauge: bool = True) -> jax.Array:
    """``lam/2 ||coef||²``, plus ``1/2 ||Σ_k theta_k||²`` for a multinomial fit (``gauge``).

    The second term is zero at scikit-learn's symmetric solution (the penalty makes the
    coefficients sum to zero over classes; the unpenalised intercepts are shifted so):
    it removes the softmax's one free direction, so the Hessian is positive definite.
    Newton needs it; L-BFGS does without (``gauge=False``): its steps, combinations of
    gradients that sum to zero over classes, never leave the symmetric start's subspace,
    and the term's curvature (``K`` against the data's ``O(1/K)``) slowed it about fourfold.
    """
    d = problem.X.shape[1]
    mask = _mask(theta.shape[1], d, theta.dtype)
    pen = 0.5 * problem.lam * jnp.sum(mask * theta**2)
    if gauge and _multinomial(problem):
        pen = pen + 0.5 * jnp.sum(jnp.sum(theta, axis=0) ** 2)
    return pen


def _objective(problem: Problem, theta: jax.Array, z: jax.Array, *, gauge: bool = True):
    """scikit-learn's scaled objective ``Σ w_i loss_i + lam/2 ||coef||²`` given the scores."""
    losses = _sharding.contract("n,n->", problem.w, _losses(problem, z))
    return losses + _penalty(problem, theta, gauge=gauge)


def objective(
    theta: jax.Array, problem: Problem, fit_intercept: bool, *, gauge: bool = True
) -> jax.Array:
    """The scaled objective at ``theta`` (recomputing the scores)."""
    return _objective(problem, theta, _scores(problem.X, theta, fit_intercept), gauge=gauge)


def _residual(problem: Problem, z: jax.Array) -> jax.Array:
    """``d loss_i / d z_i`` ``[n, m]``."""
    if _multinomial(problem):
        return jax.nn.softmax(z, axis=-1) - problem.Y
    return jax.nn.sigmoid(z) - problem.Y[:, None]


def _gradient(problem: Problem, theta: jax.Array, z: jax.Array, fit_intercept: bool):
    X = problem.X
    r = problem.w[:, None] * _residual(problem, z)
    g = _sharding.contract("nm,nd->md", r, X)
    if fit_intercept:
        g = jnp.concatenate([g, jnp.sum(r, axis=0)[:, None]], axis=1)
    g = g + problem.lam * _mask(theta.shape[1], X.shape[1], theta.dtype) * theta
    if _multinomial(problem):
        g = g + jnp.sum(theta, axis=0)
    return g


def _hessian(problem: Problem, z: jax.Array, fit_intercept: bool) -> jax.Array:
    """The dense ``[m q, m q]`` Hessian of the objective (``n (m q)²`` work).

    With ``x̃ = (x, 1)`` (``(x)`` without an intercept), binary: ``Σ w h x̃ x̃ᵀ`` with
    ``h = σ(z) σ(-z)``; multinomial: ``Σ w (diag(p) - p pᵀ) ⊗ x̃ x̃ᵀ``, which is the block
    diagonal of the ``m`` weighted Gram matrices ``Σ w p_k x̃ x̃ᵀ`` less ``BᵀB`` with rows
    ``√w (p ⊗ x̃)``: one symmetric product, not a product through an ``[n, m, m]``
    operand. Summed over row chunks (:func:`mlmath_jax._gram.chunked_row_sum`), so the
    weighted copies of ``X`` stay in cache (1e5 x 100 binary, 2-core Intel Xeon: 41 -> 25-27 ms).
    """
    X = problem.X
    n, d = X.shape
    q = d + int(fit_intercept)
    multinomial = _multinomial(problem)
    if multinomial:
        weights = jax.nn.softmax(z, axis=-1)  # [n, m]
    else:
        weights = (jax.nn.sigmoid(z) * jax.nn.sigmoid(-z))[:, 0]  # [n]
    m = weights.shape[1] if multinomial else 1

    def chunk(xc, vc, wc) -> Any:
        if fit_intercept:
            xc = jnp.concatenate([xc, jnp.ones_like(xc[:, :1])], axis=1)  # sharded as xc
        if not multinomial:
            return _gram.gram(xc * jnp.sqrt(wc * vc)[:, None])
        diag = _sharding.contract("nk,nd,ne->kde", wc[:, None] * vc, xc, xc)
        rows = jnp.sqrt(wc)[:, None, None] * vc[:, :, None] * xc[:, None, :]
        return diag, _gram.gram(rows.reshape(xc.shape[0], m * q))

    chunks = _gram.row_chunks(X, m * q)
    out = _gram.chunked_row_sum(chunk, (X, weights, problem.w), chunks)
    if multinomial:
        diag, outer = out
        eye = jnp.eye(m, dtype=X.dtype)
        hess = jnp.einsum("kl,kde->kdle", eye, diag).reshape(m * q, m * q) - outer
    else:
        hess = out
    hess = hess + jnp.diag(jnp.tile(problem.lam * _mask(q, d, X.dtype), m))
    if m > 1:
        hess = hess + jnp.kron(jnp.ones((m, m), X.dtype), jnp.eye(q, dtype=X.dtype))
    return hess


def grad_norm(problem: Problem, grad: jax.Array) -> jax.Array:
    """Largest gradient entry of scikit-learn's scaled objective."""
    return jnp.max(jnp.abs(grad))


def _decrement(state: LogisticState) -> jax.Array:
    """Newton decrement ``gᵀ H⁻¹ g / 2`` (≈ objective − optimum) with the last Hessian."""
    g = state.grad.ravel()
    return 0.5 * jnp.dot(g, jax.scipy.linalg.cho_solve((state.chol, True), g))


def converged(problem: Problem, state: LogisticState, tol: jax.Array) -> jax.Array:
    """The gradient is within ``tol`` and the objective within rounding of its minimum.

    The second test (the Newton decrement, an estimate of ``f − f*``, at most
    ``sqrt(eps) |f|``) refuses a point where the gradient is small only because the
    objective is flat: a large ``C`` on separable data, or ``C = inf`` with no minimum.
    """
    eps = jnp.finfo(state.value.dtype).eps
    small = _decrement(state) <= math.sqrt(eps) * jnp.abs(state.value)
    return (grad_norm(problem, state.grad) <= tol) & small


def _start(problem: Problem, fit_intercept: bool) -> jax.Array:
    """The intercept-only fit ``[m, q]`` (usually one Newton step fewer than zeros)."""
    X, Y = problem.X, problem.Y
    n, d = X.shape
    m = Y.shape[1] if _multinomial(problem) else 1
    theta = jnp.zeros((m, d + int(fit_intercept)), X.dtype)
    if fit_intercept:
        tiny = 0.5 / n
        if m == 1:
            frac = jnp.clip(_sharding.contract("n,n->", problem.w, Y), tiny, 1.0 - tiny)
            b = (jnp.log(frac) - jnp.log1p(-frac))[None]
        else:
            logf = jnp.log(jnp.clip(_sharding.contract("n,nk->k", problem.w, Y), tiny, 1.0))
            b = logf - jnp.mean(logf)
        theta = theta.at[:, d].set(b)
    return theta


def init(problem: Problem, *, fit_intercept: bool) -> LogisticState:
    """The state at the intercept-only fit; the first :func:`step` forms a Hessian."""
    theta = _start(problem, fit_intercept)
    z = _scores(problem.X, theta, fit_intercept)  # sharded as X's rows are (one cheap pass)
    p = theta.size
    dtype = problem.X.dtype
    return LogisticState(
        n_iter=jnp.zeros((), jnp.int32),
        theta=theta,
        z=z,
        value=_objective(problem, theta, z),
        grad=_gradient(problem, theta, z, fit_intercept),
        stalled=jnp.zeros((), bool),
        chol=jnp.zeros((p, p), dtype),
        uses=jnp.asarray(_REUSE, jnp.int32),
    )


def step(problem: Problem, state: LogisticState, *, fit_intercept: bool) -> LogisticState:
    """One Newton step with Armijo backtracking (:func:`mlmath_jax._linesearch.backtrack`).

    The Hessian (``n p²``) costs far more than a step (``n p``): it is reused for
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
    g = state.grad.ravel()
    direction = jax.scipy.linalg.cho_solve((chol, True), g)
    # A failed factorisation (Hessian numerically singular) falls back to the gradient.
    direction = jnp.where(jnp.all(jnp.isfinite(direction)), direction, g)
    direction = direction.reshape(state.theta.shape)
    dz = _scores(X, direction, fit_intercept)

    def phi(t):
        return _objective(problem, state.theta - t * direction, state.z - t * dz)

    search = backtrack(
        phi,
        state.value,
        -jnp.vdot(state.grad, direction),
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
    """True once :func:`converged`, ``max_iter`` is reached, or the line search stalled."""
    return converged(problem, state, tol) | (state.n_iter >= max_iter) | state.stalled


# --- the solvers, under implicit differentiation -----------------------------------------
def _newton_solve(fit_intercept: bool, max_iter: int, problem: Problem, data: tuple):
    (tol,) = data
    state = lax.while_loop(
        lambda s: ~stop(problem, s, tol, max_iter),
        lambda s: step(problem, s, fit_intercept=fit_intercept),
        init(problem, fit_intercept=fit_intercept),
    )
    ok = converged(problem, state, tol) & jnp.isfinite(state.value)
    return state.theta, (state.n_iter, ok)


def _objective_with_intercept(theta: jax.Array, problem: Problem) -> jax.Array:
    return objective(theta, problem, True, gauge=False)


def _objective_without_intercept(theta: jax.Array, problem: Problem) -> jax.Array:
    return objective(theta, problem, False, gauge=False)


def _lbfgs_solve(fit_intercept: bool, max_iter: int, problem: Problem, data: tuple):
    """L-BFGS (optax, zoom line search) from the intercept-only start, to ``max|g| <= tol``.

    optim's loop stops on the gradient's 2-norm ``<= tol``, which implies the largest entry
    is; the result reports ``converged`` on the largest entry as the Newton path does. The
    objective has no gauge term (see :func:`_penalty`).
    """
    (tol,) = data
    start = _start(problem, fit_intercept)
    fun = _objective_with_intercept if fit_intercept else _objective_without_intercept
    res = optim.minimize(fun, start, (problem,), optimizer=_LBFGS, max_steps=max_iter, tol=tol)
    g = jax.grad(fun)(res.x, problem)
    ok = (jnp.max(jnp.abs(g)) <= tol) & jnp.all(jnp.isfinite(g))
    return res.x, (res.num_steps, ok)


def _condition(fit_intercept: bool):
    def condition(theta, aux, problem, data):
        return jax.grad(objective)(theta, problem, fit_intercept)

    return condition


def use_newton(n: int, p: int) -> bool:
    """Newton (dense Hessian) for ``p`` parameters and ``n`` rows, else L-BFGS."""
    return p <= _NEWTON_MAX_PARAMS and n * p * p <= _NEWTON_MAX_WORK


@functools.partial(jax.jit, static_argnames=("fit_intercept", "max_iter", "n_classes"))
def _logistic(X, y, sw, C, tol, *, fit_intercept: bool, max_iter: int, n_classes: int):
    n, d = X.shape
    if n_classes > 2:
        Y = (y.astype(jnp.int32)[:, None] == jnp.arange(n_classes)).astype(X.dtype)
    else:
        Y = y
    total = jnp.sum(sw)
    lam = jnp.where(jnp.isinf(C), 0.0, 1.0 / (C * total)).astype(X.dtype)
    problem = Problem(X, Y, sw / total, lam)
    m = n_classes if n_classes > 2 else 1
    p = m * (d + int(fit_intercept))
    solve = _newton_solve if use_newton(n, p) else _lbfgs_solve
    theta, (n_iter, ok) = _implicit.implicit_solution(
        functools.partial(solve, fit_intercept, max_iter),
        _condition(fit_intercept),
        problem,
        (tol,),
        _implicit.ImplicitOptions(symmetric=True, dense=p <= _DENSE_BACKWARD),
    )
    finite = jnp.all(jnp.isfinite(theta)) & jnp.isfinite(objective(theta, problem, fit_intercept))
    # Labels outside 0..K-1 (only traced labels get here: concrete ones raise) give NaN too,
    # e.g. labels 0..9 under jit without n_classes, which is then 2.
    finite = finite & _labels_ok(y, n_classes=n_classes)
    # NaN/inf in the data: no fit (the loop stalls at its start), so NaN coefficients.
    theta = jnp.where(finite, theta, jnp.nan)
    coef, intercept = _split(theta, d, fit_intercept)
    if m == 1:
        coef, intercept = coef[0], intercept[0]
    return LogisticModel(
        coef, intercept, n_iter, ok & finite, kind="logistic", n_classes=m if m > 1 else 2
    )


# --- the public function --------------------------------------------------------------------
@functools.partial(jax.jit, static_argnames="n_classes")
def _labels_ok(y: jax.Array, *, n_classes: int) -> jax.Array:
    if n_classes == 2:  # soft binary targets in [0, 1] are allowed (the loss is linear in y)
        return jnp.all((y >= 0) & (y <= 1))
    return jnp.all((y >= 0) & (y < n_classes) & (y == jnp.round(y)))


@jax.jit
def _max_label(y: jax.Array) -> jax.Array:
    finite = jnp.all(jnp.isfinite(y))
    return jnp.where(finite, jnp.max(y), jnp.nan)


def _classes(y: jax.Array, n_classes: int | None) -> int:
    """The number of classes: ``n_classes``, or ``max(y) + 1`` (at least 2) for concrete y."""
    if n_classes is not None:
        k = _validate.static_int(n_classes, "n_classes", minimum=2)
    elif _validate.is_concrete(y) and y.size:
        top = float(_max_label(y))
        if not math.isfinite(top):
            raise ValueError("y must hold finite class labels 0, ..., K-1, got NaN or inf")
        k = max(2, math.ceil(top) + (top == math.ceil(top)))
    else:
        k = 2
    if _validate.is_concrete(y) and y.size and not bool(_labels_ok(y, n_classes=k)):
        want = "0 and 1" if k == 2 else f"0, ..., {k - 1}"
        raise ValueError(f"y must hold labels {want} only, got values {jnp.unique(y)}")
    return k


def _sample_weight(sample_weight: ArrayLike | None, n: int, dtype) -> jax.Array:
    if sample_weight is None:
        return jnp.ones(n, dtype)
    sw = _data.real(sample_weight, "sample_weight")
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(f"sample_weight must be a [n] = [{n}] vector, got shape {sw.shape}")
    _validate.nonnegative(sw, "sample_weight")
    return sw.astype(dtype)


def _check_C(C: ArrayLike, dtype) -> jax.Array | np.ndarray:
    if isinstance(C, float | int | np.floating | np.integer) and np.isinf(C) and C > 0:
        return np.asarray(np.inf, dtype)
    return _data.penalty(C, "C", dtype, positive=True)


def logistic_regression(
    X: ArrayLike,
    y: ArrayLike,
    *,
    C: ArrayLike = 1.0,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    tol: float = 1e-6,
    max_iter: int = 100,
    n_classes: int | None = None,
) -> LinearModel:
    r"""Logistic regression, as ``sklearn.linear_model.LogisticRegression(C=C)``.

    Minimises scikit-learn's objective

    $$C \sum_i s_i \, \ell_i + \tfrac{1}{2} \|\beta\|^2$$

    ($s$ the sample weights, $\beta$ = ``coef``; the intercept is not penalised), scaled as
    scikit-learn scales it (divided by $C \sum_i s_i$). Binary labels ($K = 2$):
    $\ell_i = \log(1 + e^{z_i}) - y_i z_i$ with $z = X \beta + c$ ($c$ the intercept).
    $K > 2$ classes: multinomial (softmax)
    $\ell_i = \operatorname{logsumexp}(z_i) - z_{i, y_i}$, as scikit-learn's default; the
    intercepts are returned in scikit-learn's symmetric form (summing to 0). ``C = inf``
    means no penalty (scikit-learn's ``penalty=None``).

    Solvers, chosen by size ($p$ parameters, $n$ rows): up to $p = 1024$ and
    $n p^2 \le 2 \cdot 10^9$, Newton's method with Armijo backtracking, Cholesky solves with
    the $p \times p$ Hessian re-formed every third step (Shamanskii) or at once when a step
    with an older one stalls; beyond that L-BFGS (optax, 20 pairs) whose steps cost $n p$.
    It stops when the largest entry of the scaled objective's gradient is at most ``tol``
    (scikit-learn's ``lbfgs`` compares the same quantity with its ``tol``, default 1e-4;
    ours is stricter) and, for Newton, the Newton decrement says the objective is within
    $\sqrt{\varepsilon}$ of its minimum relative to its value, so a flat objective is not
    mistaken for a minimum: with ``C = inf`` (or a huge ``C``) on separable data the
    coefficients grow until ``max_iter`` and ``converged`` is False.

    Differentiable (``jax.grad``, ``jax.jvp``, under ``jit`` and ``vmap``) in ``X``, ``C``,
    ``sample_weight`` and, for binary fits, float labels ``y`` (the loss is linear in them),
    by implicit differentiation of the optimality condition $\nabla f(\theta^*) = 0$ (never
    through the loop): one linear solve with the Hessian (dense LU up to 512 parameters,
    else conjugate gradients on Hessian-vector products). Multinomial labels are discrete
    (no derivative). ``n_iter`` and ``converged`` carry no derivative.

    NaN or inf in ``X`` (or in the weights) gives NaN coefficients and ``converged``
    False. Fitted on a row-sharded ``X`` (explicit or auto mesh), every product over the
    rows is a per-device partial sum and one all-reduce of $p$ (or $p^2$) values.

    Args:
      X: ``[n, d]`` design matrix.
      y: ``[n]`` labels $0, \dots, K - 1$ (integers, booleans or floats); for a binary fit
        also soft targets in ``[0, 1]``.
      C: inverse regularisation strength, scalar ``> 0`` or ``inf``; may be traced
        (``vmap`` over ``C``: there every step forms the Hessian).
      fit_intercept: fit an (unpenalised) intercept; a bool.
      sample_weight: optional ``[n]`` non-negative weights (scikit-learn's).
      tol: gradient tolerance (as above), ``>= 0``.
      max_iter: largest number of steps (``n_iter`` counts them).
      n_classes: ``K`` (static); default ``max(y) + 1`` for concrete labels and 2 under
        ``jit`` (pass it to fit a multinomial model there).

    Returns:
      A :class:`LinearModel` of kind ``"logistic"``: ``predict`` gives labels (``-1`` for
      a row with NaN) and ``predict_proba`` ``[n, K]`` probabilities (``[n, 2]`` for a
      binary fit, columns for class 0 and 1). Binary: ``coef`` ``[d]``, ``intercept``
      scalar; multinomial: ``coef`` ``[K, d]``, ``intercept`` ``[K]``.

    Raises:
      ValueError: if ``X`` is not 2-D, ``y`` has the wrong length, concrete labels are
        not $0, \dots, K - 1$, ``C`` is not a scalar or a concrete ``C`` is not positive,
        ``tol`` is negative.
      TypeError: if ``fit_intercept`` is not a bool.

    References:
      J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006.

      L. Armijo, "Minimization of functions having Lipschitz continuous first partial
      derivatives", Pacific J. Math. 16(1), pp. 1-3, 1966.

      D. C. Liu and J. Nocedal, "On the limited memory BFGS method for large scale
      optimization", Mathematical Programming 45, pp. 503-528, 1989.

      M. Blondel, Q. Berthet, M. Cuturi, R. Frostig, S. Hoyer, F. Llinares-López,
      F. Pedregosa and J.-P. Vert, "Efficient and modular implicit differentiation", Advances
      in Neural Information Processing Systems 35 (NeurIPS), 2022.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> X = jnp.array([[0.0], [1.0], [2.0], [3.0]])
      >>> model = ml.logistic_regression(X, jnp.array([0, 0, 1, 1]))
      >>> print(model.predict(X))
      [0 0 1 1]
      >>> print(model.predict_proba(X[:1]))
      [[0.8... 0.1...]]
      >>> three = ml.logistic_regression(X, jnp.array([0, 1, 2, 2]))
      >>> print(three.coef.shape, three.predict_proba(X).shape)
      (3, 1) (4, 3)

      The fit differentiates in ``C`` (implicitly, not through the loop):

      >>> import jax
      >>> dcoef = jax.grad(lambda c: ml.logistic_regression(X, jnp.array([0, 0, 1, 1]),
      ...                                                   C=c).coef[0])(1.0)
      >>> print(bool(dcoef > 0))
      True
    """
    X, y = _data.xy(X, y)
    fit_intercept = _data.flag(fit_intercept, "fit_intercept")
    k = _classes(y, n_classes)
    C = _check_C(C, X.dtype)
    max_iter = _validate.static_int(max_iter, "max_iter", minimum=1)
    tol_arr = _data.tolerance(tol, "tol", X.dtype)
    sw = _sample_weight(sample_weight, X.shape[0], X.dtype)
    return _logistic(
        X, y, sw, C, tol_arr, fit_intercept=bool(fit_intercept), max_iter=max_iter, n_classes=k
    )
