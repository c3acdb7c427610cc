"""Checks of the inputs every calculus entry point takes: the point ``x`` and options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _trees, _validate


def checked_point(fun: Callable[..., Any], x: Any, args: tuple) -> Any:
    """``x`` with inexact leaves, after checking (while tracing) that ``fun`` gives a scalar."""
    x = _trees.inexact_tree(x, "x")
    _trees.scalar_value(fun, x, args)
    return x


def check_positive(value: Any, name: str) -> None:
    """``value``, if given, a real scalar ``> 0`` (value checked when concrete).

    Python numbers are checked without a device op; strings, lists and arrays of more
    than one number raise, naming ``name``.
    """
    _validate.tolerance(value, name, strict=True, allow_none=True)


call = _validate.call  # a jitted call whose jit-level TypeError names the argument
