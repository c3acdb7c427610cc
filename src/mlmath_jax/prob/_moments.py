"""Mergeable running moments (count, mean, sum of squared deviations).

Merging uses the parallel update of Chan, Golub and LeVeque (1979): statistics of parts
(streamed chunks, or one part per device) combine into the statistics of the whole with
no cancellation, unlike merging raw sums of squares.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _validate
from ._stats import _axes, _reduction, centred_sums


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True, eq=False)
class Moments:
    r"""Running first and second moments of data, mergeable across parts.

    Attributes:
      count: number of data points (a float array, so counts from many parts add exactly
        up to ``2**24`` in float32 and ``2**53`` in float64).
      mean: the mean of the data.
      m2: the sum of squared deviations from the mean, $\sum_i (x_i - \bar x)^2$.

    All three have the same shape (the data's shape with the reduced axes removed). A part
    with no data has ``count = 0``, ``mean = 0`` and ``m2 = 0``; merging with it changes
    nothing. Comparable to ``sklearn.utils.extmath._incremental_mean_and_var``.
    ``==`` is object identity (it never raises); compare the fields for equal values.

    References:
      T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for computing the sample
      variance: analysis and recommendations", The American Statistician 37(3), pp. 242-247,
      1983.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> a = prob.Moments.from_data(jnp.array([1.0, 2.0, 3.0]))
      >>> b = prob.Moments.from_data(jnp.array([4.0, 5.0]))
      >>> m = a.merge(b)
      >>> print(m.count, m.mean, m.m2, m.variance(), m.variance(ddof=1))
      5.0 3.0 10.0 2.0 2.5
    """

    count: jax.Array
    mean: jax.Array
    m2: jax.Array

    @classmethod
    def from_data(cls, x: ArrayLike, axis: int | Sequence[int] | None = 0) -> Moments:
        """Moments of ``x`` over ``axis`` (an int, a tuple of ints, or ``None`` for all).

        Args:
          x: real array of any shape.
          axis: the axes reduced; the other axes index independent statistics.

        Returns:
          ``Moments`` with the shape of ``x`` with ``axis`` removed.

        Raises:
          ValueError: if an axis is out of range or repeated.
          TypeError: if ``x`` is not a real numeric array.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import prob
          >>> print(prob.Moments.from_data(jnp.array([[1.0, 4.0], [3.0, 8.0]])).mean)
          [2. 6.]
        """
        arr = _validate.as_real(x, "x")
        return _from_data(arr, _axes(axis, arr.ndim))

    def merge(self, other: Moments) -> Moments:
        """Combine with the moments of another part (Chan, Golub and LeVeque's parallel update).

        Args:
          other: moments of disjoint data with a broadcast-compatible shape.

        Returns:
          The moments of the union of both parts.

        Raises:
          TypeError: if ``other`` is not ``Moments``.
          ValueError: if the two shapes do not broadcast.

        References:
          T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for computing the sample
          variance: analysis and recommendations", The American Statistician 37(3), pp. 242-247,
          1983.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import prob
          >>> a = prob.Moments.from_data(jnp.array([1e4, 1e4 + 2.0]))
          >>> print(a.merge(prob.Moments.from_data(jnp.array([1e4 + 4.0]))).variance())
          2.6666667
        """
        if not isinstance(other, Moments):
            raise TypeError(f"other must be Moments, got {type(other).__name__}")
        shapes = (jnp.shape(self.mean), jnp.shape(other.mean))
        try:
            jnp.broadcast_shapes(*shapes)
        except ValueError:
            raise ValueError(
                f"other: moments of shape {shapes[1]} do not broadcast with these moments of "
                f"shape {shapes[0]}"
            ) from None
        return _merge(self, other)

    def variance(self, ddof: int = 0) -> jax.Array:
        """Variance ``m2 / (count - ddof)`` (divisor clipped at 0, as ``numpy.var``).

        Args:
          ddof: delta degrees of freedom (a Python int).

        Returns:
          The variance, with the shape of ``mean``. No data gives NaN.

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax import prob
          >>> print(prob.Moments.from_data(jnp.array([1.0, 3.0])).variance(ddof=1))
          2.0
        """
        ddof = _validate.static_int(ddof, "ddof")
        return self.m2 / jnp.maximum(self.count - ddof, 0)


@functools.partial(jax.jit, static_argnames=("axes",))
def _from_data(arr: jax.Array, axes: tuple[int, ...]) -> Moments:
    arr, axes, n, out_shape = _reduction(arr, axes)
    count = jnp.full(out_shape, n, arr.dtype)
    if n == 0:
        zero = jnp.zeros(out_shape, arr.dtype)
        return Moments(count, zero, zero)
    return Moments(count, *centred_sums(arr, axes))  # both with the axes removed


@jax.jit
def _merge(self: Moments, other: Moments) -> Moments:
    n = self.count + other.count
    safe_n = jnp.where(n > 0, n, 1)
    delta = other.mean - self.mean
    frac = jnp.where(n > 0, other.count / safe_n, 0)
    new_mean = self.mean + delta * frac
    new_m2 = self.m2 + other.m2 + delta * delta * self.count * frac
    return Moments(n, new_mean, new_m2)
