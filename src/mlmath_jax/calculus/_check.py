"""Gradient checking against central finite differences.

``check_grad`` is a thin wrapper over a module-level jitted body with ``fun`` static, so
repeated checks of the same function compile once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .. import _trees, _validate
from ._inputs import call, check_positive, checked_point

# Up to this many parameters every coordinate is checked; above, random directions.
_ALL_COORDINATES_MAX = 32
_DEFAULT_DIRECTIONS = 16


def _central(f, args, x_flat, d, h):
    """``f(x + h d) − f(x − h d)`` and the two points."""
    xp, xm = x_flat + h * d, x_flat - h * d
    return (f(xp, *args) - f(xm, *args)).astype(x_flat.dtype), xp, xm


def _coordinate_derivatives(f, args, x_flat, grad, eps):
    """Analytic and numerical partial derivatives along every coordinate axis."""
    n, dtype = x_flat.size, x_flat.dtype
    root_eps = jnp.cbrt(jnp.finfo(dtype).eps).astype(dtype)

    def one(i):
        d = jax.nn.one_hot(i, n, dtype=dtype)
        h = root_eps * jnp.maximum(1.0, jnp.abs(x_flat[i])) if eps is None else eps
        diff, xp, xm = _central(f, args, x_flat, d, jnp.asarray(h, dtype))
        return grad[i], diff / (xp[i] - xm[i])  # the step actually taken (x ± h is rounded)

    return jax.lax.map(one, jnp.arange(n))


def _random_derivatives(f, args, x_flat, grad, eps, key, count: int):
    """Analytic and numerical directional derivatives along ``count`` random unit vectors."""
    n, dtype = x_flat.size, x_flat.dtype
    root_eps = jnp.cbrt(jnp.finfo(dtype).eps).astype(dtype)
    scale = jnp.maximum(1.0, jnp.max(jnp.abs(x_flat)))
    h = jnp.asarray(root_eps * scale if eps is None else eps, dtype)

    def one(k):
        d = jax.random.normal(k, (n,), dtype)
        d = d / jnp.linalg.norm(d)
        diff, _, _ = _central(f, args, x_flat, d, h)
        return jnp.vdot(grad, d), diff / (2 * h)

    return jax.lax.map(one, jax.random.split(key, count))


def _relative_error(analytic: jax.Array, numeric: jax.Array) -> jax.Array:
    dtype = analytic.dtype
    err = jnp.max(jnp.abs(analytic - numeric))
    denom = jnp.maximum(jnp.max(jnp.abs(analytic)), jnp.max(jnp.abs(numeric)))
    return jnp.where(
        err == 0, jnp.zeros((), dtype), err / jnp.maximum(denom, jnp.finfo(dtype).tiny)
    )


@functools.partial(jax.jit, static_argnames=("fun", "num_directions"))
def _check_grad_jit(fun, x, args, eps, key, *, num_directions):
    f, x_flat = _trees.flat_fun(fun, checked_point(fun, x, args))
    grad = jax.grad(f)(x_flat, *args)
    if num_directions is None and x_flat.size <= _ALL_COORDINATES_MAX:
        analytic, numeric = _coordinate_derivatives(f, args, x_flat, grad, eps)
    else:
        key = jax.random.key(0) if key is None else key
        count = _DEFAULT_DIRECTIONS if num_directions is None else num_directions
        analytic, numeric = _random_derivatives(f, args, x_flat, grad, eps, key, count)
    return _relative_error(analytic, numeric.astype(analytic.dtype))


def check_grad(
    fun: Callable[..., jax.Array],
    x: Any,
    args: tuple = (),
    *,
    eps: float | None = None,
    num_directions: int | None = None,
    key: jax.Array | None = None,
) -> jax.Array:
    r"""Largest relative error of ``jax.grad(fun)(x)`` against central finite differences.

    Compares directional derivatives $g^\top d$ (from ``jax.grad``) with
    $(f(x + h d) - f(x - h d)) / (2h)$ ($f$ = ``fun``) along a set of directions $d$: every
    coordinate axis when ``x`` has at most 32 parameters (so every partial derivative is
    checked), otherwise ``num_directions`` (default 16) random unit directions (Gaussian,
    normalised), which see an error in any coordinate with probability one. The error is
    norm-wise over the directions, $\max_j |a_j - n_j| / \max_j \max(|a_j|, |n_j|)$
    (analytic $a_j$, numerical $n_j$), as ``scipy.optimize.check_grad`` reports $\|a - n\|$
    (here made relative). The step is $h$ = ``eps`` if given, else
    $\varepsilon^{1/3} \max(1, |x_i|)$ per coordinate ($\varepsilon$ the machine epsilon;
    $\max(1, \|x\|_\infty)$ for random directions), which balances truncation ($O(h^2)$) and
    rounding ($O(\varepsilon / h)$): a correct gradient gives errors of roughly
    $\varepsilon^{2/3}$ (about 1e-5 in float32, 1e-10 in float64, larger for badly scaled
    ``fun``); a wrong one gives errors of order 1. Checks right at a stationary point
    compare rounding noise with a zero gradient: check at a generic point. Directions run
    one after another (``lax.map``), so memory is linear in the parameter count.

    Args:
      fun: ``fun(x, *args) -> scalar``, differentiable in ``x`` with ``jax.grad`` (custom
        JVP/VJP rules included).
      x: the point, an array or pytree.
      args: tuple of extra arguments of ``fun`` (data; traced).
      eps: finite-difference step, ``> 0``, or None for the dtype-chosen step above.
      num_directions: number of random directions (static, >= 1); when given, random
        directions are used whatever the size.
      key: ``jax.random.key`` for the random directions; default ``jax.random.key(0)``.

    Returns:
      Scalar relative error in ``x``'s dtype.

    Raises:
      TypeError: if ``fun`` is not callable or ``args`` is not a tuple.
      ValueError: if ``fun`` does not return a scalar, or ``eps`` is not positive.

    References:
      J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006,
      Sec. 8.1 (finite-difference derivative approximations).

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import calculus
      >>> def fun(x, c):
      ...     return jnp.sum(jnp.sin(c * x))
      >>> err = calculus.check_grad(fun, jnp.array([0.3, 1.2]), (2.0,))
      >>> print(bool(err < 1e-3))
      True
    """
    _trees.check_fun(fun)
    args = _trees.check_args(args)
    check_positive(eps, "eps")
    if num_directions is not None:
        num_directions = _validate.static_int(num_directions, "num_directions", minimum=1)
    _validate.prng_key(key, "key", allow_none=True)
    return call(_check_grad_jit, {"x": x}, fun, x, args, eps, key, num_directions=num_directions)
