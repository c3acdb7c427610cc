"""Monte Carlo expectation with its standard error."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from .. import _validate
from ._stats import mean, std


class ExpectationResult(NamedTuple):
    """Result of :func:`expectation`.

    Attributes:
      estimate: the Monte Carlo mean of ``fn`` over the samples (``fn``'s output shape).
      standard_error: its standard error, ``std(ddof=1) / sqrt(num_samples)``.
    """

    estimate: jax.Array
    standard_error: jax.Array


def expectation(
    fn: Callable[[jax.Array], Any], dist: Any, key: jax.Array, num_samples: int
) -> ExpectationResult:
    """Monte Carlo estimate of ``E[fn(X)]`` for ``X ~ dist``, with its standard error.

    Draws ``dist.sample(key, (num_samples,))`` and averages ``jax.vmap(fn)`` over the
    samples (so ``fn`` is written for one sample, of shape ``batch_shape + event_shape``).
    Reparameterised samples make the estimate differentiable in the distribution's
    parameters. NumPy analogue: ``f(rng.normal(...)).mean()`` with
    ``scipy.stats.sem``.

    Args:
      fn: maps one sample to an array (any shape).
      dist: any object with ``sample(key, sample_shape)``, such as a ``prob`` distribution.
      key: a JAX random key.
      num_samples: number of samples (a Python int ``>= 2``; it fixes shapes).

    Returns:
      ``ExpectationResult(estimate, standard_error)``, each with ``fn``'s output shape.
      The mean is computed with the accurate two-pass algorithm of :func:`mean`.

    Raises:
      ValueError: if ``num_samples < 2``.
      TypeError: if ``num_samples`` is not a Python int or ``dist`` cannot sample.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> class Coin:  # any object with .sample(key, shape) works
      ...     def sample(self, key, shape):
      ...         return jax.random.bernoulli(key, 0.5, shape).astype(jnp.float32)
      >>> est, se = prob.expectation(lambda x: x, Coin(), jax.random.key(0), 10_000)
      >>> bool(abs(est - 0.5) < 5 * se)
      True
    """
    num_samples = _validate.static_int(num_samples, "num_samples", minimum=2)
    if not callable(getattr(dist, "sample", None)):
        raise TypeError(f"dist must have a sample(key, sample_shape) method, got {dist!r}")
    samples = dist.sample(key, (num_samples,))
    values = jax.vmap(fn)(samples)
    values = _validate.as_real(values, "fn(sample)")
    est = mean(values, axis=0)
    se = std(values, axis=0, ddof=1) / math.sqrt(num_samples)
    return ExpectationResult(est, se)
