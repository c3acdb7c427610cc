"""Linear models: the fitted-model pytree, least squares and ridge regression."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from .. import _gram
from . import _data, _model
from ._data import HI


@functools.partial(_model.register, meta_fields=("kind", "multi_target"))
@dataclasses.dataclass(frozen=True, eq=False)
class LinearModel:
    """A fitted linear model ``X @ coef + intercept`` (a pytree).

    Returned by :func:`least_squares`, :func:`ridge`, :func:`lasso` and
    :func:`logistic_regression`; ``coef``/``intercept`` match scikit-learn's ``coef_`` and
    ``intercept_`` for the same objective. Fitted under ``vmap`` the fields gain a leading
    batch axis, and :meth:`predict` broadcasts over it. ``==`` is identity (it
    never raises); compare fields with ``jnp.array_equal``.

    Attributes:
      coef: ``[..., d]`` coefficients, or ``[..., t, d]`` for ``t`` targets (a 2-D ``y``)
        or ``K`` classes (multinomial), as scikit-learn's ``coef_``.
      intercept: ``[...]`` intercept (0 when fitted with ``fit_intercept=False``), or
        ``[..., t]`` / ``[..., K]``.
      n_iter: iterations used (0 for closed-form fits).
      converged: whether the solver met its tolerance (always True for closed forms).
      kind: ``"regression"``, ``"logistic"`` (binary) or ``"multinomial"`` (static): what
        :meth:`predict` returns.
      multi_target: (static) ``coef`` has a target axis ``[..., t, d]``: :meth:`predict`
        returns ``[..., n, t]`` (scikit-learn's layout for a 2-D ``y``).

    Examples:
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
    multi_target: bool = False

    def decision_function(self, X: ArrayLike) -> jax.Array:
        """Linear scores ``X @ coef + intercept``: ``[n, d]`` -> ``[..., n]`` (``[..., n, t]``).

        Examples:
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
          ``[..., n]``: regression values (``[..., n, t]`` for several targets), or for a
          logistic model integer labels 0/1 (label 1 where the score is positive), for a
          multinomial one the label of the largest score.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> model = ml.LinearModel(jnp.array([2.0]), jnp.array(1.0))
          >>> print(model.predict(jnp.array([[0.0], [1.0]])))
          [1. 3.]
        """
        return _predict(self, _data.design(X, jnp.shape(self.coef)[-1]))

    def predict_proba(self, X: ArrayLike) -> jax.Array:
        """Class probabilities ``[..., n, 2]`` (columns: class 0, class 1) of a logistic model.

        A multinomial model gives ``[..., n, K]`` (the softmax of the scores).

        Raises:
          ValueError: if the model is not a logistic regression.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> logit = ml.LinearModel(jnp.array([1.0]), jnp.array(0.0), kind="logistic")
          >>> print(logit.predict_proba(jnp.array([[0.0]])))
          [[0.5 0.5]]
        """
        if self.kind not in ("logistic", "multinomial"):
            raise ValueError("predict_proba needs a model from logistic_regression")
        return _predict_proba(self, _data.design(X, jnp.shape(self.coef)[-1]))


@jax.jit
def _decision_function(model: LinearModel, X: jax.Array) -> jax.Array:
    if model.multi_target or model.kind == "multinomial":
        z = jnp.einsum("nd,...td->...nt", X, model.coef, precision=HI)
        return z + jnp.asarray(model.intercept)[..., None, :]
    z = jnp.einsum("nd,...d->...n", X, model.coef, precision=HI)
    return z + jnp.asarray(model.intercept)[..., None]


@jax.jit
def _predict(model: LinearModel, X: jax.Array) -> jax.Array:
    z = _decision_function(model, X)
    if model.kind == "logistic":
        return (z > 0).astype(jnp.int32)
    if model.kind == "multinomial":
        return jnp.argmax(z, axis=-1).astype(jnp.int32)
    return z


@jax.jit
def _predict_proba(model: LinearModel, X: jax.Array) -> jax.Array:
    z = _decision_function(model, X)
    if model.kind == "multinomial":
        return jax.nn.softmax(z, axis=-1)
    # sigmoid(-z) and sigmoid(z) each computed directly: no 1 - p cancellation.
    return jnp.stack([jax.nn.sigmoid(-z), jax.nn.sigmoid(z)], axis=-1)


def _closed(
    coef: jax.Array, x_mean: jax.Array, y_mean: jax.Array, finite: jax.Array
) -> LinearModel:
    """A closed-form fit: ``coef`` ``[d, t]`` or ``[d]`` -> the model (NaN where not finite)."""
    multi = coef.ndim == 2
    coef = coef.T if multi else coef
    # NaN or inf in X or y: NaN coefficients, never a finite number computed from them.
    coef = jnp.where(finite, coef, jnp.nan)
    return LinearModel(
        coef,
        _data.intercept(coef, x_mean, y_mean),
        jnp.zeros((), jnp.int32),
        jnp.ones((), bool),
        multi_target=multi,
    )


def _all_finite(*arrays: jax.Array) -> jax.Array:
    out = jnp.ones((), bool)
    for a in arrays:
        out = out & jnp.all(jnp.isfinite(a))
    return out


def _rows(scale: jax.Array, b: jax.Array) -> jax.Array:
    """``diag(scale) @ b`` for ``b`` ``[d]`` or ``[d, t]``."""
    return scale * b if b.ndim == 1 else scale[:, None] * b


def _min_norm_square(r: jax.Array, b: jax.Array, rcond: float) -> jax.Array:
    """Minimum-norm least-squares solution of ``r @ x = b`` by SVD, cutting small values."""
    u, s, vt = jnp.linalg.svd(r, full_matrices=False)
    keep = s > rcond * s[0]
    s_inv = jnp.where(keep, 1.0 / jnp.where(keep, s, 1.0), 0.0)
    return jnp.matmul(vt.T, _rows(s_inv, jnp.matmul(u.T, b, precision=HI)), precision=HI)


def least_squares(
    X: ArrayLike,
    y: ArrayLike,
    *,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
) -> LinearModel:
    r"""Ordinary least squares, as ``sklearn.linear_model.LinearRegression``.

    Minimises $\sum_i w_i \, (y_i - x_i^\top \beta - c)^2$ over the coefficients $\beta$ =
    ``coef`` and the intercept $c$ ($w = 1$ without ``sample_weight``). The data are centred
    (weighted means; intercept not penalised) and the rows rescaled by $\sqrt{w}$, as
    scikit-learn, then solved stably. For ``n > d``: when the column-scaled Gram matrix is
    well conditioned (``cond(X)^2 * eps < 1e-2``, checked from its eigenvalues) by corrected
    semi-normal equations (a Cholesky solve refined with residuals of the original ``X``,
    once where ``cond(X)^4 * eps < 1``, else three times: accurate to ``eps * cond(X)`` like
    QR at the cost of one Gram matrix);
    otherwise, and for ``d >= n``, by orthogonal factorisations (a Householder QR of
    ``[X, y]``, its R factor updated a row chunk at a time, then an SVD of the ``d x d``
    factor, or an SVD of ``X``), cutting singular values below ``eps * max(n, d)`` times
    the largest, so collinear columns and ``d > n`` give the minimum-norm solution of the
    centred problem, as ``numpy.linalg.lstsq`` and scikit-learn. A column that is constant
    up to rounding (its centred norm below ``16 eps`` times its norm; the means are summed
    as deviations from a sample's mean, so they are exact to rounding) counts as zero:
    coefficient 0, as scikit-learn. With an intercept or weights, off a mesh, no
    centred or weighted copy of ``X`` is stored: the Gram matrix and ``Xᵀy`` come from one
    chunked read of ``X`` and ``y`` about a sample's mean, and each refinement step reads
    ``X`` once more, centring (and scaling by ``√w``) a cache-sized chunk at a time. Under
    ``vmap`` both paths run.

    On a device mesh (rows of ``X`` sharded, explicit or auto axes, or inside
    ``jax.set_mesh``) every step is row-local work or an ``O(d^2)`` reduction: the
    rank-deficient fallback is a pseudo-inverse from the eigendecomposition of the
    ``d x d`` scaled Gram matrix (eigenvalues below ``100 d eps`` times the largest cut),
    refined three times with residuals of ``X``; the rows are never gathered.

    Differentiable (``jax.grad``) in ``X``, ``y`` and ``sample_weight`` where the solution
    is unique (full column rank).

    Args:
      X: ``[n, d]`` design matrix. One data set: for a batch ``[..., n, d]`` use
        ``jax.vmap``.
      y: ``[n]`` targets, or ``[n, t]`` for ``t`` targets at once.
      fit_intercept: fit an (unpenalised) intercept by centring (a Python bool).
      sample_weight: optional ``[n]`` non-negative weights (or a scalar), as scikit-learn.

    Returns:
      A :class:`LinearModel` with ``coef`` ``[d]`` and scalar ``intercept`` (``[t, d]``
      and ``[t]`` for a 2-D ``y``, as scikit-learn). NaN or inf in ``X`` or ``y`` gives
      NaN coefficients.

    Raises:
      ValueError: if ``X`` is not 2-D, ``y`` is not ``[n]`` or ``[n, t]``, or
        ``sample_weight`` has the wrong shape or (host values) a negative entry.
      TypeError: if ``fit_intercept`` is not a bool.

    References:
      Å. Björck, *Numerical Methods for Least Squares Problems*, SIAM, 1996.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> X = jnp.array([[0.0], [1.0], [2.0]])
      >>> model = ml.least_squares(X, jnp.array([1.0, 3.0, 5.0]))
      >>> print(model.coef, model.intercept)
      [2.] 1.0
    """
    fit_intercept = _data.flag(fit_intercept, "fit_intercept")
    X, y = _data.xy_targets(X, y, multi=True)
    sw = _data.sample_weights(sample_weight, X.shape[0], X.dtype)
    return _least_squares(X, y, sw, fit_intercept=fit_intercept)


@functools.partial(jax.jit, static_argnames="fit_intercept")
def _least_squares(X: jax.Array, y: jax.Array, sw, *, fit_intercept: bool) -> LinearModel:
    n, d = X.shape
    mesh = _data.on_mesh(X, y, *([] if sw is None else [sw]))
    rcond = float(jnp.finfo(X.dtype).eps) * max(n, d)
    if n > d and (fit_intercept or sw is not None) and not mesh:
        # One read for the Gram matrix, one a refinement step, and no centred (or weighted)
        # copy of X: each cache-sized chunk of rows is centred and scaled where it is used.
        gram, q, _, x_mean, y_mean = _data.normal_equations(X, y, sw, fit_intercept)
        correction, fold = _row_passes(X, y, (x_mean, y_mean), sw)
        raw2 = (n if sw is None else jnp.sum(sw)) * x_mean**2 if fit_intercept else None
        coef, finite = _tall_least_squares(gram, q, correction, fold, rcond, raw2, mesh=False)
        return _closed(coef, x_mean, y_mean, finite)
    Xc, yc, x_mean, y_mean = _data.prepare(X, y, sw, fit_intercept)
    if n > d or mesh:
        weight = n if sw is None else jnp.sum(sw)
        # ||x||² of each raw column (weighted), from the centred one and the mean.
        raw2 = weight * x_mean**2 if fit_intercept else None
        correction, fold = _row_passes(Xc, yc, None)
        gram, q = _gram.gram(Xc), _data.rmatvec(Xc, yc)
        coef, finite = _tall_least_squares(gram, q, correction, fold, rcond, raw2, mesh=mesh)
    else:
        coef = _min_norm_square(Xc, yc, rcond)
        finite = _all_finite(Xc, yc)
    return _closed(coef, x_mean, y_mean, finite)


def _row_passes(X, y, means, sw=None):
    """``(correction, fold)`` for :func:`_tall_least_squares`, over row chunks of ``X``, ``y``.

    ``means`` ``(x_mean, y_mean)`` are subtracted, and rows scaled by ``√sw`` (weights
    ``[n]``, or None), a cache-sized chunk at a time: no centred or weighted copy is stored.
    ``means`` None (and ``sw`` None) when ``X`` and ``y`` are prepared already.
    """
    chunks = _gram.row_chunks(X, X.shape[1])
    arrays = (X, y) if sw is None else (X, y, sw)

    def prepared(xs, ys, ws=None):
        if means is not None:
            xs, ys = xs - means[0], ys - means[1]
        if ws is None:
            return xs, ys
        root = jnp.sqrt(ws)
        return xs * root[:, None], ys * (root if ys.ndim == 1 else root[:, None])

    def correction(coef):
        def part(*chunk):
            xc, yc = prepared(*chunk)
            return _data.rmatvec(xc, yc - jnp.matmul(xc, coef, precision=HI))

        return _gram.chunked_row_sum(part, arrays, chunks)

    def fold(fn, init):
        return _gram.chunked_row_fold(
            lambda acc, *chunk: fn(acc, *prepared(*chunk)), init, arrays, chunks
        )

    return correction, fold


def _tall_least_squares(gram, q, correction, fold, rcond, raw2, *, mesh):
    """``n > d`` (or rows on a mesh): semi-normal equations when safe, else a fallback.

    ``gram`` and ``q`` are ``X_cᵀX_c`` and ``X_cᵀy_c``; ``correction(coef)`` is
    ``X_cᵀ(y_c - X_c coef)``; ``fold(fn, init)`` folds ``acc = fn(acc, X_c rows, y_c
    rows)`` over row chunks (for the fallback alone). The rank-revealing fallback is QR +
    SVD of ``[X, y]`` (the R factor updated a row chunk at a time, so no copy of ``X`` is
    made), or on a mesh the eigenbasis of the scaled Gram matrix (``d x d``: nothing of
    the size of ``X`` leaves its device).
    """
    eps = jnp.finfo(gram.dtype).eps
    d = gram.shape[0]
    norms2 = jnp.diagonal(gram)
    keep = norms2 > 0
    if raw2 is not None:
        # Constant up to rounding once centred (the means are accurate to rounding, so
        # such a column is left with a few ulps of its value): a zero column, as
        # scikit-learn gives it 0. A column whose spread is 1/300 of its mean is data.
        keep = keep & (norms2 > (16.0 * eps) ** 2 * (norms2 + raw2))
    scale = jnp.where(keep, 1.0 / jnp.sqrt(jnp.where(keep, norms2, 1.0)), 0.0)
    scaled = gram * scale[:, None] * scale[None, :]
    ev = jnp.linalg.eigvalsh(scaled)
    # Refinement contracts by about cond(X)^2 * eps a step: use it only when that is small.
    safe = ev[0] > 100.0 * eps * ev[-1]

    # Each refinement step shrinks the error by about rho = cond(X)^2 eps, from rho at first:
    # once rho^2 <= eps one step has reached rounding level (each step is a read of X).
    rho = eps * ev[-1] / ev[0]

    def refined(solve):
        def step(coef):
            return coef + solve(correction(coef))

        coef = step(solve(q))
        return lax.cond(rho * rho <= eps, lambda c: c, lambda c: step(step(c)), coef)

    def semi_normal(_):
        chol = jnp.linalg.cholesky(scaled)
        # (XᵀX)^{-1} rhs through the scaled factor
        return refined(
            lambda rhs: _rows(scale, jax.scipy.linalg.cho_solve((chol, True), _rows(scale, rhs)))
        )

    def gram_pinv(_):
        lam, vec = jnp.linalg.eigh(scaled)
        cut = lam > 100.0 * d * eps * lam[-1]
        inv = jnp.where(cut, 1.0 / jnp.where(cut, lam, 1.0), 0.0)

        def solve(rhs):
            z = jnp.matmul(vec.T, _rows(scale, rhs), precision=HI)
            return _rows(scale, jnp.matmul(vec, _rows(inv, z), precision=HI))

        return refined(solve)

    def orthogonal(_):
        # R of [X, y]: its last columns are Qᵀy, so Q is never formed. R of [R; rows] for
        # each chunk of rows in turn is R of all of them (a sequential TSQR, as stable).
        t = 1 if q.ndim == 1 else q.shape[1]

        def absorb(r, xc, yc):
            rows = jnp.concatenate([xc * keep, yc.reshape(yc.shape[0], t)], axis=1)
            return jnp.linalg.qr(jnp.concatenate([r, rows], axis=0), mode="r")

        r = fold(absorb, jnp.zeros((d + t, d + t), gram.dtype))
        coef = _min_norm_square(r[:d, :d], r[:d, d:], rcond)
        return coef if q.ndim == 2 else coef[:, 0]

    # Eigenvalues above 100 eps guarantee the Cholesky factorisation succeeds.
    fallback = gram_pinv if mesh else orthogonal
    coef = lax.cond(safe, semi_normal, fallback, None)
    return coef, _all_finite(gram, q)


def ridge(
    X: ArrayLike,
    y: ArrayLike,
    alpha: ArrayLike,
    *,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
) -> LinearModel:
    r"""Ridge regression, as ``sklearn.linear_model.Ridge(alpha)``.

    Minimises, over the coefficients $\beta$ = ``coef`` and the intercept $c$,

    $$\sum_i w_i \, (y_i - x_i^\top \beta - c)^2 + \alpha \|\beta\|_2^2$$

    (intercept not penalised; $w = 1$ without ``sample_weight``; weighted centring and
    $\sqrt{w}$ row scaling as scikit-learn). Closed form by Cholesky: the primal
    $(X^\top X + \alpha I) \beta = X^\top y$ when $d \le n$ (or the rows are on a device
    mesh: one $O(d^2)$ all-reduce, no gather), the dual
    $\beta = X^\top (X X^\top + \alpha I)^{-1} y$ when $d > n$ (scikit-learn's
    ``solver="cholesky"``). With an intercept or weights, off a mesh, the primal reads
    ``X`` and ``y`` once and stores no centred or weighted copy of ``X``: the (weighted)
    centred Gram matrix of ``[X, y]`` is summed over cache-sized row chunks about a
    sample's mean. ``alpha`` may be a traced value, so a whole regularisation path is one
    ``jax.vmap`` over alphas (the Gram matrix is formed once).

    ``alpha = 0``: a concrete (host) zero is :func:`least_squares`, the minimum-norm
    solution as scikit-learn's ``Ridge(alpha=0)``. A traced zero (under ``jit`` or
    ``vmap``) solves by Cholesky and gives NaN coefficients when $X^\top X$ is numerically
    singular (a Cholesky pivot below $d \varepsilon$ of the largest diagonal entry, e.g. a
    duplicated column), never arbitrary finite ones.

    Differentiable (``jax.grad``) in ``X``, ``y``, ``alpha`` and ``sample_weight`` (closed
    form).

    Args:
      X: ``[n, d]`` design matrix. One data set: for a batch ``[..., n, d]`` use
        ``jax.vmap``.
      y: ``[n]`` targets, or ``[n, t]`` for ``t`` targets at once.
      alpha: scalar ``>= 0``.
      fit_intercept: fit an (unpenalised) intercept by centring (a Python bool).
      sample_weight: optional ``[n]`` non-negative weights (or a scalar), as scikit-learn.

    Returns:
      A :class:`LinearModel` (``coef`` ``[t, d]``, ``intercept`` ``[t]`` for a 2-D ``y``).
      NaN or inf in ``X`` or ``y`` gives NaN coefficients.

    Raises:
      ValueError: if ``X`` is not 2-D, ``y`` has the wrong shape, ``alpha`` is not a
        scalar, a concrete ``alpha`` is negative, or ``sample_weight`` is malformed.
      TypeError: if ``fit_intercept`` is not a bool.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> X = jnp.array([[0.0], [1.0], [2.0]])
      >>> print(ml.ridge(X, jnp.array([1.0, 3.0, 5.0]), 2.0).coef)
      [1.]
    """
    fit_intercept = _data.flag(fit_intercept, "fit_intercept")
    X, y = _data.xy_targets(X, y, multi=True)
    alpha = _data.penalty(alpha, "alpha", X.dtype)
    if isinstance(alpha, np.ndarray) and alpha == 0:
        return least_squares(X, y, fit_intercept=fit_intercept, sample_weight=sample_weight)
    sw = _data.sample_weights(sample_weight, X.shape[0], X.dtype)
    return _ridge(X, y, alpha, sw, fit_intercept=fit_intercept)


@functools.partial(jax.jit, static_argnames="fit_intercept")
def _ridge(X: jax.Array, y: jax.Array, alpha: jax.Array, sw, *, fit_intercept: bool) -> LinearModel:
    n, d = X.shape
    if d <= n or _data.on_mesh(X, y):
        # Off a mesh with an intercept or weights: one read of X and y (no centred or
        # weighted copy of X).
        gram, rhs, _, x_mean, y_mean = _data.normal_equations(X, y, sw, fit_intercept)
        coef, ok = _spd_shift_solve(gram, alpha, rhs)
        finite = _all_finite(gram, rhs)
    else:
        Xc, yc, x_mean, y_mean = _data.prepare(X, y, sw, fit_intercept)
        kernel = jnp.matmul(Xc, Xc.T, precision=HI)
        dual, ok = _spd_shift_solve(kernel, alpha, yc)
        coef = _data.rmatvec(Xc, dual)
        finite = _all_finite(kernel, yc)
    return _closed(coef, x_mean, y_mean, finite & ok)


def _spd_shift_solve(a: jax.Array, shift: jax.Array, b: jax.Array):
    """Solve ``(a + shift I) x = b`` for symmetric PSD ``a`` by Cholesky.

    Also returns False where ``shift == 0`` and ``a`` is numerically singular (a pivot
    below ``m * eps`` of the largest diagonal entry): the solution would be arbitrary.
    """
    m = a + shift * jnp.eye(a.shape[0], dtype=a.dtype)
    chol = jnp.linalg.cholesky(m)
    eps = jnp.finfo(a.dtype).eps
    pivots = jnp.diagonal(chol) ** 2
    singular = ~(jnp.min(pivots) > a.shape[0] * eps * jnp.max(jnp.diagonal(m)))
    return jax.scipy.linalg.cho_solve((chol, True), b), ~((shift == 0) & singular)
