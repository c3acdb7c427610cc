"""Gaussian naive Bayes, computed in log space."""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _sharding, _validate
from . import _model
from ._data import HI, design

_VAR_SMOOTHING = 1e-9


@functools.partial(jax.jit, static_argnames="n_classes")
def _labels_ok(y: jax.Array, *, n_classes: int) -> jax.Array:
    return jnp.all((y >= 0) & (y < n_classes) & (y == jnp.round(y)))


def _class_labels(y: ArrayLike, n: int, n_classes: int) -> jax.Array:
    """Validate integer class labels ``[n]`` in ``range(n_classes)`` (values when concrete)."""
    if y is None or isinstance(y, str | bytes):
        raise TypeError(f"y: expected an array of class labels, got {type(y).__name__}")
    try:
        y = y if isinstance(y, jax.Array) else jnp.asarray(y)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"y: expected an array of class labels, got {type(y).__name__}") from exc
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D [n] vector of labels, got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"lengths of X and y do not match: X has {n} rows, y has shape {y.shape}")
    if not (jnp.issubdtype(y.dtype, jnp.number) or y.dtype == jnp.bool_):
        raise TypeError(f"y: expected numeric labels, got dtype {y.dtype}")
    if _validate.is_concrete(y) and y.size:
        if not bool(_labels_ok(y, n_classes=n_classes)):
            raise ValueError(
                f"y must hold integer labels in range(n_classes={n_classes}), "
                f"got values {jnp.unique(y)}"
            )
    return y  # cast to int32 inside the compiled fit


@_model.register
@dataclasses.dataclass(frozen=True, eq=False)
class GaussianNB:
    """Gaussian naive Bayes, as ``sklearn.naive_bayes.GaussianNB()`` (a pytree).

    Fit with :meth:`GaussianNB.fit`. Each class has independent normal features; variances
    get ``var_smoothing * max_j var(X[:, j])`` added (``var_smoothing = 1e-9``, as
    scikit-learn). Predictions are computed in log space with ``logsumexp``, so thousands
    of features do not underflow. ``==`` is identity (it never
    raises); compare fields with ``jnp.array_equal``.

    Attributes:
      class_count: ``[K]`` number of training samples per class.
      class_prior: ``[K]`` class frequencies (scikit-learn's ``class_prior_``).
      theta: ``[K, d]`` per-class feature means.
      var: ``[K, d]`` per-class feature variances, smoothing included (``var_``).
      epsilon: the smoothing added to every variance (``epsilon_``).
    """

    class_count: jax.Array
    class_prior: jax.Array
    theta: jax.Array
    var: jax.Array
    epsilon: jax.Array

    @staticmethod
    def fit(X: ArrayLike, y: ArrayLike, n_classes: int) -> GaussianNB:
        """Fit per-class means, variances and priors (as ``GaussianNB().fit(X, y)``).

        A class with no samples gets prior 0 (never predicted), mean 0 and variance
        ``epsilon``. Under ``jit`` pass ``n_classes`` as a static argument.

        Args:
          X: ``[n, d]`` features.
          y: ``[n]`` integer labels in ``range(n_classes)``.
          n_classes: number of classes ``K`` (a Python int).

        Returns:
          The fitted :class:`GaussianNB`.

        Raises:
          ValueError: if ``X`` is not 2-D, ``y`` has the wrong length, or concrete labels
            fall outside ``range(n_classes)``.
          TypeError: if ``n_classes`` is not a Python int.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> X = jnp.array([[0.0], [0.2], [2.0], [2.2]])
          >>> nb = ml.GaussianNB.fit(X, jnp.array([0, 0, 1, 1]), 2)
          >>> print(nb.theta[:, 0], nb.predict(jnp.array([[0.1], [2.1]])))
          [0.1 2.1] [0 1]
        """
        n_classes = _validate.static_int(n_classes, "n_classes", minimum=1)
        X = design(X)
        n = X.shape[0]
        y = _class_labels(y, n, n_classes)
        return _fit(X, y, n_classes=n_classes)

    def joint_log_likelihood(self, X: ArrayLike) -> jax.Array:
        """``log P(c) + log P(x | c)`` for each sample and class: ``[n, d]`` -> ``[n, K]``.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> X = jnp.array([[0.0], [0.2], [2.0], [2.2]])
          >>> nb = ml.GaussianNB.fit(X, jnp.array([0, 0, 1, 1]), 2)
          >>> print(nb.joint_log_likelihood(jnp.array([[1.0]])).shape)
          (1, 2)
        """
        return _joint_log_likelihood(self, design(X, self.theta.shape[-1]))

    def predict_log_proba(self, X: ArrayLike) -> jax.Array:
        """Log class probabilities ``[n, K]``, normalised with ``logsumexp``.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> X = jnp.array([[0.0], [0.2], [2.0], [2.2]])
          >>> nb = ml.GaussianNB.fit(X, jnp.array([0, 0, 1, 1]), 2)
          >>> print(nb.predict_log_proba(jnp.array([[1.1]])))
          [[-0.69... -0.69...]]
        """
        return _predict_log_proba(self, design(X, self.theta.shape[-1]))

    def predict_proba(self, X: ArrayLike) -> jax.Array:
        """Class probabilities ``[n, K]`` (as scikit-learn's ``predict_proba``).

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> X = jnp.array([[0.0], [0.2], [2.0], [2.2]])
          >>> nb = ml.GaussianNB.fit(X, jnp.array([0, 0, 1, 1]), 2)
          >>> print(nb.predict_proba(jnp.array([[1.1]])).round(3))
          [[0.5 0.5]]
        """
        return _predict_proba(self, design(X, self.theta.shape[-1]))

    def predict(self, X: ArrayLike) -> jax.Array:
        """Most probable class ``[n]`` (int32) for each row of ``X`` ``[n, d]``, -1 for NaN rows.

        scikit-learn raises on NaN input; here a row holding NaN gets the non-label ``-1``
        and NaN probabilities.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> X = jnp.array([[0.0], [0.2], [2.0], [2.2]])
          >>> nb = ml.GaussianNB.fit(X, jnp.array([0, 0, 1, 1]), 2)
          >>> print(nb.predict(jnp.array([[0.1], [1.9]])))
          [0 1]
        """
        return _predict(self, design(X, self.theta.shape[-1]))


