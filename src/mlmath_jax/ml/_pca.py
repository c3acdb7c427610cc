"""Principal component analysis, with scikit-learn's sign convention.

Computed from the eigendecomposition of the covariance (or Gram) matrix.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _gram, _validate, linalg
from . import _data, _model, _top_eigh
from ._data import HI


def _mT(x: jax.Array) -> jax.Array:
    return jnp.swapaxes(x, -1, -2)


@_model.register
@dataclasses.dataclass(frozen=True, eq=False)
class PCA:
    """A fitted principal component analysis (a pytree; as ``sklearn.decomposition.PCA``).

    Build it with :meth:`PCA.fit`. Fitted under ``vmap`` (or on ``[..., n, d]`` data) the
    fields gain leading batch dimensions and the methods broadcast over them. ``==`` is
    identity (it never raises); compare fields with ``jnp.array_equal``.

    Attributes:
      components: ``[..., k, d]`` principal axes as orthonormal rows, by decreasing
        variance (scikit-learn's ``components_``, same signs: the largest-magnitude entry
        of each row is positive).
      explained_variance: ``[..., k]`` variance along each axis (``ddof=1``, as
        scikit-learn's ``explained_variance_``).
      explained_variance_ratio: ``[..., k]`` fraction of the total variance.
      mean: ``[..., d]`` per-feature mean of the training data.
    """

    components: jax.Array
    explained_variance: jax.Array
    explained_variance_ratio: jax.Array
    mean: jax.Array

    @classmethod
    def fit(cls, X: ArrayLike, n_components: int) -> PCA:
        r"""Fit a PCA with ``n_components`` axes (as ``PCA(n_components).fit(X)``).

        The data are centred, then the $d \times d$ covariance (when $n \ge d$) or the
        $n \times n$ Gram matrix (when $d > n$) is decomposed with :func:`linalg.eigh`. For
        tall data this costs one Gram matrix instead of an SVD of the data and is as
        accurate for the leading components (their variances carry an absolute error of
        order $\varepsilon \lambda_{\max}$, so tiny trailing variances are less accurate
        than with an SVD). For unbatched float32 data with more than 64 features (and
        ``n_components <= 26``) the leading eigenpairs come from a restarted block Lanczos
        iteration certified to ``eigh``'s residual, falling back to ``eigh`` where it does
        not converge: on CPU a dense ``eigh`` of that size leaves OpenBLAS threads spinning
        that slowed the next call's Gram product (100,000 x 256: 131-187 ms a fit, now
        101-109, as the covariance alone).

        Args:
          X: ``[..., n, d]`` data, one sample a row, ``n >= 2``.
          n_components: number of components ``k``, ``1 <= k <= min(n, d)`` (static).

        Returns:
          The fitted :class:`PCA`.

        Raises:
          ValueError: if ``X`` is not ``[..., n, d]`` with ``n >= 2`` or ``n_components``
            is out of range.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> X = jnp.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.1]])
          >>> pca = ml.PCA.fit(X, 1)
          >>> print(pca.explained_variance_ratio)
          [0.99...]
        """
        X = _validate.at_least_rank(_data.real(X, "X"), 2, "X", "a [..., n, d] matrix")
        n, d = X.shape[-2:]
        if n < 2:
            raise ValueError(f"X must have at least 2 samples (rows), got shape {X.shape}")
        k = _validate.static_int(n_components, "n_components", minimum=1)
        if k > min(n, d):
            raise ValueError(
                f"n_components must be <= min(n_samples, n_features) = {min(n, d)} for X of "
                f"shape {X.shape}, got {k}"
            )
        return _fit(X, n_components=k)

    def transform(self, X: ArrayLike) -> jax.Array:
        r"""Project data onto the components: $(X - \mu) \, V^\top$.

        Here $\mu$ is ``mean`` and the rows of $V$ are ``components`` (NumPy:
        ``(X - mean) @ components.T``).

        Args:
          X: ``[..., m, d]`` data.

        Returns:
          ``[..., m, k]`` scores.

        Raises:
          ValueError: if ``X``'s last dimension is not ``d``.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> pca = ml.PCA.fit(jnp.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), 1)
          >>> print(pca.transform(jnp.array([[1.0, 1.0], [2.0, 2.0]])))
          [[0.     ]
           [1.41...]]
        """
        X = _validate.at_least_rank(_data.real(X, "X"), 2, "X", "a [..., m, d] matrix")
        d = self.components.shape[-1]
        if X.shape[-1] != d:
            raise ValueError(f"X must have {d} features (columns), got shape {X.shape}")
        return _transform(self, X)

    def inverse_transform(self, Z: ArrayLike) -> jax.Array:
        """Map scores back to data space: ``Z @ components + mean``.

        Args:
          Z: ``[..., m, k]`` scores.

        Returns:
          ``[..., m, d]`` reconstructed data (exact when ``k = d``).

        Raises:
          ValueError: if ``Z``'s last dimension is not ``k``.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import ml
          >>> pca = ml.PCA.fit(jnp.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), 1)
          >>> print(pca.inverse_transform(jnp.array([[0.0]])))
          [[1. 1.]]
        """
        Z = _validate.at_least_rank(_data.real(Z, "Z"), 2, "Z", "a [..., m, k] matrix")
        k = self.components.shape[-2]
        if Z.shape[-1] != k:
            raise ValueError(f"Z must have {k} columns (components), got shape {Z.shape}")
        return _inverse_transform(self, Z)


@jax.jit
def _transform(model: PCA, X: jax.Array) -> jax.Array:
    centred = X - model.mean[..., None, :]
    return jnp.matmul(centred, _mT(model.components), precision=HI)


@jax.jit
def _inverse_transform(model: PCA, Z: jax.Array) -> jax.Array:
    return jnp.matmul(Z, model.components, precision=HI) + model.mean[..., None, :]


def _flip_signs(components: jax.Array) -> jax.Array:
    """scikit-learn's ``svd_flip(u_based_decision=False)``: largest |entry| of a row > 0."""
    idx = jnp.argmax(jnp.abs(components), axis=-1)
    pivot = jnp.take_along_axis(components, idx[..., None], axis=-1)
    return jnp.where(pivot < 0, -components, components)


