"""One backtracking (Armijo) line search, shared by every solver that damps its steps.

The caller supplies ``phi(t)``, the objective at step length ``t`` along its direction
(so a solver that can update cached products, such as ``X @ w``, by ``t`` does so), and
the directional derivative ``slope`` at ``t = 0``. Infeasible trial points are reported by
``phi`` as ``+inf`` (or NaN): they are never accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

ARMIJO_C = 1e-4


class LineSearchResult(NamedTuple):
    """Outcome of :func:`backtrack`.

    Attributes:
      step: the accepted step length (the last one tried when nothing was accepted).
      value: ``phi(step)``.
      accepted: whether the sufficient-decrease condition held at ``step``.
      num_halvings: how many times the step was halved.
    """

    step: jax.Array
    value: jax.Array
    accepted: jax.Array
    num_halvings: jax.Array


def backtrack(
    phi: Callable[[jax.Array], jax.Array],
    value: jax.Array,
    slope: jax.Array | float,
    *,
    initial: jax.Array | float = 1.0,
    c: float = ARMIJO_C,
    slack: jax.Array | float = 0.0,
    max_halvings: int = 40,
) -> LineSearchResult:
    """Halve ``t`` from ``initial`` until ``phi(t) <= value + c t slope + slack``.

    Args:
      phi: ``t -> objective`` along the search direction, a traceable scalar function.
      value: the objective at ``t = 0``.
      slope: directional derivative at ``t = 0`` (negative for a descent direction).
      initial: first step length tried.
      c: Armijo's sufficient-decrease constant (``c = 0`` asks only for no increase).
      slack: allowance for rounding in ``phi`` (e.g. a few ulps of ``|value|``), so steps at
        the precision's floor are not refused.
      max_halvings: largest number of halvings (static).

    Returns:
      :class:`LineSearchResult`; a non-finite ``phi(t)`` is never accepted.
    """
    dtype = jnp.result_type(value)
    t0 = jnp.asarray(initial, dtype)

    def ok(t, f_new):
        return jnp.isfinite(f_new) & (f_new <= value + c * t * slope + slack)

    def cond(carry):
        t, f_new, k = carry
        return ~ok(t, f_new) & (k < max_halvings)

    def body(carry):
        t, _, k = carry
        t = 0.5 * t
        return t, phi(t).astype(dtype), k + 1

    init = (t0, phi(t0).astype(dtype), jnp.zeros((), jnp.int32))
    t, f_new, k = lax.while_loop(cond, body, init)
    return LineSearchResult(t, f_new, ok(t, f_new), k)
