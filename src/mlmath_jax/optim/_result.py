"""``OptResult``, the result type of every optim solver, and their shared option checks."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from .. import _trees, _validate


class OptResult(NamedTuple):
    """Result of an optimiser run.

    Attributes:
      x: the final iterate, with ``x0``'s pytree structure.
      value: objective at ``x`` (for :func:`proximal_gradient`, the smooth part only).
      grad_norm: 2-norm of the gradient at ``x`` (the gradient mapping for
        :func:`proximal_gradient`), over all leaves.
      num_steps: number of steps taken (the history length), an integer array.
      converged: whether ``grad_norm <= tol`` was reached within ``max_steps``.
    """

    x: Any
    value: jax.Array
    grad_norm: jax.Array
    num_steps: jax.Array
    converged: jax.Array


class _ByIdentity:
    """An unhashable callable, hashed and compared by identity (a static jit argument)."""

    __slots__ = ("fun", "__weakref__")

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fun(*args, **kwargs)

    def __hash__(self) -> int:
        return id(self.fun)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ByIdentity) and other.fun is self.fun


def static_callable(fun: Any, name: str) -> Callable[..., Any]:
    """``fun`` checked callable, in a form ``jax.jit`` accepts as a static argument.

    Static arguments are hashed: calling again with the same function object reuses the
    compiled program. A callable that cannot be hashed (a bound method of an unhashable
    object) is compared by identity instead.
    """
    _trees.check_fun(fun, name)
    try:
        hash(fun)
    except TypeError:
        return _ByIdentity(fun)
    return fun


def _on_host(value: Any) -> bool:
    return isinstance(value, numbers.Real | np.ndarray | np.generic)


def check_nonnegative(value: Any, name: str) -> None:
    """Concrete ``value`` must be >= 0 (not NaN); host values are checked without a dispatch."""
    if _on_host(value):
        arr = np.asarray(value)
        if arr.size and not np.all(arr >= 0):
            raise ValueError(f"{name} must be >= 0, got {_validate.describe(value)}")
    else:
        _validate.nonnegative(value, name)


def check_positive(value: Any, name: str) -> None:
    """Concrete ``value`` must be > 0 (not NaN); host values are checked without a dispatch."""
    if _on_host(value):
        arr = np.asarray(value)
        if arr.size and not np.all(arr > 0):
            raise ValueError(f"{name} must be > 0, got {_validate.describe(value)}")
    else:
        _validate.positive(value, name)


def check_tol(tol: Any, name: str = "tol") -> None:
    """Require ``tol`` to be a real scalar, >= 0 when known (traced values are skipped)."""
    _validate.tolerance(tol, name)


def check_implicit_max_steps(value: Any) -> int | None:
    """``implicit_max_steps``: None (the default cap) or a static int >= 1."""
    if value is None:
        return None
    return _validate.static_int(value, "implicit_max_steps", minimum=1)
