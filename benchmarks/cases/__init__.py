"""One module per area; each exposes ``cases(quick: bool) -> list[Case]``."""

from __future__ import annotations

import importlib
import pkgutil

from ..harness import Case


def all_cases(quick: bool) -> list[Case]:
    """Collect the cases of every module in this package, in name order.

    In quick mode, cases marked ``quick=False`` are left out even if a module returns them.
    """
    found: list[Case] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(c for c in module.cases(quick) if c.quick or not quick)
    return found
