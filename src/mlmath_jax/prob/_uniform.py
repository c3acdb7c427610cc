"""The continuous uniform distribution."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from ._distribution import Continuous, check_values, float_params, register


@register
@dataclasses.dataclass(frozen=True, eq=False)
class Uniform(Continuous):
    """Uniform distribution on ``[low, high]``, as ``scipy.stats.uniform(low, high - low)``.

    SciPy parameterises by ``loc=low`` and ``scale=high - low``; the density is
    ``1 / (high - low)`` on the closed interval.

    Attributes:
      low: lower end, any shape (broadcasts with ``high``).
      high: upper end, ``> low``.

    Raises:
      ValueError: if concrete ``high <= low``; traced invalid values give NaN.

    Examples:
      >>> from mlmath_jax.prob import Uniform
      >>> d = Uniform(0.0, 4.0)
      >>> d.mean(), d.variance()
      (Array(2., dtype=float32), Array(1.3333334, dtype=float32))
      >>> d.log_prob(5.0)
      Array(-inf, dtype=float32)
    """

    low: jax.Array
    high: jax.Array
    _params = ("low", "high")

    def __init__(self, low: ArrayLike, high: ArrayLike) -> None:
        self._init_params(low=low, high=high)

    def _canonical(self, values):
        values = float_params(values)
        width = values["high"] - values["low"]
        check_values(width, lambda w: w > 0, "high", "> low")
        return values

    def _valid(self):
        return self.high > self.low

    def _sample(self, key, shape):
        u = jax.random.uniform(key, shape, self.dtype)
        return self.low + (self.high - self.low) * u

    def _log_prob(self, x):
        inside = (x >= self.low) & (x <= self.high)
        return jnp.where(inside, -jnp.log(self.high - self.low), -jnp.inf)

    def _cdf(self, x):
        return jnp.clip((x - self.low) / (self.high - self.low), 0, 1)

    def _icdf(self, q):
        return self.low + (self.high - self.low) * q

    def _median(self):
        return 0.5 * (self.low + self.high)

    def _mean(self):
        return 0.5 * (self.low + self.high)

    def _variance(self):
        return jnp.square(self.high - self.low) / 12

    def _entropy(self):
        return jnp.log(self.high - self.low)
