"""Gradient checking against central finite differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .. import _validate
from ._hessian import _flat

# Up to this many parameters every coordinate is checked; above, random directions.
_ALL_COORDINATES_MAX = 32
_DEFAULT_DIRECTIONS = 16


def check_grad(
    f: Callable[[Any], jax.Array],
    x: Any,
    *,
    eps: float | None = None,
    num_directions: int | None = None,
    key: jax.Array | None = None,
) -> jax.Array:
    """Largest relative error of ``jax.grad(f)(x)`` against central finite differences.

    Compares directional derivatives ``gᵀd`` (from ``jax.grad``) with
    ``(f(x + h d) - f(x - h d)) / (2h)`` along a set of directions ``d``: every coordinate
    axis when ``x`` has at most 32 parameters (so every partial derivative is checked),
    otherwise ``num_directions`` (default 16) random unit directions (Gaussian, normalised),
    which see an error in any coordinate with probability one. The error is norm-wise over
    the directions, ``max_j |a_j - n_j| / max_j max(|a_j|, |n_j|)``, as
    ``scipy.optimize.check_grad`` reports ``‖a - n‖`` (here made relative). The step is
    ``h = eps`` if given, else ``cbrt(machine eps) · max(1, |x_i|)`` per coordinate
    (``max(1, ‖x‖_∞)`` for random directions), which balances truncation (``O(h²)``) and
    rounding (``O(eps/h)``): a correct gradient gives errors of roughly ``eps^(2/3)``
    (about 1e-5 in float32, 1e-10 in float64, larger for badly scaled ``f``); a wrong one
    gives errors of order 1. Checks right at a stationary point compare rounding noise with
    a zero gradient: check at a generic point. Directions run one after another
    (``lax.map``), so memory is linear in the parameter count.

    Args:
      f: ``x -> scalar``, differentiable with ``jax.grad`` (custom JVP/VJP rules included).
      x: the point, an array or pytree.
      eps: finite-difference step, or None for the dtype-chosen step above.
      num_directions: number of random directions (static, >= 1); when given, random
        directions are used whatever the size.
      key: ``jax.random.key`` for the random directions; default ``jax.random.key(0)``.

    Returns:
      Scalar relative error in ``x``'s dtype.

    Raises:
      TypeError: if ``f`` is not callable.
      ValueError: if ``f`` does not return a scalar, or ``eps`` is not positive.

    Example:
      >>> err = calculus.check_grad(lambda x: jnp.sum(jnp.sin(x)), jnp.array([0.3, 1.2]))
      >>> print(bool(err < 1e-3))
      True
    """
    flat_f, x_flat = _flat(f, x)
    n, dtype = x_flat.size, x_flat.dtype
    if eps is not None:
        _validate.positive(eps, "eps")
    if num_directions is not None:
        num_directions = _validate.static_int(num_directions, "num_directions", minimum=1)
    if key is None:
        key = jax.random.key(0)

    def run(x_flat, key):
        grad = jax.grad(flat_f)(x_flat)
        root_eps = jnp.cbrt(jnp.finfo(dtype).eps).astype(dtype)

        def central(d, h):
            xp, xm = x_flat + h * d, x_flat - h * d
            return (flat_f(xp) - flat_f(xm)).astype(dtype), xp, xm

        if num_directions is None and n <= _ALL_COORDINATES_MAX:

            def one(i):
                d = jax.nn.one_hot(i, n, dtype=dtype)
                h = root_eps * jnp.maximum(1.0, jnp.abs(x_flat[i])) if eps is None else eps
                diff, xp, xm = central(d, jnp.asarray(h, dtype))
                # Divide by the step actually taken (x ± h is rounded).
                return grad[i], diff / (xp[i] - xm[i])

            analytic, numeric = jax.lax.map(one, jnp.arange(n))
        else:
            m = _DEFAULT_DIRECTIONS if num_directions is None else num_directions
            scale = jnp.maximum(1.0, jnp.max(jnp.abs(x_flat)))
            h = jnp.asarray(root_eps * scale if eps is None else eps, dtype)

            def one(k):
                d = jax.random.normal(k, (n,), dtype)
                d = d / jnp.linalg.norm(d)
                diff, _, _ = central(d, h)
                return jnp.vdot(grad, d), diff / (2 * h)

            analytic, numeric = jax.lax.map(one, jax.random.split(key, m))
        err = jnp.max(jnp.abs(analytic - numeric))
        denom = jnp.maximum(jnp.max(jnp.abs(analytic)), jnp.max(jnp.abs(numeric)))
        return jnp.where(
            err == 0, jnp.zeros((), dtype), err / jnp.maximum(denom, jnp.finfo(dtype).tiny)
        )

    # One compiled program: tracing op by op outside jit costs more than compiling.
    return jax.jit(run)(x_flat, key)