@functools.partial(jax.jit, static_argnames="n_classes")
def _fit(X: jax.Array, y: jax.Array, *, n_classes: int) -> GaussianNB:
    n = X.shape[0]
    y = y.astype(jnp.int32)
    onehot = (y[:, None] == jnp.arange(n_classes)).astype(X.dtype)
    count = jnp.sum(onehot, axis=0)
    safe = jnp.where(count > 0, count, 1.0)
    # Class sums contract the (possibly sharded) rows: one all-reduce of K d values.
    theta = _sharding.contract("nk,nd->kd", onehot, X) / safe[:, None]
    # One correction from the residuals: XLA computes ``/ count`` as ``* (1 / count)``, so a
    # constant feature's class mean could be off by an ulp (0.99999994 for 1.0), a different
    # one for each class; its zero variance then differs between classes by 1e-15, which
    # against ``epsilon`` moves a prediction far off that feature. Corrected: exact.
    theta = (
        theta
        + _sharding.contract("nk,nd->kd", onehot, X - jnp.matmul(onehot, theta, precision=HI))
        / safe[:, None]
    )
    # Two-pass variance: deviations from the class mean, no E[x^2] - E[x]^2 cancellation.
    dev = X - jnp.matmul(onehot, theta, precision=HI)
    var = _sharding.contract("nk,nd->kd", onehot, dev * dev) / safe[:, None]
    epsilon = _VAR_SMOOTHING * jnp.max(jnp.var(X, axis=0))
    return GaussianNB(count, count / n, theta, var + epsilon, epsilon)


@jax.jit
def _joint_log_likelihood(model: GaussianNB, X: jax.Array) -> jax.Array:
    log_norm = -0.5 * jnp.sum(jnp.log(2.0 * math.pi * model.var), axis=-1)
    sq = jnp.sum((X[:, None, :] - model.theta) ** 2 / model.var, axis=-1)
    return jnp.log(model.class_prior) + log_norm - 0.5 * sq


def _relative_log_likelihood(model: GaussianNB, X: jax.Array) -> jax.Array:
    """The joint log-likelihood less a constant a sample, ``[n, K]``, for predictions.

    Each feature's term is taken relative to its largest over the classes before the sum
    over features. The constant cancels in the class probabilities, and a feature whose
    term is huge and the same for every class (a point far off a zero-variance feature:
    ``-(x - mu)**2 / (2 epsilon)`` ~ -1e10, whose float32 rounding error alone is 1e3) no
    longer drowns the other features' differences: the absolute sum would give one class
    probability 1 where float64 gives 0.49 and 0.51.
    """
    terms = -0.5 * (
        (X[:, None, :] - model.theta) ** 2 / model.var + jnp.log(2.0 * math.pi * model.var)
    )
    terms = terms - jax.lax.stop_gradient(jnp.max(terms, axis=1, keepdims=True))
    return jnp.log(model.class_prior) + jnp.sum(terms, axis=-1)


@jax.jit
def _predict_log_proba(model: GaussianNB, X: jax.Array) -> jax.Array:
    jll = _relative_log_likelihood(model, X)
    # Shift by the row maximum before normalising: far from every class the jll are huge
    # (|jll| ~ 1e32 at a point 1e15 away) and ``jll - logsumexp(jll)`` would round to 0 for
    # several classes (probabilities [1, 1]); the shifted values keep their differences.
    shifted = jll - jax.lax.stop_gradient(jnp.max(jll, axis=-1, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=-1, keepdims=True))


@jax.jit
def _predict_proba(model: GaussianNB, X: jax.Array) -> jax.Array:
    return jnp.exp(_predict_log_proba(model, X))


@jax.jit
def _predict(model: GaussianNB, X: jax.Array) -> jax.Array:
    jll = _relative_log_likelihood(model, X)
    labels = jnp.argmax(jll, axis=-1).astype(jnp.int32)
    return jnp.where(jnp.any(jnp.isnan(jll), axis=-1), -1, labels)  # NaN row: no label