def _orthonormal_rows(c: jax.Array) -> jax.Array:
    """Rows made orthonormal by QR, keeping those that already are (up to rounding).

    Beyond the rank of the centred data (``k > n - 1`` on wide data) the rows from the
    Gram route are normalised rounding noise; QR keeps the determined rows (their signs
    restored) and completes them with orthonormal directions, as an SVD would.
    """
    q, _ = jnp.linalg.qr(_mT(c))
    q = _mT(q)
    sign = jnp.sign(jnp.sum(q * c, axis=-1, keepdims=True))
    return q * jnp.where(sign == 0, 1, sign)


@functools.partial(jax.jit, static_argnames="n_components")
def _fit(X: jax.Array, *, n_components: int) -> PCA:
    n, d = X.shape[-2:]
    k = n_components
    if d <= n:
        # The symmetric, row-sharding-aware scatter matrix: one all-reduce of d² values.
        mean, scatter = _gram.centred_gram(X)
        # Total variance from the scatter's trace (the sum of squared deviations).
        total = jnp.trace(scatter, axis1=-2, axis2=-1) / (n - 1)
        if X.ndim == 2:
            var, v = _top_eigh.top_eigh(scatter / (n - 1), k)
        else:
            w, v = linalg.eigh(scatter / (n - 1))
            var, v = w[..., ::-1][..., :k], v[..., :, ::-1][..., :, :k]
        components = _mT(v)
    else:
        mean = jnp.mean(X, axis=-2)
        centred = X - mean[..., None, :]
        total = jnp.sum(centred * centred, axis=(-2, -1)) / (n - 1)
        gram = jnp.matmul(centred, _mT(centred), precision=HI)
        w, u = linalg.eigh(gram)
        var = w[..., ::-1][..., :k] / (n - 1)
        u = u[..., :, ::-1][..., :, :k]
        components = jnp.matmul(_mT(u), centred, precision=HI)  # rows s_i v_iᵀ
        norm = jnp.linalg.norm(components, axis=-1, keepdims=True)
        components = _orthonormal_rows(components / jnp.where(norm > 0, norm, 1))
    var = jnp.maximum(var, 0)  # rounding can make a zero variance slightly negative
    ratio = var / jnp.where(total > 0, total, 1)[..., None]
    return PCA(_flip_signs(components), var, ratio, mean)
