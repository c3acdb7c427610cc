"""NumPy's quantile index rules: which order statistics each method uses, and their weight.

For each of NumPy's 13 methods (Hyndman and Fan's nine, plus ``lower``, ``higher``,
``midpoint`` and ``nearest``), a quantile ``q`` of ``n`` values becomes a pair of ranks
``(lo, hi)`` and an interpolation weight. :func:`host_plan` follows
``numpy.lib._function_base_impl._quantile`` operation for operation on NumPy arrays (so
the indices and weights are NumPy's, in NumPy's dtypes, for a ``q`` known at call time);
:func:`traced_plan` does the same with ``jax.numpy`` in the data's dtype for a traced ``q``.

The interpolation is NumPy's ``_lerp``: ``a + (b - a) t`` below ``t = 0.5`` and
``b - (b - a)(1 - t)`` from it. A plan carries the branch (``upper``) and the one factor the
branch multiplies by (``coef``: ``t`` or ``1 - t``), both computed in ``q``'s precision.

References:
  R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages", The American
  Statistician 50(4), pp. 361-365, 1996.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

METHODS = (
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "lower",
    "higher",
    "midpoint",
    "nearest",
)
# Methods that take order statistics as they are (NumPy's ``fix_gamma`` is None).
_DISCRETE = ("inverted_cdf", "closest_observation", "lower", "higher", "nearest")
# Hyndman and Fan's (alpha, beta) of the continuous methods, as NumPy's table.
_ALPHA_BETA = {
    "interpolated_inverted_cdf": (0, 1),
    "hazen": (0.5, 0.5),
    "weibull": (0, 0),
    "median_unbiased": (1 / 3.0, 1 / 3.0),
    "normal_unbiased": (3 / 8.0, 3 / 8.0),
}


def interpolates(method: str, q_dtype: Any) -> bool:
    """Whether ``method`` interpolates between two order statistics (NumPy's lerp path)."""
    if method in _DISCRETE:
        return False
    # NumPy takes "linear" at integer virtual indices (an integer q) without interpolating.
    return not (method == "linear" and not jnp.issubdtype(q_dtype, jnp.inexact))


def _virtual_index(xp, n: int, q, method: str):
    """NumPy's ``get_virtual_index`` with ``xp`` (numpy or jax.numpy)."""
    if method == "inverted_cdf":
        return _to_boundaries(xp, n * q - 1, lambda g, i: g == 0)
    if method == "averaged_inverted_cdf":
        return n * q - 1
    if method == "closest_observation":
        # H&F: the nearest even order statistic at g = 0 (1-based; odd 0-based).
        return _to_boundaries(xp, n * q - 1 - 0.5, lambda g, i: (g == 0) & (xp.floor(i) % 2 == 1))
    if method in _ALPHA_BETA:
        alpha, beta = _ALPHA_BETA[method]
        return n * q + (alpha + q * (1 - alpha - beta)) - 1
    if method == "linear":
        return (n - 1) * q
    if method == "lower":
        return xp.floor((n - 1) * q)
    if method == "higher":
        return xp.ceil((n - 1) * q)
    if method == "midpoint":
        return 0.5 * (xp.floor((n - 1) * q) + xp.ceil((n - 1) * q))
    if method == "nearest":
        return xp.round((n - 1) * q)  # half to even, as numpy.around
    raise ValueError(f"method must be one of {METHODS!r}, got {method!r}")


def _to_boundaries(xp, index, condition):
    """NumPy's ``_discrete_interpolation_to_boundaries``: floor or floor + 1, at least 0."""
    previous = xp.floor(index)
    gamma = index - previous
    res = xp.where(condition(gamma, index), previous, previous + 1)
    return xp.maximum(res, 0)


def _fix_gamma(xp, method: str, gamma, index):
    if method == "averaged_inverted_cdf":
        return xp.where(gamma == 0, 0.5, 1.0)
    if method == "midpoint":
        return xp.where(index % 1 == 0, 0.0, 0.5)
    return gamma


def host_plan(q: np.ndarray, n: int, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks ``[3, *q.shape]`` (``lo``, ``hi``, ``upper``) and ``coef`` for a known ``q``.

    Computed with NumPy on ``q`` as given (a Python float is float64, as in NumPy), so the
    ranks, the branch and the factor are exactly NumPy's.
    """
    with np.errstate(all="ignore"):
        v = np.asarray(_virtual_index(np, n, q, method))
        if not interpolates(method, q.dtype):
            lo = np.clip(v, 0, n - 1).astype(np.int64)
            zero = np.zeros(v.shape, np.int64)
            return np.stack([lo, lo, zero]), zero.astype(np.float64), v
        previous = np.floor(v)
        following = previous + 1
        above = v >= n - 1  # NumPy takes the last value (index -1) for both
        previous = np.where(above, -1, previous)
        following = np.where(above, -1, following)
        below = v < 0
        previous = np.where(below, 0, previous).astype(np.intp)
        following = np.where(below, 0, following).astype(np.intp)
        gamma = _fix_gamma(np, method, np.asarray(v - previous), v).astype(v.dtype)
        upper = gamma >= 0.5
        coef = np.where(upper, 1 - gamma, gamma)
        lo = np.where(previous < 0, n - 1, previous).astype(np.int64)
        hi = np.where(following < 0, n - 1, following).astype(np.int64)
    return np.stack([lo, hi, upper.astype(np.int64)]), coef, v


def traced_plan(q: jax.Array, n: int, method: str, dtype: Any):
    """``(lo, hi, upper, coef, valid)`` for a traced ``q``, computed in ``dtype``.

    ``valid`` is False where ``q`` is outside ``[0, 1]`` or NaN (the caller returns NaN).
    """
    valid = (q >= 0) & (q <= 1)
    if jnp.issubdtype(q.dtype, jnp.inexact):
        q = q.astype(dtype)
    v = _virtual_index(jnp, n, q, method)
    if not interpolates(method, q.dtype):
        lo = jnp.clip(v, 0, n - 1).astype(jnp.int32)
        return lo, lo, jnp.zeros(v.shape, bool), jnp.zeros(v.shape, dtype), valid
    v = v.astype(dtype)
    previous = jnp.floor(v)
    above, below = v >= n - 1, v < 0
    previous = jnp.where(above, -1, jnp.where(below, 0, previous))
    following = jnp.where(above, -1, jnp.where(below, 0, jnp.floor(v) + 1))
    gamma = _fix_gamma(jnp, method, v - previous, v).astype(dtype)
    upper = gamma >= 0.5
    coef = jnp.where(upper, 1 - gamma, gamma)
    lo = jnp.where(previous < 0, n - 1, previous).astype(jnp.int32)
    hi = jnp.where(following < 0, n - 1, following).astype(jnp.int32)
    return lo, hi, upper, coef, valid
