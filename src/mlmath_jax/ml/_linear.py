"""Linear models: the fitted-model pytree, least squares and ridge regression."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from . import _data, _model
from ._data import HI


@functools.partial(_model.register, meta_fields=("kind",))
@dataclasses.dataclass(frozen=True, eq=False)
class LinearModel:
    """A fitted linear model ``X @ coef + intercept`` (a pytree).

    Returned by :func:`least_squares`, :func:`ridge`, :func:`lasso` and
    :func:`logistic_regression`; ``coef``/``intercept`` match scikit-learn's ``coef_`` and
    ``intercept_`` for the same objective. Fitted under ``vmap`` the fields gain a leading
    batch axis, and :meth:`predict` broadcasts over it. ``==`` is identity (it
    never raises); compare fields with ``jnp.array_equal``.

    Attributes:
      coef: ``[..., d]`` coefficients.
      intercept: ``[...]`` intercept (0 when fitted with ``fit_intercept=False``).
      n_iter: iterations used (0 for closed-form fits).
      converged: whether the solver met its tolerance (always True for closed forms).
      kind: ``"regression"`` or ``"logistic"`` (static): what :meth:`predict` returns.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> model = ml.LinearModel(jnp.array([2.0, -1.0]), jnp.array(0.5))
      >>> print(model.predict(jnp.array([[1.0, 1.0], [0.0, 2.0]])))
      [ 1.5 -1.5]
      >>> logit = ml.LinearModel(jnp.array([1.0]), jnp.array(0.0), kind="logistic")
      >>> print(logit.predict(jnp.array([[-2.0], [3.0]])), logit.predict_proba(jnp.zeros((1, 1))))
      [0 1] [[0.5 0.5]]
    """

    coef: jax.Array
    intercept: jax.Array
    n_iter: Any = 0
    converged: Any = True
    kind: str = "regression"

    def decision_function(self, X: ArrayLike) -> jax.Array:
        """Linear scores ``X @ coef + intercept``: ``[n, d]`` -> ``[..., n]``.

        Example:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> model = ml.LinearModel(jnp.array([1.0, 1.0]), jnp.array(-1.0))
          >>> print(model.decision_function(jnp.array([[1.0, 2.0]])))
          [2.]
        """
        return _decision_function(self, _data.design(X, jnp.shape(self.coef)[-1]))

    def predict(self, X: ArrayLike) -> jax.Array:
        """Predict for ``X`` ``[n, d]`` (as scikit-learn's ``predict``).

        Returns:
          ``[..., n]``: regression values, or for a logistic model integer labels 0/1
          (label 1 where the score is positive).

        Example:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> model = ml.LinearModel(jnp.array([2.0]), jnp.array(1.0))
          >>> print(model.predict(jnp.array([[0.0], [1.0]])))
          [1. 3.]
        """
        return _predict(self, _data.design(X, jnp.shape(self.coef)[-1]))

    def predict_proba(self, X: ArrayLike) -> jax.Array:
        """Class probabilities ``[..., n, 2]`` (columns: class 0, class 1) of a logistic model.

        Raises:
          ValueError: if the model is not a logistic regression.

        Example:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> logit = ml.LinearModel(jnp.array([1.0]), jnp.array(0.0), kind="logistic")
          >>> print(logit.predict_proba(jnp.array([[0.0]])))
          [[0.5 0.5]]
        """
        if self.kind != "logistic":
            raise ValueError("predict_proba needs a model from logistic_regression")
        return _predict_proba(self, _data.design(X, jnp.shape(self.coef)[-1]))


@jax.jit
def _decision_function(model: LinearModel, X: jax.Array) -> jax.Array:
    z = jnp.einsum("nd,...d->...n", X, model.coef, precision=HI)
    return z + jnp.asarray(model.intercept)[..., None]


@jax.jit
def _predict(model: LinearModel, X: jax.Array) -> jax.Array:
    z = _decision_function(model, X)
    if model.kind == "logistic":
        return (z > 0).astype(jnp.int32)
    return z


@jax.jit
def _predict_proba(model: LinearModel, X: jax.Array) -> jax.Array:
    z = _decision_function(model, X)
    # sigmoid(-z) and sigmoid(z) each computed directly: no 1 - p cancellation.
    return jnp.stack([jax.nn.sigmoid(-z), jax.nn.sigmoid(z)], axis=-1)


def _closed(coef: jax.Array, x_mean: jax.Array, y_mean: jax.Array) -> LinearModel:
    return LinearModel(
        coef,
        _data.intercept(coef, x_mean, y_mean),
        jnp.zeros((), jnp.int32),
        jnp.ones((), bool),
    )


def _min_norm_square(r: jax.Array, b: jax.Array, rcond: float) -> jax.Array:
    """Minimum-norm least-squares solution of ``r @ x = b`` by SVD, cutting small values."""
    u, s, vt = jnp.linalg.svd(r, full_matrices=False)
    keep = s > rcond * s[0]
    s_inv = jnp.where(keep, 1.0 / jnp.where(keep, s, 1.0), 0.0)
    return jnp.matmul(vt.T, s_inv * jnp.matmul(u.T, b, precision=HI), precision=HI)


def least_squares(X: ArrayLike, y: ArrayLike, *, fit_intercept: bool = True) -> LinearModel:
    """Ordinary least squares, as ``sklearn.linear_model.LinearRegression``.

    Minimises ``||y - X @ coef - intercept||^2``. The data are centred (intercept not
    penalised, as scikit-learn), then solved stably. For ``n > d``: when the column-scaled
    Gram matrix is well conditioned (``cond(X)^2 * eps < 1e-2``, checked from its
    eigenvalues) by corrected semi-normal equations (a Cholesky solve refined three times
    with residuals of the original ``X``, accurate to ``eps * cond(X)`` like QR at the
    cost of one Gram matrix); otherwise, and for ``d >= n``, by orthogonal factorisations (a
    Householder QR of ``[X, y]`` then an SVD of the ``d x d`` factor, or an SVD of
    ``X``), cutting singular values below ``eps * max(n, d)`` times the largest, so
    collinear columns and ``d > n`` give the minimum-norm solution, as
    ``numpy.linalg.lstsq`` and scikit-learn. Under ``vmap`` both paths run.

    Args:
      X: ``[n, d]`` design matrix.
      y: ``[n]`` targets.
      fit_intercept: fit an (unpenalised) intercept by centring.

    Returns:
      A :class:`LinearModel` with ``coef`` ``[d]`` and scalar ``intercept``.

    Raises:
      ValueError: if ``X`` is not 2-D or ``y`` is not a vector of length ``n``.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> X = jnp.array([[0.0], [1.0], [2.0]])
      >>> model = ml.least_squares(X, jnp.array([1.0, 3.0, 5.0]))
      >>> print(model.coef, model.intercept)
      [2.] 1.0
    """
    X, y = _data.xy(X, y)
    return _least_squares(X, y, fit_intercept=bool(fit_intercept))


@functools.partial(jax.jit, static_argnames="fit_intercept")
def _least_squares(X: jax.Array, y: jax.Array, *, fit_intercept: bool) -> LinearModel:
    n, d = X.shape
    Xc, yc, x_mean, y_mean = _data.center(X, y, fit_intercept)
    rcond = float(jnp.finfo(X.dtype).eps) * max(n, d)
    if n > d:
        coef = _tall_least_squares(Xc, yc, rcond)
    else:
        coef = _min_norm_square(Xc, yc, rcond)
    return _closed(coef, x_mean, y_mean)


def _tall_least_squares(Xc: jax.Array, yc: jax.Array, rcond: float) -> jax.Array:
    """``n > d``: corrected semi-normal equations when safe, else QR + SVD."""
    eps = jnp.finfo(Xc.dtype).eps
    gram = jnp.matmul(Xc.T, Xc, precision=HI)
    norms = jnp.sqrt(jnp.diagonal(gram))
    scale = jnp.where(norms > 0, 1.0 / jnp.where(norms > 0, norms, 1.0), 0.0)
    scaled = gram * scale[:, None] * scale[None, :]
    ev = jnp.linalg.eigvalsh(scaled)
    # Refinement contracts by about cond(X)^2 * eps a step: use it only when that is small.
    safe = ev[0] > 100.0 * eps * ev[-1]

    def semi_normal(_):
        chol = jnp.linalg.cholesky(scaled)

        def solve(rhs):  # (XᵀX)^{-1} rhs through the scaled factor
            return scale * jax.scipy.linalg.cho_solve((chol, True), scale * rhs)

        coef = solve(_data.rmatvec(Xc, yc))
        for _ in range(3):
            resid = yc - jnp.matmul(Xc, coef, precision=HI)
            coef = coef + solve(_data.rmatvec(Xc, resid))
        return coef

    def orthogonal(_):
        # R of [X, y]: its last column is Qᵀy, so Q is never formed.
        d = Xc.shape[1]
        r = jnp.linalg.qr(jnp.concatenate([Xc, yc[:, None]], axis=1), mode="r")
        return _min_norm_square(r[:d, :d], r[:d, d], rcond)

    # Eigenvalues above 100 eps guarantee the Cholesky factorisation succeeds.
    return lax.cond(safe, semi_normal, orthogonal, None)


def ridge(
    X: ArrayLike, y: ArrayLike, alpha: ArrayLike, *, fit_intercept: bool = True
) -> LinearModel:
    """Ridge regression, as ``sklearn.linear_model.Ridge(alpha)``.

    Minimises ``||y - X @ coef - intercept||^2 + alpha * ||coef||^2`` (intercept not
    penalised). Closed form by Cholesky: the primal ``(XᵀX + alpha I) coef = Xᵀy`` when
    ``d <= n``, the dual ``coef = Xᵀ (XXᵀ + alpha I)^{-1} y`` when ``d > n`` (scikit-learn's
    ``solver="cholesky"``). ``alpha`` may be a traced value, so a whole regularisation
    path is one ``jax.vmap`` over alphas (the Gram matrix is formed once).

    Args:
      X: ``[n, d]`` design matrix.
      y: ``[n]`` targets.
      alpha: scalar ``>= 0``. ``alpha = 0`` on rank-deficient ``X`` gives non-finite
        coefficients (use :func:`least_squares`).
      fit_intercept: fit an (unpenalised) intercept by centring.

    Returns:
      A :class:`LinearModel`.

    Raises:
      ValueError: if ``X`` is not 2-D, ``y`` has the wrong length, ``alpha`` is not a
        scalar, or a concrete ``alpha`` is negative.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> X = jnp.array([[0.0], [1.0], [2.0]])
      >>> print(ml.ridge(X, jnp.array([1.0, 3.0, 5.0]), 2.0).coef)
      [1.]
    """
    X, y = _data.xy(X, y)
    alpha = _data.penalty(alpha, "alpha", X.dtype)
    return _ridge(X, y, alpha, fit_intercept=bool(fit_intercept))


@functools.partial(jax.jit, static_argnames="fit_intercept")
def _ridge(X: jax.Array, y: jax.Array, alpha: jax.Array, *, fit_intercept: bool) -> LinearModel:
    n, d = X.shape
    Xc, yc, x_mean, y_mean = _data.center(X, y, fit_intercept)
    if d <= n:
        gram = jnp.matmul(Xc.T, Xc, precision=HI)
        rhs = _data.rmatvec(Xc, yc)
        coef = _spd_shift_solve(gram, alpha, rhs)
    else:
        kernel = jnp.matmul(Xc, Xc.T, precision=HI)
        dual = _spd_shift_solve(kernel, alpha, yc)
        coef = _data.rmatvec(Xc, dual)
    return _closed(coef, x_mean, y_mean)


def _spd_shift_solve(a: jax.Array, shift: jax.Array, b: jax.Array) -> jax.Array:
    """Solve ``(a + shift I) x = b`` for symmetric PSD ``a`` by Cholesky."""
    m = a + shift * jnp.eye(a.shape[0], dtype=a.dtype)
    chol = jnp.linalg.cholesky(m)
    return jax.scipy.linalg.cho_solve((chol, True), b)
