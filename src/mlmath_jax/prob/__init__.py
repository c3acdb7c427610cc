"""mlmath_jax.prob (filled in by its issue)."""

from ._expectation import ExpectationResult as ExpectationResult
from ._expectation import expectation as expectation
from ._moments import Moments as Moments
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

__all__: list[str] = [
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
    "mutual_information",
    "std",
    "var",
]
