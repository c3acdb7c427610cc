"""The beta distribution."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax.scipy import special
from jax.typing import ArrayLike

from ._distribution import (
    Continuous,
    bisect_smallest,
    check_values,
    float_params,
    implicit_inverse,
    register,
)
from ._special import beta_entropy, betainc, betaln, positive


def _solve_quantile(params, q):
    # Bit bisection on betainc; for q > 1/2 solve the mirrored problem
    # I_{1-x}(b, a) = 1 - q so that quantiles near 1 keep their accuracy near 0 of 1 - x.
    a, b = params
    mirror = q > 0.5
    a2, b2 = jnp.where(mirror, b, a), jnp.where(mirror, a, b)
    tail = jnp.where(mirror, 1 - q, q)
    y = bisect_smallest(lambda y: betainc(a2, b2, y) >= tail, jnp.zeros_like(q), jnp.ones_like(q))
    x = jnp.where(mirror, 1 - y, y)
    return jnp.where(q <= 0, 0, jnp.where(q >= 1, 1, x))


def _cdf(params, x):
    a, b = params
    return betainc(a, b, jnp.clip(x, 0, 1))


def _pdf(params, x):
    a, b = params
    return jnp.exp(special.xlogy(a - 1, x) + special.xlog1py(b - 1, -x) - betaln(a, b))


_quantile = implicit_inverse(_solve_quantile, _cdf, _pdf)


@register
@dataclasses.dataclass(frozen=True, eq=False)
class Beta(Continuous):
    """Beta distribution on ``[0, 1]``, as ``scipy.stats.beta(alpha, beta)``.

    Density ``x**(alpha - 1) (1 - x)**(beta - 1) / B(alpha, beta)``. Samples use
    ``jax.random.beta`` (ratio of reparameterised gammas, so ``grad`` flows to the
    parameters); ``icdf``/``median`` invert ``betainc`` by bisection on the float bits.
    ``cdf`` and ``icdf`` differentiate in ``x`` / ``q`` only: the incomplete beta function
    has no derivative with respect to ``alpha`` or ``beta`` in JAX, and ``jax.grad`` of
    ``cdf`` (or ``icdf``) with respect to a parameter raises ``ValueError`` (SciPy has no
    derivatives at all). ``cdf`` stays accurate at large shapes (``Beta(5e8, 5e8 + 1)``)
    through a uniform asymptotic expansion where ``jax.scipy.special.betainc`` fails.

    Attributes:
      alpha: first shape ``> 0``.
      beta: second shape ``> 0``.

    Raises:
      ValueError: if a concrete parameter is not ``> 0``; traced invalid values give NaN.

    Examples:
      >>> from mlmath_jax.prob import Beta
      >>> d = Beta(2.0, 3.0)
      >>> d.mean(), d.cdf(0.5)
      (Array(0.4, dtype=float32), Array(0.6875, dtype=float32))
      >>> d.median()
      Array(0.3857274, dtype=float32)
    """

    alpha: jax.Array
    beta: jax.Array
    _params = ("alpha", "beta")

    def __init__(self, alpha: ArrayLike, beta: ArrayLike) -> None:
        self._init_params(alpha=alpha, beta=beta)

    def _canonical(self, values):
        values = float_params(values)
        # positive(): subnormal shapes (1e-310) are > 0 too, though XLA's CPU reads them as 0.
        check_values(values["alpha"], positive, "alpha", "> 0")
        check_values(values["beta"], positive, "beta", "> 0")
        return values

    def _valid(self):
        return positive(self.alpha) & positive(self.beta)

    def _sample(self, key, shape):
        return jax.random.beta(key, self.alpha, self.beta, shape, self.dtype)

    def _log_prob(self, x):
        a, b = self.alpha, self.beta
        y = jnp.clip(x, 0, 1)
        out = special.xlogy(a - 1, y) + special.xlog1py(b - 1, -y) - betaln(a, b)
        return jnp.where((x >= 0) & (x <= 1), out, -jnp.inf)

    def _cdf(self, x):
        return _cdf((self.alpha, self.beta), x)

    def _icdf(self, q):
        a, b, q = jnp.broadcast_arrays(self.alpha, self.beta, q)
        return _quantile((a, b), q)

    def _mean(self):
        return self.alpha / (self.alpha + self.beta)

    def _variance(self):
        a, b = self.alpha, self.beta
        s = a + b
        return a * b / (jnp.square(s) * (s + 1))

    def _entropy(self):
        # Symmetric digamma-difference form: no cancelling large terms (Beta(2, 1e20)).
        return beta_entropy(self.alpha, self.beta)
