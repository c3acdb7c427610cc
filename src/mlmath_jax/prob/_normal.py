"""The normal (Gaussian) distribution."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from jax.scipy import special
from jax.typing import ArrayLike

from ._distribution import Continuous, check_values, float_params, register

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@register
@dataclasses.dataclass(frozen=True, eq=False)
class Normal(Continuous):
    """Normal distribution ``N(loc, scale**2)``, as ``scipy.stats.norm(loc, scale)``.

    Attributes:
      loc: mean, any shape (broadcasts with ``scale`` to ``batch_shape``).
      scale: standard deviation, ``> 0``.

    Raises:
      ValueError: if a concrete ``scale`` is not ``> 0``; traced invalid values give NaN.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax.prob import Normal
      >>> d = Normal(jnp.array([0.0, 1.0]), 2.0)
      >>> d.batch_shape, d.event_shape
      ((2,), ())
      >>> d.cdf(jnp.array([0.0, 1.0]))
      Array([0.5, 0.5], dtype=float32)
      >>> d.icdf(0.975)
      Array([3.919928, 4.919928], dtype=float32)
    """

    loc: jax.Array
    scale: jax.Array
    _params = ("loc", "scale")

    def __init__(self, loc: ArrayLike, scale: ArrayLike) -> None:
        self._init_params(loc=loc, scale=scale)

    def _canonical(self, values):
        values = float_params(values)
        check_values(values["scale"], lambda s: s > 0, "scale", "> 0")
        return values

    def _valid(self):
        return self.scale > 0

    def _sample(self, key, shape):
        z = jax.random.normal(key, shape, self.dtype)
        return self.loc + self.scale * z

    def _log_prob(self, x):
        z = (x - self.loc) / self.scale
        return -0.5 * z * z - jnp.log(self.scale) - _HALF_LOG_2PI

    def _cdf(self, x):
        return special.ndtr((x - self.loc) / self.scale)

    def _icdf(self, q):
        return self.loc + self.scale * special.ndtri(q)

    def _median(self):
        return self.loc

    def _mean(self):
        return self.loc

    def _variance(self):
        return jnp.square(self.scale)

    def _entropy(self):
        return 0.5 + _HALF_LOG_2PI + jnp.log(self.scale)
