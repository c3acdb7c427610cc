"""Probability: distributions, statistics, Monte Carlo expectation and joint tables.

Distributions (``Normal``, ``Gamma``, ``MultivariateNormal``, ...; all subclasses of
``Distribution``) are immutable pytrees with ``scipy.stats``-matching methods that pass
through ``jit``, ``vmap`` and ``grad``; every method compiles once per family and shapes.
Statistics (``mean``, ``var``, ``median``, ``quantile``, ``covariance``, ``Moments``) are
accurate in float32; ``marginal``, ``conditional``, ``mutual_information`` and
``chi2_independence`` work on joint probability (or count) tables.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from mlmath_jax import prob
  >>> d = prob.Normal(jnp.array([0.0, 1.0]), 2.0)
  >>> d.log_prob(jnp.array([0.0, 1.0]))
  Array([-1.6120857, -1.6120857], dtype=float32)
  >>> est, se = prob.expectation(lambda x: x**2, prob.Normal(0.0, 1.0), jax.random.key(0), 4000)
  >>> bool(abs(est - 1.0) < 5 * se)
  True
"""

from ._beta import Beta as Beta
from ._dirichlet import Dirichlet as Dirichlet
from ._discrete import Bernoulli as Bernoulli
from ._discrete import Binomial as Binomial
from ._discrete import Categorical as Categorical
from ._discrete import Poisson as Poisson
from ._distribution import Distribution as Distribution
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
from ._tables import joint_table as joint_table
from ._tables import marginal as marginal
from ._tables import mutual_information as mutual_information
from ._uniform import Uniform as Uniform

__all__: list[str] = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Dirichlet",
    "Distribution",
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
    "joint_table",
    "marginal",
    "mean",
    "median",
    "mutual_information",
    "quantile",
    "std",
    "var",
]
