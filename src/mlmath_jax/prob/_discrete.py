"""Discrete families: Bernoulli, Binomial, Categorical, Poisson.

Samples are integers (``jnp.int32``, the platform int); ``log_prob`` is ``-inf`` at
non-integers and outside the support, ``cdf`` is a step function of ``floor(x)`` and
``median`` is SciPy's ``ppf(0.5)``: the smallest support point with ``cdf >= 1/2``.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy import special
from jax.typing import ArrayLike

from .. import _validate
from ._distribution import (
    Univariate,
    as_param,
    check_values,
    float_params,
    probs_sum_to_one,
    register,
)
from ._special import betainc, betaln, safe_log

_INT = jnp.int32


def _is_integer(x: jax.Array) -> jax.Array:
    return x == jnp.floor(x)


def _first_at_least_half(cdf, start: jax.Array, count: int) -> jax.Array:
    """Smallest of ``start, start + 1, ..., start + count - 1`` with ``cdf >= 1/2``."""
    ks = start[..., None] + jnp.arange(count, dtype=start.dtype)
    ok = cdf(ks) >= 0.5
    return start + jnp.argmax(ok, axis=-1).astype(start.dtype)


def _entropy_sum(log_pmf, mean, sd, lower, upper, half_nodes: int = 128):
    """``-sum_k p_k log p_k`` over the integers in ``[lower, upper]``.

    When the spread is small (``12 sd + 8 <= half_nodes``) this sums exactly over the
    integers within 12 sd + 8 of the mean. Otherwise the pmf's continuous extension (via
    ``gammaln``) is smooth on the scale of ``sd``, the sum over the integers equals the
    integral to ``exp(-2 pi^2 sd^2)`` (Poisson summation) and the trapezoid rule on a grid
    of spacing ``~0.1 sd`` gives the integral to float precision.
    """
    half = 12 * sd + 8
    exact = half <= half_nodes
    h = jnp.where(exact, 1.0, half / half_nodes)
    center = jnp.where(exact, jnp.round(mean), mean)
    j = jnp.arange(-half_nodes, half_nodes + 1, dtype=mean.dtype)
    x = center[..., None] + h[..., None] * j
    inside = (x >= lower[..., None]) & (x <= upper[..., None])
    lp = log_pmf(jnp.where(inside, x, center[..., None]))
    terms = jnp.where(inside & (lp > -jnp.inf), -jnp.exp(lp) * lp, 0)
    return h * jnp.sum(terms, axis=-1)


@register
@dataclasses.dataclass(frozen=True, eq=False)
class Bernoulli(Univariate):
    """Bernoulli distribution on ``{0, 1}``, as ``scipy.stats.bernoulli(probs)``.

    Attributes:
      probs: ``P(X = 1)`` in ``[0, 1]``, any shape.

    Raises:
      ValueError: if a concrete ``probs`` lies outside ``[0, 1]``; traced invalid values
        give NaN (samples ``-1``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax.prob import Bernoulli
      >>> d = Bernoulli(jnp.array([0.2, 0.7]))
      >>> d.mean(), d.median()
      (Array([0.2, 0.7], dtype=float32), Array([0., 1.], dtype=float32))
      >>> d.log_prob(1)
      Array([-1.609438  , -0.35667497], dtype=float32)
    """

    probs: jax.Array
    _params = ("probs",)

    def __init__(self, probs: ArrayLike) -> None:
        self._init_params(probs=probs)

    def _canonical(self, values):
        values = float_params(values)
        check_values(values["probs"], lambda p: (p >= 0) & (p <= 1), "probs", "in [0, 1]")
        return values

    def _valid(self):
        return (self.probs >= 0) & (self.probs <= 1)

    def _sample(self, key, shape):
        return (jax.random.uniform(key, shape, self.dtype) < self.probs).astype(_INT)

    def _log_prob(self, x):
        p = self.probs
        out = jnp.where(x == 1, jnp.log(p), jnp.log1p(-p))
        return jnp.where((x == 0) | (x == 1), out, -jnp.inf)

    def _cdf(self, x):
        return jnp.where(x < 0, 0, jnp.where(x < 1, 1 - self.probs, 1)).astype(self.dtype)

    def _median(self):
        return jnp.where(1 - self.probs >= 0.5, 0, 1).astype(self.dtype)

    def _mean(self):
        return self.probs

    def _variance(self):
        return self.probs * (1 - self.probs)

    def _entropy(self):
        p = self.probs
        return special.entr(p) + special.entr(1 - p)


def _binomial_log_pmf(n, p, k):
    # log C(n, k) = -log(n + 1) - betaln(n - k + 1, k + 1): betaln avoids the cancellation
    # of three gammaln terms.
    comb = -jnp.log1p(n) - betaln(n - k + 1, k + 1)
    return comb + special.xlogy(k, p) + special.xlog1py(n - k, -p)


def _binomial_cdf(n, p, x):
    k = jnp.floor(x)
    inside = (k >= 0) & (k < n)
    kk = jnp.where(inside, k, 0)
    # P(X <= k) = I_{1-p}(n - k, k + 1), with y = p passed exactly (n huge, p tiny).
    val = betainc(jnp.where(inside, n - kk, 1), kk + 1, 1 - p, p)
    return jnp.where(k < 0, 0, jnp.where(k >= n, 1, val))


@register
@dataclasses.dataclass(frozen=True, eq=False)
class Binomial(Univariate):
    """Binomial distribution, as ``scipy.stats.binom(total_count, probs)``.

    Attributes:
      total_count: number of trials, a non-negative integer value (stored as float).
      probs: success probability in ``[0, 1]``.

    Raises:
      ValueError: if a concrete ``total_count`` is negative or not integer-valued, or
        ``probs`` lies outside ``[0, 1]``; traced invalid values give NaN (samples ``-1``).

    Note:
      ``log_prob`` and ``entropy`` use ``betaln``, so float32 keeps about
      ``1e-7 * log(total_count!)`` absolute accuracy: use float64 for counts in the
      millions.

    Examples:
      >>> from mlmath_jax.prob import Binomial
      >>> d = Binomial(10, 0.3)
      >>> d.mean(), d.variance(), d.median()
      (Array(3., dtype=float32), Array(2.1000001, dtype=float32), Array(3., dtype=float32))
      >>> d.cdf(3)
      Array(0.64961..., dtype=float32)
    """

    total_count: jax.Array
    probs: jax.Array
    _params = ("total_count", "probs")
    _sample_range = ("total_count", float(2**31 - 1))

    def __init__(self, total_count: ArrayLike, probs: ArrayLike) -> None:
        self._init_params(total_count=total_count, probs=probs)

    def _canonical(self, values):
        values = float_params(values)
        check_values(
            values["total_count"],
            lambda n: (n >= 0) & _is_integer(n),
            "total_count",
            "a non-negative integer",
        )
        check_values(values["probs"], lambda p: (p >= 0) & (p <= 1), "probs", "in [0, 1]")
        return values

    def _valid(self):
        n, p = self.total_count, self.probs
        return (n >= 0) & _is_integer(n) & (p >= 0) & (p <= 1)

    def _sample(self, key, shape):
        n = jnp.broadcast_to(self.total_count, shape)
        p = jnp.broadcast_to(self.probs, shape)
        # jax.random.binomial is NaN for p in {0, 1}: those are deterministic.
        safe_p = jnp.clip(p, jnp.finfo(self.dtype).tiny, 1 - jnp.finfo(self.dtype).epsneg)
        draw = jax.random.binomial(key, n, safe_p, shape, self.dtype)
        draw = jnp.where(p <= 0, 0, jnp.where(p >= 1, n, draw))
        return draw.astype(_INT)

    def _log_prob(self, x):
        n, p = self.total_count, self.probs
        ok = _is_integer(x) & (x >= 0) & (x <= n)
        return jnp.where(ok, _binomial_log_pmf(n, p, jnp.where(ok, x, 0)), -jnp.inf)

    def _cdf(self, x):
        return _binomial_cdf(self.total_count, self.probs, x)

    def _median(self):
        n, p = self.total_count, self.probs
        # Any median lies in [floor(np), ceil(np)] (Kaas & Buhrman 1980).
        start = jnp.clip(jnp.floor(n * p) - 1, 0, None)
        med = _first_at_least_half(lambda k: _binomial_cdf(n[..., None], p[..., None], k), start, 4)
        return jnp.minimum(med, n)

    def _mean(self):
        return self.total_count * self.probs

    def _variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def _entropy(self):
        n, p = self.total_count, self.probs
        sd = jnp.sqrt(n * p * (1 - p))
        return _entropy_sum(
            lambda k: _binomial_log_pmf(n[..., None], p[..., None], k),
            n * p,
            sd,
            jnp.zeros_like(n),
            n,
        )


def _poisson_log_pmf(rate, k):
    return special.xlogy(k, rate) - rate - special.gammaln(k + 1)


def _poisson_log_pmf_stable(rate, k):
    """``log pmf`` without the cancellation of ``k log(rate)`` against ``gammaln(k + 1)``.

    For ``k >= 10`` Stirling's series gives ``-rate ((1 + t) log1p(t) - t) - log(2 pi k) / 2
    - 1/(12 k) + 1/(360 k^3)`` with ``t = (k - rate) / rate``: every term is O(1) near the
    mode, so float32 keeps ~1e-6 relative accuracy at rates in the millions.
    """
    kk = jnp.maximum(k, 10)
    r = jnp.maximum(rate, jnp.finfo(jnp.result_type(rate)).tiny)
    t = (kk - r) / r
    stirling = (
        -r * ((1 + t) * jnp.log1p(t) - t)
        - 0.5 * jnp.log(2 * math.pi * kk)
        - 1 / (12 * kk)
        + 1 / (360 * kk**3)
    )
    return jnp.where(k < 10, _poisson_log_pmf(rate, k), stirling)


def _poisson_log_prob(rate, k):
    """``log pmf``: Stirling form where both ``rate`` and ``k`` are ``>= 10``.

    ``k log(rate) - gammaln(k + 1)`` cancels in float32 at large rates (``Poisson(1e6)``
    at its mode gave -7.0 for -7.83); the other branch gets safe inputs so gradients stay
    finite.
    """
    use = (rate >= 10) & (k >= 10)
    r, kk = jnp.where(use, rate, 10), jnp.where(use, k, 10)
    return jnp.where(use, _poisson_log_pmf_stable(r, kk), _poisson_log_pmf(rate, k))


def _poisson_cdf(rate, x):
    k = jnp.floor(x)
    return jnp.where(k < 0, 0, special.gammaincc(jnp.maximum(k, 0) + 1, rate))


def _poisson_small(key, rate, shape):
    # Sequential inversion for rate < 10: at most ~40 steps, all elements in lock-step.
    u = jax.random.uniform(key, shape, rate.dtype)
    eps = jnp.finfo(rate.dtype).eps
    p0 = jnp.exp(-rate)

    def cond(state):
        return jnp.any(state[3])

    def body(state):
        k, p, s, active = state
        k = k + active
        p = jnp.where(active, p * rate / jnp.maximum(k, 1), p)
        s = s + jnp.where(active, p, 0)
        # Stop once the tail is below rounding (u can exceed the float sum of the pmf).
        active = active & (u > s) & ((p > eps * s) | (k < rate))
        return k, p, s, active

    init = (jnp.zeros(shape, rate.dtype), p0, p0, u > p0)
    k, *_ = lax.while_loop(cond, body, init)
    return k


def _poisson_large(key, rate, shape):
    # Transformed rejection with squeeze (PTRS, Hormann 1993) for rate >= 10, all elements
    # drawing in lock-step until every one has accepted.
    dtype = rate.dtype
    slam = jnp.sqrt(rate)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    log_inv_alpha = jnp.log(1.1239 + 1.1328 / (b - 3.4))
    vr = 0.9277 - 3.6224 / (b - 2)

    def log_pmf(k):
        return _poisson_log_pmf_stable(rate, k)

    def cond(state):
        return jnp.any(~state[1])

    def body(state):
        k, done, i = state
        ku, kv = jax.random.split(jax.random.fold_in(key, i))
        u = jax.random.uniform(ku, shape, dtype) - 0.5
        v = jax.random.uniform(kv, shape, dtype)
        us = 0.5 - jnp.abs(u)
        cand = jnp.floor((2 * a / us + b) * u + rate + 0.43)
        quick = (us >= 0.07) & (v <= vr)
        reject = (cand < 0) | ((us < 0.013) & (v > us))
        lhs = jnp.log(v) + log_inv_alpha - jnp.log(a / (us * us) + b)
        accept = quick | (~reject & (lhs <= log_pmf(cand)))
        take = accept & ~done
        return jnp.where(take, cand, k), done | accept, i + 1

    init = (jnp.zeros(shape, dtype), jnp.zeros(shape, bool), jnp.zeros((), jnp.uint32))
    k, _, _ = lax.while_loop(cond, body, init)
    return k


@register
@dataclasses.dataclass(frozen=True, eq=False)
class Poisson(Univariate):
    """Poisson distribution, as ``scipy.stats.poisson(rate)`` (SciPy's ``mu``).

    Sampling is our own (inversion for ``rate < 10``, Hörmann's PTRS rejection above), so
    it works with every key implementation (``jax.random.poisson`` is threefry-only).

    Attributes:
      rate: mean ``>= 0``, any shape.

    Raises:
      ValueError: if a concrete ``rate`` is negative; traced invalid values give NaN
        (samples ``-1``).

    References:
      W. Hörmann, "The transformed rejection method for generating Poisson random
      variables", Insurance: Mathematics and Economics 12(1), pp. 39-45, 1993.

    Examples:
      >>> from mlmath_jax.prob import Poisson
      >>> d = Poisson(3.0)
      >>> d.log_prob(2), d.median()
      (Array(-1.4959228, dtype=float32), Array(3., dtype=float32))
    """

    rate: jax.Array
    _params = ("rate",)
    _sample_range = ("rate", 2e9)  # draws stay below rate + 20 sqrt(rate) < 2**31

    def __init__(self, rate: ArrayLike) -> None:
        self._init_params(rate=rate)

    def _canonical(self, values):
        values = float_params(values)
        check_values(values["rate"], lambda r: r >= 0, "rate", ">= 0")
        return values

    def _valid(self):
        return self.rate >= 0

    def _sample(self, key, shape):
        rate = jnp.broadcast_to(jnp.where(self.rate >= 0, self.rate, 0), shape)
        k_small, k_large = jax.random.split(key)
        small = _poisson_small(k_small, jnp.minimum(rate, 10), shape)
        large = _poisson_large(k_large, jnp.maximum(rate, 10), shape)
        return jnp.where(rate < 10, small, large).astype(_INT)

    def _log_prob(self, x):
        ok = _is_integer(x) & (x >= 0)
        return jnp.where(ok, _poisson_log_prob(self.rate, jnp.where(ok, x, 0)), -jnp.inf)

    def _cdf(self, x):
        return _poisson_cdf(self.rate, x)

    def _median(self):
        rate = self.rate
        # The median lies in [rate - log 2, rate + 1/3) (Choi 1994).
        start = jnp.clip(jnp.floor(rate - math.log(2)) - 1, 0, None)
        return _first_at_least_half(lambda k: _poisson_cdf(rate[..., None], k), start, 5)

    def _mean(self):
        return self.rate

    def _variance(self):
        return self.rate

    def _entropy(self):
        rate = self.rate
        return _entropy_sum(
            lambda k: _poisson_log_pmf_stable(rate[..., None], k),
            rate,
            jnp.sqrt(rate),
            jnp.zeros_like(rate),
            jnp.full_like(rate, jnp.inf),
        )


@register
@dataclasses.dataclass(frozen=True, eq=False)
class Categorical(Univariate):
    """Categorical distribution on ``{0, ..., K - 1}``, as ``scipy.stats.rv_discrete``.

    ``mean``, ``variance``, ``cdf`` and ``median`` treat the categories as the numbers
    ``0..K-1``, exactly as ``scipy.stats.rv_discrete(values=(range(K), probs))``.
    Sampling inverts the cumulative probabilities with one uniform per draw (faster than
    Gumbel-max for K > 1); probabilities are resolved to the uniform's granularity (2^-23
    in float32, 2^-52 in float64), and zero-probability categories are never drawn.

    Attributes:
      probs: ``[..., K]`` probabilities (last axis is the event's categories), each in
        ``[0, 1]`` and summing to 1 within ``sqrt(eps)``.

    Raises:
      ValueError: if ``probs`` is a scalar, or concrete ``probs`` has entries outside
        ``[0, 1]`` or rows not summing to 1; traced invalid values give NaN (samples ``-1``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax.prob import Categorical
      >>> d = Categorical(jnp.array([0.2, 0.5, 0.3]))
      >>> d.batch_shape, d.event_shape
      ((), ())
      >>> d.mean(), d.median(), d.cdf(1)
      (Array(1.1, dtype=float32), Array(1., dtype=float32), Array(0.7, dtype=float32))
    """

    probs: jax.Array
    _params = ("probs",)

    def __init__(self, probs: ArrayLike) -> None:
        self._init_params(probs=probs)

    def _canonical(self, values):
        probs = _validate.at_least_rank(
            as_param(values["probs"], "probs"), 1, "probs", "a [..., K] array"
        )
        if probs.shape[-1] == 0:
            raise ValueError(
                f"probs must have at least 1 category on its last axis, got shape {probs.shape}"
            )
        probs = float_params({"probs": probs})["probs"]
        check_values(probs, lambda p: (p >= 0) & (p <= 1), "probs", "in [0, 1]")
        probs_sum_to_one(probs, "probs")
        return {"probs": probs}

    @property
    def batch_shape(self):
        """Shape of the batch of distributions: ``probs.shape[:-1]``."""
        return tuple(self.probs.shape[:-1])

    @property
    def event_shape(self):
        """``()``: a draw is one category index."""
        return ()

    @property
    def num_categories(self) -> int:
        """``K``, the number of categories."""
        return self.probs.shape[-1]

    def _valid(self):
        p = self.probs
        tol = jnp.sqrt(jnp.finfo(p.dtype).eps)
        return jnp.all((p >= 0) & (p <= 1), -1) & (jnp.abs(jnp.sum(p, -1) - 1) <= tol)

    def _sample(self, key, shape):
        k = self.num_categories
        cdf = jnp.cumsum(self.probs, axis=-1)
        u = jax.random.uniform(key, shape, self.dtype) * cdf[..., -1]
        # Index of the first category whose cumulative probability exceeds u; categories of
        # zero probability have empty intervals. Clamp to the last non-zero category for
        # the rounding case u == total.
        last = k - 1 - jnp.argmax(jnp.flip(self.probs > 0, -1), axis=-1)
        if k <= 64:
            idx = jnp.sum(cdf <= u[..., None], axis=-1)
        else:
            batch = self.batch_shape
            n = math.prod(shape[: len(shape) - len(batch)])
            flat_u = jnp.moveaxis(u.reshape((n,) + batch), 0, -1).reshape(-1, n)
            flat_cdf = cdf.reshape(-1, k)
            idx = jax.vmap(lambda c, v: jnp.searchsorted(c, v, side="right"))(flat_cdf, flat_u)
            idx = jnp.moveaxis(idx.reshape(batch + (n,)), -1, 0).reshape(shape)
        return jnp.minimum(idx, last).astype(_INT)

    def _log_prob(self, x):
        k = self.num_categories
        ok = _is_integer(x) & (x >= 0) & (x < k)
        idx = jnp.where(ok, x, 0).astype(_INT)
        # safe_log: a subnormal probability (1e-40 in float32) has log -92.1, not -inf.
        logp = safe_log(self.probs)
        shape = jnp.broadcast_shapes(idx.shape, self.batch_shape)
        logp = jnp.broadcast_to(logp, shape + (k,))
        picked = jnp.take_along_axis(logp, jnp.broadcast_to(idx, shape)[..., None], -1)[..., 0]
        return jnp.where(ok, picked, -jnp.inf)

    def _cdf(self, x):
        k = self.num_categories
        cdf = jnp.cumsum(self.probs, axis=-1)
        idx = jnp.floor(x)
        shape = jnp.broadcast_shapes(idx.shape, self.batch_shape)
        cdf = jnp.broadcast_to(cdf, shape + (k,))
        inside = jnp.clip(idx, 0, k - 1).astype(_INT)
        val = jnp.take_along_axis(cdf, jnp.broadcast_to(inside, shape)[..., None], -1)[..., 0]
        return jnp.where(idx < 0, 0, jnp.where(idx >= k - 1, 1, val)).astype(x.dtype)

    def _median(self):
        cdf = jnp.cumsum(self.probs, axis=-1)
        return jnp.argmax(cdf >= 0.5, axis=-1).astype(self.dtype)

    def _values(self):
        return jnp.arange(self.num_categories, dtype=self.dtype)

    def _mean(self):
        return jnp.sum(self.probs * self._values(), axis=-1)

    def _variance(self):
        dev = self._values() - self._mean()[..., None]
        return jnp.sum(self.probs * dev * dev, axis=-1)

    def _entropy(self):
        return jnp.sum(special.entr(self.probs), axis=-1)
