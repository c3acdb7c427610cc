"""The exponential distribution."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from ._distribution import Continuous, check_values, float_params, register


@register
@dataclasses.dataclass(frozen=True, eq=False)
class Exponential(Continuous):
    """Exponential distribution with ``rate``, as ``scipy.stats.expon(scale=1 / rate)``.

    Density ``rate * exp(-rate * x)`` for ``x >= 0``; SciPy uses ``scale = 1 / rate``.

    Attributes:
      rate: ``> 0``, any shape.

    Raises:
      ValueError: if a concrete ``rate`` is not ``> 0``; traced invalid values give NaN.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax.prob import Exponential
      >>> d = Exponential(jnp.array([1.0, 2.0]))
      >>> d.cdf(1.0)
      Array([0.63212055, 0.86466473], dtype=float32)
      >>> d.median()
      Array([0.6931472, 0.3465736], dtype=float32)
    """

    rate: jax.Array
    _params = ("rate",)

    def __init__(self, rate: ArrayLike) -> None:
        self._init_params(rate=rate)

    def _canonical(self, values):
        values = float_params(values)
        check_values(values["rate"], lambda r: r > 0, "rate", "> 0")
        return values

    def _valid(self):
        return self.rate > 0

    def _sample(self, key, shape):
        return jax.random.exponential(key, shape, self.dtype) / self.rate

    def _log_prob(self, x):
        return jnp.where(x >= 0, jnp.log(self.rate) - self.rate * x, -jnp.inf)

    def _cdf(self, x):
        return -jnp.expm1(-self.rate * jnp.maximum(x, 0))

    def _icdf(self, q):
        return -jnp.log1p(-q) / self.rate

    def _median(self):
        return math.log(2) / self.rate

    def _mean(self):
        return 1 / self.rate

    def _variance(self):
        return 1 / jnp.square(self.rate)

    def _entropy(self):
        return 1 - jnp.log(self.rate)
