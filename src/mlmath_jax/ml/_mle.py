"""Maximum-likelihood fits of the :mod:`mlmath_jax.prob` families.

Each family's fit is one compiled function of the data returning the parameters and
whether the data lie in the family's support; :func:`fit_mle` raises on concrete data
outside it and builds the distribution with the family's public constructor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy import special
from jax.typing import ArrayLike

from .. import _implicit, _validate, prob
from .._linesearch import backtrack
from ._data import HI

_MAX_NEWTON = 100
_MAX_HALVINGS = 60


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


def _true() -> jax.Array:
    return jnp.ones((), bool)


def _newton(nll: Callable, a0: jax.Array, direction: Callable) -> jax.Array:
    """Minimise a convex ``nll`` over ``a > 0`` by damped Newton steps ``a + t d``.

    ``direction(a)`` is the Newton direction. Steps are halved (:func:`backtrack` with
    ``c = 0``: no increase beyond rounding) until the trial point is positive and ``nll``
    does not grow; the loop stops once the relative change is at rounding level.
    """
    eps = jnp.finfo(a0.dtype).eps

    def phi_at(a, d):
        def phi(t):
            trial = a + t * d
            return jnp.where(jnp.all(trial > 0), nll(trial), jnp.inf)

        return phi

    def body(state):
        it, a, _ = state
        d = direction(a)
        f0 = nll(a)
        search = backtrack(
            phi_at(a, d), f0, 0.0, c=0.0, slack=16 * eps * jnp.abs(f0), max_halvings=_MAX_HALVINGS
        )
        new = jnp.where(search.accepted, a + search.step * d, a)
        change = jnp.max(jnp.abs(new - a) / a, initial=0.0)
        return it + 1, new, change

    def cond(state):
        it, _, change = state
        return (it < _MAX_NEWTON) & (change > 4 * eps)

    _, a, _ = lax.while_loop(cond, body, (0, a0, jnp.asarray(jnp.inf, a0.dtype)))
    return a


def _gamma_nll(a: jax.Array, s: jax.Array) -> jax.Array:
    return special.gammaln(a) - a * jnp.log(a) + a * (s + 1.0)


def _gamma_condition(a, aux, s, data):
    """``d nll / d a = 0``: ``log a - digamma(a) = s``, differentiated implicitly."""
    return jax.grad(_gamma_nll)(a, s)


def _gamma_solve(s: jax.Array, data: Any) -> tuple[jax.Array, tuple]:
    a0 = (3.0 - s + jnp.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)

    def direction(a):
        f = jnp.log(a) - special.digamma(a) - s
        df = 1.0 / a - special.polygamma(1, a)
        return -f / df

    return _newton(lambda a: _gamma_nll(a, s), a0, direction), ()


@functools.partial(jnp.vectorize, signature="()->()")
def _gamma_shape(s: jax.Array) -> jax.Array:
    """Solve ``log a - digamma(a) = s`` (``s > 0``) for the gamma shape ``a``.

    It is the stationarity condition of the profile negative log-likelihood (per sample,
    up to a constant) ``lgamma(a) - a log a + a (s + 1)``, convex in ``a``: minimised by
    Newton from Minka's closed-form start. Differentiable in ``s`` by implicit
    differentiation of the condition (:mod:`mlmath_jax.optim._implicit`), not the loop.
    """
    a, _ = _implicit.implicit_solution(
        _gamma_solve, _gamma_condition, s, (), _implicit.ImplicitOptions(True, dense=True)
    )
    return a


def _dirichlet_nll(a: jax.Array, mean_log: jax.Array) -> jax.Array:
    loglik = special.gammaln(jnp.sum(a)) - jnp.sum(special.gammaln(a))
    return -(loglik + jnp.sum((a - 1.0) * mean_log))


def _dirichlet_condition(a, aux, mean_log, mean_p):
    return jax.grad(_dirichlet_nll)(a, mean_log)


def _dirichlet_solve(mean_log: jax.Array, mean_p: jax.Array) -> tuple[jax.Array, tuple]:
    eps = jnp.finfo(mean_log.dtype).eps

    def direction(a):
        a_sum = jnp.sum(a)
        g = special.digamma(a_sum) - special.digamma(a) + mean_log
        q = -special.polygamma(1, a)
        z = special.polygamma(1, a_sum)
        b = jnp.sum(g / q) / (1.0 / z + jnp.sum(1.0 / q))
        return -(g - b) / q

    # Moment-matching start: the precision from E[log p] via Minka's approximation.
    k = mean_log.shape[-1]
    entropy_gap = jnp.sum(mean_p * (jnp.log(mean_p) - mean_log))
    precision = (k - 1) / (2.0 * jnp.maximum(entropy_gap, eps))
    return _newton(lambda a: _dirichlet_nll(a, mean_log), mean_p * precision, direction), ()


@functools.partial(jnp.vectorize, signature="(k),(k)->(k)")
def _dirichlet_concentration(mean_log: jax.Array, mean_p: jax.Array) -> jax.Array:
    """Maximise the Dirichlet likelihood from sufficient statistics (Minka's Newton).

    ``mean_log[k]`` is the sample mean of ``log p_k``; ``mean_p`` the mean of ``p`` (for
    the moment-matching start, which gets no derivative). The Hessian is diagonal plus
    rank one, so a step is ``O(K)``. Differentiable in ``mean_log`` implicitly.
    """
    a, _ = _implicit.implicit_solution(
        _dirichlet_solve,
        _dirichlet_condition,
        mean_log,
        jax.lax.stop_gradient(mean_p),
        _implicit.ImplicitOptions(True, dense=True),
    )
    return a


@jax.jit
def _normal(data):
    mean = _mean(data)
    return (mean, jnp.sqrt(_mean((data - mean) ** 2))), _true()  # two-pass, ddof 0


@jax.jit
def _uniform(data):
    # An infinite (or NaN) sample has no MLE: NaN bounds under jit, a host call raises.
    finite = jnp.all(jnp.isfinite(data), axis=0)
    low = jnp.where(finite, jnp.min(data, axis=0), jnp.nan)
    high = jnp.where(finite, jnp.max(data, axis=0), jnp.nan)
    return (low, high), jnp.all(finite)


@jax.jit
def _exponential(data):
    return (1.0 / _mean(data),), jnp.all(data >= 0)


@jax.jit
def _poisson(data):
    return (_mean(data),), jnp.all((data >= 0) & _is_integer(data))


@jax.jit
def _bernoulli(data):
    return (_mean(data),), jnp.all((data == 0) | (data == 1))


@jax.jit
def _binomial(data, n):
    ok = jnp.all((data >= 0) & (data <= n) & _is_integer(data))
    return (n, _mean(data) / n), ok


@functools.partial(jax.jit, static_argnames="k")
def _categorical(data, *, k):
    ok = jnp.all((data >= 0) & (data < k) & _is_integer(data))
    onehot = data[..., None] == jnp.arange(k, dtype=data.dtype)
    return (_mean(onehot.astype(data.dtype)),), ok


@jax.jit
def _gamma(data):
    mean = _mean(data)
    a = _gamma_shape(jnp.log(mean) - _mean(jnp.log(data)))
    return (a, a / mean), jnp.all(data > 0)


@jax.jit
def _beta(data):
    mean_log = jnp.stack([_mean(jnp.log(data)), _mean(jnp.log1p(-data))], -1)
    m = _mean(data)
    a = _dirichlet_concentration(mean_log, jnp.stack([m, 1.0 - m], -1))
    return (a[..., 0], a[..., 1]), jnp.all((data > 0) & (data < 1))


@jax.jit
def _dirichlet(data):
    tol = jnp.sqrt(jnp.finfo(data.dtype).eps)
    ok = jnp.all(data > 0) & jnp.all(jnp.abs(jnp.sum(data, -1) - 1) <= tol)
    return (_dirichlet_concentration(_mean(jnp.log(data)), _mean(data)),), ok


@jax.jit
def _multivariate_normal(data):
    mean = _mean(data)
    dev = data - mean
    cov = jnp.einsum("n...i,n...j->...ij", dev, dev, precision=HI) / data.shape[0]
    return (mean, cov), _true()


class _Fit(NamedTuple):
    params: Callable[..., Any]  # compiled: data (and extras) -> (parameters, in support)
    rank: int  # event axes of one sample
    support: str  # for the error message


_FITS: dict[type, _Fit] = {
    prob.Normal: _Fit(_normal, 0, "real"),
    prob.Uniform: _Fit(_uniform, 0, "finite real numbers"),
    prob.Exponential: _Fit(_exponential, 0, ">= 0"),
    prob.Poisson: _Fit(_poisson, 0, "integers >= 0"),
    prob.Bernoulli: _Fit(_bernoulli, 0, "0 or 1"),
    prob.Binomial: _Fit(_binomial, 0, "integers in [0, n]"),
    prob.Categorical: _Fit(_categorical, 0, "integers in [0, num_categories)"),
    prob.Gamma: _Fit(_gamma, 0, "> 0"),
    prob.Beta: _Fit(_beta, 0, "in (0, 1)"),
    prob.Dirichlet: _Fit(_dirichlet, 1, "rows of positive entries summing to 1"),
    prob.MultivariateNormal: _Fit(_multivariate_normal, 1, "real"),
}


def _extras(family: type, data: jax.Array, total_count: Any, num_categories: Any):
    """The positional and static extras a family's fit takes."""
    if family is prob.Binomial:
        if total_count is None:
            raise ValueError("fit_mle(Binomial, ...) needs the known total_count= keyword")
        return (_validate.as_real(total_count, "total_count").astype(data.dtype),), {}
    if family is prob.Categorical:
        if num_categories is None:
            if not _validate.is_concrete(data):
                raise ValueError(
                    "fit_mle(Categorical, ...) under jit needs the num_categories= keyword"
                )
            num_categories = int(jnp.max(data)) + 1
        return (), {"k": _validate.static_int(num_categories, "num_categories", minimum=1)}
    return (), {}


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

    References:
      T. P. Minka, "Estimating a Dirichlet distribution", technical report, 2000.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import ml, prob
      >>> d = ml.fit_mle(prob.Normal, jnp.array([1.0, 2.0, 3.0, 4.0]))
      >>> print(d.loc, d.scale)
      2.5 1.118034
      >>> print(ml.fit_mle(prob.Poisson, jnp.array([0, 2, 1, 1])).rate)
      1.0
    """
    try:
        fit = _FITS[family]
    except (KeyError, TypeError):
        raise ValueError(
            f"fit_mle: unsupported family {getattr(family, '__name__', family)!r}; supported: "
            + ", ".join(sorted(f.__name__ for f in _FITS))
        ) from None
    data = _samples(data, fit.rank)
    if family is prob.MultivariateNormal and data.shape[0] <= data.shape[-1]:
        raise ValueError(
            f"fit_mle(MultivariateNormal, data) needs more samples than dimensions (n > d): "
            f"the covariance of n <= d samples is singular, got data of shape {data.shape}"
        )
    args, static = _extras(family, data, total_count, num_categories)
    params, in_support = fit.params(data, *args, **static)
    if _validate.is_concrete(in_support) and not bool(in_support):
        support = fit.support
        if family is prob.Categorical:
            support = f"integers in [0, {static['k']})"
        raise ValueError(f"data must be {support} for {family.__name__}")
    return family(*params)
