"""The documentation site's pages: their Python snippets run, and the API reference is whole.

Every ```python block runs; templates that need a cluster are written as ```py blocks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import mlmath_jax

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md"))
SNIPPETS = [
    (page.name, i, code)
    for page in PAGES
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S))
]
AREAS = ("linalg", "prob", "calculus", "optim", "ml")


@pytest.mark.parametrize(
    ("page", "index", "code"), SNIPPETS, ids=[f"{p}-{i}" for p, i, _ in SNIPPETS]
)
def test_docs_snippet_runs(page, index, code, capsys):
    exec(compile(code, f"docs/{page} block {index}", "exec"), {})
    assert capsys.readouterr().out.strip(), "a docs snippet should print its results"


@pytest.mark.parametrize("area", AREAS)
def test_api_page_documents_every_public_name(area):
    text = (DOCS / "api" / f"{area}.md").read_text()
    documented = set(re.findall(rf"^::: mlmath_jax\.{area}\.(\w+)", text, flags=re.M))
    public = set(getattr(mlmath_jax, area).__all__)
    assert public - documented == set(), f"missing from docs/api/{area}.md"
    assert documented - public == set(), f"not public but documented in docs/api/{area}.md"


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (
        PAGES + sorted((DOCS / "api").glob("*.md")) + sorted((DOCS / "tutorials").glob("*.ipynb"))
    ):
        assert str(page.relative_to(DOCS)) in nav, f"{page} is not in mkdocs.yml's nav"
