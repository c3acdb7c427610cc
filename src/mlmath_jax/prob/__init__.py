"""mlmath_jax.prob (filled in by its issue)."""

from ._beta import Beta as Beta
from ._dirichlet import Dirichlet as Dirichlet
from ._discrete import Bernoulli as Bernoulli
from ._discrete import Binomial as Binomial
from ._discrete import Categorical as Categorical
from ._discrete import Poisson as Poisson
from ._expectation import ExpectationResult as ExpectationResult
from ._expectation import expectation as expectation
from ._exponential import Exponential as Exponential
from ._gamma import Gamma as Gamma
from ._moments import Moments as Moments
from ._multivariate_normal import MultivariateNormal as MultivariateNormal
from ._normal import Normal as Normal
from ._select import median as median
from ._select import quantile as quantile
from ._stats import correlation as correlation
from ._stats import covariance as covariance
from ._stats import mean as mean
from ._stats import std as std
from ._stats import var as var
from ._tables import Chi2Result as Chi2Result
from ._tables import are_independent as are_independent
from ._tables import chi2_independence as chi2_independence
from ._tables import conditional as conditional
from ._tables import marginal as marginal
from ._tables import mutual_information as mutual_information
from ._uniform import Uniform as Uniform

__all__: list[str] = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Dirichlet",
    "Exponential",
    "Gamma",
    "MultivariateNormal",
    "Normal",
    "Poisson",
    "Uniform",
    "Chi2Result",
    "ExpectationResult",
    "Moments",
    "are_independent",
    "chi2_independence",
    "conditional",
    "correlation",
    "covariance",
    "expectation",
    "marginal",
    "mean",
    "median",
    "mutual_information",
    "quantile",
    "std",
    "var",
]
