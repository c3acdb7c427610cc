"""mlmath_jax.ml (filled in by its issue)."""

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
