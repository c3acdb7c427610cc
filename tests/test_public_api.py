"""The public surface: every name in every ``__all__`` is documented and compile-counted."""

from __future__ import annotations

import inspect
import pathlib

import pytest

import mlmath_jax

AREAS = ("linalg", "prob", "calculus", "optim", "ml")
TESTS = pathlib.Path(__file__).parent


def _public():
    for area in AREAS:
        module = getattr(mlmath_jax, area)
        for name in module.__all__:
            yield area, name, getattr(module, name)


def _compile_test_text() -> str:
    files = sorted(TESTS.rglob("test_*compile_once*.py"))
    return "\n".join(f.read_text() for f in files)


@pytest.mark.parametrize("area", AREAS)
def test_area_docstring_is_real(area):
    doc = getattr(mlmath_jax, area).__doc__ or ""
    assert "filled in" not in doc and "Example" in doc, f"mlmath_jax.{area} needs a docstring"


@pytest.mark.parametrize(
    ("area", "name", "obj"), list(_public()), ids=[f"{a}.{n}" for a, n, _ in _public()]
)
def test_public_name_has_docstring_with_example(area, name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{area}.{name} has no docstring"
    if inspect.isfunction(obj):
        assert "Example" in doc, f"{area}.{name}: docstring has no Example section"


def test_every_public_callable_is_compile_counted():
    """A compile-once test mentions every public function and class by its public name."""
    text = _compile_test_text()
    missing = [
        f"{area}.{name}"
        for area, name, obj in _public()
        if (inspect.isfunction(obj) or (inspect.isclass(obj) and not _is_plain_result(obj)))
        and f"{area}.{name}" not in text
    ]
    assert not missing, f"no compile-once test names: {missing}"


def _is_plain_result(cls) -> bool:
    """NamedTuple result types carry no computation to compile."""
    return issubclass(cls, tuple)
