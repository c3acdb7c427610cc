"""Maximum-likelihood fits of the :mod:`mlmath_jax.prob` families."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy import special
from jax.typing import ArrayLike

from .. import _validate, prob

_HI = lax.Precision.HIGHEST
_MAX_NEWTON = 100


def _check_support(data: jax.Array, ok: Callable[[jax.Array], jax.Array], family: str, what: str):
    """Raise ``ValueError`` naming ``data`` if concrete values fall outside the support."""
    if _validate.is_concrete(data) and data.size and not bool(jnp.all(ok(data))):
        raise ValueError(f"data must be {what} for {family}")


def _samples(data: ArrayLike, rank: int) -> jax.Array:
    """``data`` with samples on axis 0 (and ``rank`` event axes last)."""
    data = _validate.as_real(data, "data")
    if data.ndim < 1 + rank:
        what = "[n, ...]" if rank == 0 else "[n, ..., d]"
        raise ValueError(f"data must be {what} with samples on axis 0, got shape {data.shape}")
    if data.shape[0] == 0:
        raise ValueError(f"data must hold at least one sample, got shape {data.shape}")
    return data


def _is_integer(x: jax.Array) -> jax.Array:
    return x == jnp.round(x)


def _mean(x: jax.Array) -> jax.Array:
    return jnp.mean(x, axis=0)


@jax.jit
def _gamma_shape(s: jax.Array) -> jax.Array:
    """Solve ``log a - digamma(a) = s`` (``s > 0``) for the gamma shape ``a`` by Newton."""
    # Minka's closed-form start, then Newton on the convex decreasing left side.
    a = (3.0 - s + jnp.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    eps = jnp.finfo(s.dtype).eps

    def body(state):
        it, a, _ = state
        f = jnp.log(a) - special.digamma(a) - s
        df = 1.0 / a - special.polygamma(1, a)
        new = a - f / df
        new = jnp.where(new > 0, new, 0.5 * a)
        change = jnp.max(jnp.abs(new - a) / a, initial=0.0)
        return it + 1, new, change

    def cond(state):
        it, _, change = state
        return (it < _MAX_NEWTON) & (change > 4 * eps)

    _, a, _ = lax.while_loop(cond, body, (0, a, jnp.asarray(jnp.inf, s.dtype)))
    return a


@jax.jit
def _dirichlet_concentration(mean_log: jax.Array, mean_p: jax.Array) -> jax.Array:
    """Maximise the Dirichlet likelihood from sufficient statistics (Minka's Newton).

    ``mean_log[..., k]`` is the sample mean of ``log p_k``; ``mean_p`` the mean of ``p``
    (for the moment-matching start). The Hessian is diagonal plus rank one, so a step is
    ``O(K)``; steps are halved until the likelihood increases and ``a`` stays positive.
    """
    eps = jnp.finfo(mean_log.dtype).eps

    def loglik(a):
        return (
            special.gammaln(jnp.sum(a, -1))
            - jnp.sum(special.gammaln(a), -1)
            + jnp.sum((a - 1.0) * mean_log, -1)
        )

    # Moment-matching start: the precision from E[log p] via Minka's approximation.
    k = mean_log.shape[-1]
    entropy_gap = jnp.sum(mean_p * (jnp.log(mean_p) - mean_log), -1, keepdims=True)
    precision = (k - 1) / (2.0 * jnp.maximum(entropy_gap, eps))
    a0 = mean_p * precision

    def body(state):
        it, a, _ = state
        a_sum = jnp.sum(a, -1, keepdims=True)
        g = special.digamma(a_sum) - special.digamma(a) + mean_log
        q = -special.polygamma(1, a)
        z = special.polygamma(1, a_sum)
        b = jnp.sum(g / q, -1, keepdims=True) / (1.0 / z + jnp.sum(1.0 / q, -1, keepdims=True))
        step = (g - b) / q
        f0 = loglik(a)

        def ls_cond(ls):
            t, halvings = ls
            trial = a - t * step
            bad = jnp.any(trial <= 0) | jnp.any(loglik(trial) < f0 - 16 * eps * jnp.abs(f0))
            return bad & (halvings < 60)

        t, _ = lax.while_loop(ls_cond, lambda ls: (0.5 * ls[0], ls[1] + 1), (1.0, 0))
        new = jnp.where(jnp.all(a - t * step > 0), a - t * step, a)
        change = jnp.max(jnp.abs(new - a) / a, initial=0.0)
        return it + 1, new, change

    def cond(state):
        it, _, change = state
        return (it < _MAX_NEWTON) & (change > 4 * eps)

    _, a, _ = lax.while_loop(cond, body, (0, a0, jnp.asarray(jnp.inf, mean_log.dtype)))
    return a


def _fit_normal(data, **_):
    mean = _mean(data)
    return prob.Normal(mean, jnp.sqrt(_mean((data - mean) ** 2)))  # two-pass, ddof 0


def _fit_uniform(data, **_):
    return prob.Uniform(jnp.min(data, axis=0), jnp.max(data, axis=0))


def _fit_exponential(data, **_):
    _check_support(data, lambda x: x >= 0, "Exponential", ">= 0")
    return prob.Exponential(1.0 / _mean(data))


def _fit_poisson(data, **_):
    _check_support(data, lambda x: (x >= 0) & _is_integer(x), "Poisson", "integers >= 0")
    return prob.Poisson(_mean(data))


def _fit_bernoulli(data, **_):
    _check_support(data, lambda x: (x == 0) | (x == 1), "Bernoulli", "0 or 1")
    return prob.Bernoulli(_mean(data))


def _fit_binomial(data, *, total_count=None, **_):
    if total_count is None:
        raise ValueError("fit_mle(Binomial, ...) needs the known total_count= keyword")
    n = _validate.as_real(total_count, "total_count").astype(data.dtype)
    _check_support(
        data, lambda x: (x >= 0) & (x <= n) & _is_integer(x), "Binomial", "integers in [0, n]"
    )
    return prob.Binomial(n, _mean(data) / n)


def _fit_categorical(data, *, num_categories=None, **_):
    if num_categories is None:
        if not _validate.is_concrete(data):
            raise ValueError(
                "fit_mle(Categorical, ...) under jit needs the num_categories= keyword"
            )
        num_categories = int(jnp.max(data)) + 1
    k = _validate.static_int(num_categories, "num_categories", minimum=1)
    _check_support(
        data, lambda x: (x >= 0) & (x < k) & _is_integer(x), "Categorical", f"integers in [0, {k})"
    )
    onehot = data[..., None] == jnp.arange(k, dtype=data.dtype)
    return prob.Categorical(_mean(onehot.astype(data.dtype)))


def _fit_gamma(data, **_):
    _check_support(data, lambda x: x > 0, "Gamma", "> 0")
    mean = _mean(data)
    s = jnp.log(mean) - _mean(jnp.log(data))
    a = _gamma_shape(s)
    return prob.Gamma(a, a / mean)


def _fit_beta(data, **_):
    _check_support(data, lambda x: (x > 0) & (x < 1), "Beta", "in (0, 1)")
    mean_log = jnp.stack([_mean(jnp.log(data)), _mean(jnp.log1p(-data))], -1)
    m = _mean(data)
    a = _dirichlet_concentration(mean_log, jnp.stack([m, 1.0 - m], -1))
    return prob.Beta(a[..., 0], a[..., 1])


def _fit_dirichlet(data, **_):
    tol = jnp.sqrt(jnp.finfo(data.dtype).eps)
    _check_support(
        data,
        lambda x: jnp.all(x > 0, -1)[..., None] & (jnp.abs(jnp.sum(x, -1) - 1) <= tol)[..., None],
        "Dirichlet",
        "rows of positive entries summing to 1",
    )
    return prob.Dirichlet(_dirichlet_concentration(_mean(jnp.log(data)), _mean(data)))


def _fit_multivariate_normal(data, **_):
    mean = _mean(data)
    dev = data - mean
    cov = jnp.einsum("n...i,n...j->...ij", dev, dev, precision=_HI) / data.shape[0]
    return prob.MultivariateNormal(mean, cov)


_FITS: dict[type, tuple[Callable[..., Any], int]] = {
    prob.Normal: (_fit_normal, 0),
    prob.Uniform: (_fit_uniform, 0),
    prob.Exponential: (_fit_exponential, 0),
    prob.Poisson: (_fit_poisson, 0),
    prob.Bernoulli: (_fit_bernoulli, 0),
    prob.Binomial: (_fit_binomial, 0),
    prob.Categorical: (_fit_categorical, 0),
    prob.Gamma: (_fit_gamma, 0),
    prob.Beta: (_fit_beta, 0),
    prob.Dirichlet: (_fit_dirichlet, 1),
    prob.MultivariateNormal: (_fit_multivariate_normal, 1),
}


def fit_mle(
    family: type,
    data: ArrayLike,
    *,
    total_count: ArrayLike | None = None,
    num_categories: int | None = None,
) -> Any:
    """Maximum-likelihood fit of a :mod:`mlmath_jax.prob` family (as ``scipy.stats.<family>.fit``).

    Closed forms: ``Normal`` (mean, ddof-0 standard deviation), ``Uniform`` (min, max),
    ``Exponential`` (1 / mean), ``Poisson`` (mean), ``Bernoulli`` (mean), ``Binomial``
    (mean / ``total_count``), ``Categorical`` (frequencies), ``MultivariateNormal`` (mean,
    ddof-0 covariance). Numerical: ``Gamma`` by Newton on ``log a - digamma(a) = log mean -
    mean log`` (as ``scipy.stats.gamma.fit(x, floc=0)``), ``Beta`` and ``Dirichlet`` by
    Minka's Newton iteration (``Beta`` as ``scipy.stats.beta.fit(x, floc=0, fscale=1)``).
    Samples lie on axis 0; further axes fit independent distributions (a batch).

    Args:
      family: the distribution class, e.g. ``prob.Normal``.
      data: ``[n, ...]`` samples (``[n, ..., d]`` for ``MultivariateNormal``, ``Dirichlet``).
      total_count: number of trials, required for ``Binomial`` (it is not estimated).
      num_categories: ``K`` for ``Categorical``; inferred as ``max(data) + 1`` when the
        data are concrete, required under ``jit``.

    Returns:
      An instance of ``family`` with the maximum-likelihood parameters.

    Raises:
      ValueError: an unsupported family; ``data`` with no samples or too few axes; concrete
        data outside the family's support (e.g. non-positive for ``Gamma``); a missing
        ``total_count``/``num_categories``.

    Example:
      >>> d = ml.fit_mle(prob.Normal, jnp.array([1.0, 2.0, 3.0, 4.0]))
      >>> print(d.loc, d.scale)
      2.5 1.118034
      >>> print(ml.fit_mle(prob.Poisson, jnp.array([0, 2, 1, 1])).rate)
      1.0
    """
    try:
        fit, rank = _FITS[family]
    except (KeyError, TypeError):
        raise ValueError(
            f"fit_mle: unsupported family {getattr(family, '__name__', family)!r}; supported: "
            + ", ".join(sorted(f.__name__ for f in _FITS))
        ) from None
    data = _samples(data, rank)
    return fit(data, total_count=total_count, num_categories=num_categories)
