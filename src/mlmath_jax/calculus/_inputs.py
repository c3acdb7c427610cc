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
    """``value > 0`` for a concrete option (Python numbers checked without a device op)."""
    if isinstance(value, (int, float)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    elif value is not None:
        _validate.positive(value, name)
