"""Checks and helpers for user functions and pytree arguments, shared by calculus and optim.

Every function-taking entry point calls ``fun(x, *args)``: the data a user's function needs
travel in ``args`` (traced inputs of the compiled program), not as closure constants, so one
compiled program serves every call with new data of the same shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
from jax.flatten_util import ravel_pytree

from . import _validate


def check_fun(fun: Any, name: str = "fun") -> None:
    """Raise ``TypeError`` unless ``fun`` is callable."""
    if not callable(fun):
        raise TypeError(f"{name} must be callable, got {type(fun).__name__}")


def check_args(args: Any, name: str = "args") -> tuple:
    """``args`` as a tuple (a lone non-tuple value is a common slip: say so)."""
    if not isinstance(args, tuple):
        raise TypeError(
            f"{name} must be a tuple of extra arguments passed as fun(x, *{name}), "
            f"got {type(args).__name__}; write (value,) for a single one"
        )
    return args


def inexact_tree(x: Any, name: str, *, real: bool = True) -> Any:
    """Every leaf of ``x`` as a floating array (integers promoted); needs at least one leaf."""
    if not jax.tree.leaves(x):
        raise ValueError(f"{name} must be an array or a pytree with at least one array leaf")
    cast = _validate.as_real if real else _validate.as_inexact
    return jax.tree.map(lambda leaf: cast(leaf, name), x)


def scalar_value(
    fun: Callable[..., Any], x: Any, args: tuple = (), name: str = "fun"
) -> jax.ShapeDtypeStruct:
    """Trace ``fun(x, *args)`` and require a real scalar; return its abstract value."""
    out = jax.eval_shape(fun, x, *args)
    if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != ():
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"{name} must return a scalar, got {shape}")
    if jax.numpy.issubdtype(out.dtype, jax.numpy.complexfloating):
        raise TypeError(f"{name} must return a real scalar, got dtype {out.dtype}")
    return out


def flat_fun(fun: Callable[..., Any], x: Any) -> tuple[Callable[..., jax.Array], jax.Array]:
    """``fun`` as ``(z, *args) -> fun(unravel(z), *args)`` of the flat parameters ``z``.

    Returns the flat function and ``x`` flattened (``jax.flatten_util.ravel_pytree`` order).
    Call it inside the jitted body, on the traced ``x``.
    """
    x_flat, unravel = ravel_pytree(x)

    def f(z, *args):
        return fun(unravel(z), *args)

    return f, x_flat
