"""Estimators with scikit-learn's objectives, as JAX functions and pytree models.

Linear models (:func:`least_squares`, :func:`ridge`, :func:`lasso`,
:func:`logistic_regression`) return a :class:`LinearModel`; :class:`PCA` and
:class:`GaussianNB` are fitted with their ``fit`` class methods; :func:`spectral_clustering`
returns labels and :func:`fit_mle` a :mod:`mlmath_jax.prob` distribution. Results match
scikit-learn (and SciPy for ``fit_mle``) for the same objective. Every fit and method is
one compiled function per (shapes, dtypes, static options): repeated calls with new data
of the same shapes compile nothing, and hyperparameters such as ``alpha`` and ``C`` are
traced, so ``jax.vmap`` over them fits a whole path at once. Models are pytrees: they pass
through ``jit`` and ``vmap``, and ``==`` on them is identity.

Examples:
  >>> import jax
  >>> import jax.numpy as jnp
  >>> from mlmath_jax import ml
  >>> X = jnp.array([[0.0], [1.0], [2.0], [3.0]])
  >>> y = jnp.array([1.0, 3.0, 5.0, 7.0])
  >>> print(ml.least_squares(X, y).coef)
  [2.]
  >>> path = jax.vmap(lambda a: ml.ridge(X, y, a).coef)(jnp.array([0.0, 5.0]))
  >>> print(path[:, 0])
  [2. 1.]
"""

from ._lasso import lasso as lasso
from ._linear import LinearModel as LinearModel
from ._linear import least_squares as least_squares
from ._linear import ridge as ridge
from ._logistic import logistic_regression as logistic_regression
from ._mle import fit_mle as fit_mle
from ._naive_bayes import GaussianNB as GaussianNB
from ._pca import PCA as PCA
from ._spectral import spectral_clustering as spectral_clustering

__all__: list[str] = [
    "GaussianNB",
    "LinearModel",
    "PCA",
    "lasso",
    "fit_mle",
    "least_squares",
    "logistic_regression",
    "ridge",
    "spectral_clustering",
]
