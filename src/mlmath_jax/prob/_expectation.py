"""Monte Carlo expectation with its standard error."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from .. import _trees, _validate
from ._stats import mean, std


class ExpectationResult(NamedTuple):
    """Result of :func:`expectation`.

    Attributes:
      estimate: the Monte Carlo mean of ``fun`` over the samples (``fun``'s output shape).
      standard_error: its standard error, ``std(ddof=1) / sqrt(num_samples)``.
    """

    estimate: jax.Array
    standard_error: jax.Array


def expectation(
    fun: Callable[..., Any],
    dist: Any,
    key: jax.Array,
    num_samples: int,
    args: tuple = (),
) -> ExpectationResult:
    """Monte Carlo estimate of ``E[fun(X, *args)]`` for ``X ~ dist``, with its standard error.

    Draws ``dist.sample(key, (num_samples,))`` and averages ``jax.vmap(fun)`` over the
    samples (so ``fun`` is written for one sample, of shape ``batch_shape + event_shape``).
    Reparameterised samples make the estimate differentiable in the distribution's
    parameters and in ``args``. NumPy analogue: ``f(rng.normal(...)).mean()`` with
    ``scipy.stats.sem``.

    The whole computation is one compiled program per (``fun``, distribution family and
    shapes, ``num_samples``, ``args`` shapes): ``fun`` is a static argument and the
    distribution's parameters, ``key`` and ``args`` are traced, so a repeated call with the
    same ``fun`` and new data compiles nothing. Pass data through ``args`` rather than a
    fresh closure (a new function object compiles again).

    Args:
      fun: called as ``fun(x, *args)`` for one sample ``x``; returns an array (any shape).
      dist: a ``prob`` distribution, or any object with ``sample(key, sample_shape)`` (a
        non-pytree object is treated as a static, hashable constant).
      key: a JAX random key.
      num_samples: number of samples (a Python int ``>= 2``; it fixes shapes).
      args: tuple of extra arguments of ``fun`` (arrays or pytrees), passed unchanged.

    Returns:
      ``ExpectationResult(estimate, standard_error)``, each with ``fun``'s output shape.
      The mean is computed with the accurate two-pass algorithm of :func:`mean`.

    Raises:
      ValueError: if ``num_samples < 2``.
      TypeError: if ``fun`` is not callable, ``args`` is not a tuple, ``num_samples`` is
        not a Python int or ``dist`` cannot sample.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> est, se = prob.expectation(
      ...     lambda x, c: (x - c) ** 2, prob.Normal(0.0, 1.0), jax.random.key(0), 10_000,
      ...     args=(jnp.array(1.0),))
      >>> bool(abs(est - 2.0) < 5 * se)
      True
      >>> class Coin:  # any object with .sample(key, shape) works
      ...     def sample(self, key, shape):
      ...         return jax.random.bernoulli(key, 0.5, shape).astype(jnp.float32)
      >>> est, se = prob.expectation(lambda x: x, Coin(), jax.random.key(0), 10_000)
      >>> bool(abs(est - 0.5) < 5 * se)
      True
    """
    _trees.check_fun(fun)
    args = _trees.check_args(args)
    num_samples = _validate.static_int(num_samples, "num_samples", minimum=2)
    if not callable(getattr(dist, "sample", None)):
        raise TypeError(f"dist must have a sample(key, sample_shape) method, got {dist!r}")
    _validate.prng_key(key, "key")
    if jax.tree_util.treedef_is_leaf(jax.tree.structure(dist)):
        # Not a pytree: a static constant of the compiled program (hashed by the object).
        try:
            return _expectation_static_dist(fun, dist, key, num_samples, args)
        except TypeError as exc:
            if "hash" not in str(exc):
                raise
            return _body(fun, dist, key, num_samples, args)  # unhashable: run uncompiled
    return _expectation(fun, dist, key, num_samples, args)


def _body(fun, dist, key, num_samples, args):
    samples = dist.sample(key, (num_samples,))
    values = jax.vmap(lambda x: fun(x, *args))(samples)
    values = _validate.as_real(values, "fun(sample)")
    est = mean(values, axis=0)
    se = std(values, axis=0, ddof=1) / math.sqrt(num_samples)
    return ExpectationResult(est, se)


_expectation = functools.partial(jax.jit, static_argnames=("fun", "num_samples"))(_body)
_expectation_static_dist = functools.partial(
    jax.jit, static_argnames=("fun", "dist", "num_samples")
)(_body)
