"""The models' pytree idiom: ``==`` never raises, unflatten runs no constructor, and the
``ml`` modules share helpers through neutral modules and use linalg's public API."""

from __future__ import annotations

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import ml

ML_SRC = Path(ml.__file__).parent


def _models():
    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.standard_normal((20, 3)), jnp.float32)
    y = jnp.asarray(rng.standard_normal(20), jnp.float32)
    labels = jnp.asarray(np.arange(20) % 2)
    return {
        "ridge": lambda: ml.ridge(X, y, 1.0),
        "logistic": lambda: ml.logistic_regression(X, labels),
        "pca": lambda: ml.PCA.fit(X, 2),
        "nb": lambda: ml.GaussianNB.fit(X, labels, 2),
    }


@pytest.mark.parametrize("name", ["ridge", "logistic", "pca", "nb"])
def test_equality_never_raises_and_models_hash(name):
    make = _models()[name]
    a, b = make(), make()
    assert a == a and not (a != a)
    assert (a == b) is False  # identity, as prob's distributions; fields compare explicitly
    assert a != "a model"
    assert isinstance(hash(a), int)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert jnp.array_equal(x, y)


@pytest.mark.parametrize("name", ["ridge", "logistic", "pca", "nb"])
def test_unflatten_keeps_leaves_and_static_options(name):
    model = _models()[name]()
    leaves, treedef = jax.tree.flatten(model)
    odd = jax.tree.unflatten(treedef, [None] * len(leaves))  # no constructor, no checks
    assert type(odd) is type(model)
    assert all(getattr(odd, f) is None for f in ("coef", "components", "theta") if hasattr(odd, f))
    back = jax.jit(lambda m: m)(model)
    assert jax.tree.structure(back) == treedef
    if isinstance(model, ml.LinearModel):
        assert back.kind == model.kind == odd.kind
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(model)[0]]
    assert all(p.startswith(".") for p in paths)  # key paths name the fields


def test_kind_is_static_metadata():
    model = ml.LinearModel(jnp.ones(2), jnp.zeros(()), kind="logistic")
    assert len(jax.tree.leaves(model)) == 4
    assert "logistic" in str(jax.tree.structure(model))


def _ml_sources():
    return sorted(ML_SRC.glob("*.py"))


def test_ml_uses_only_public_linalg():
    pattern = re.compile(
        r"(from\s+\.\.linalg\.|from\s+\.\.linalg\s+import\s+_|linalg\._|"
        r"mlmath_jax\.linalg\._|from\s+mlmath_jax\.linalg\s+import\s+_)"
    )
    offenders = [
        f"{path.name}:{i}: {line.strip()}"
        for path in _ml_sources()
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, offenders


def test_no_sibling_imports_private_names_from_estimator_modules():
    """Shared helpers live in neutral modules (_data, _model), not in _linear.py."""
    pattern = re.compile(
        r"from\s+\._(linear|lasso|logistic|pca|spectral|naive_bayes|mle)\s+"
        r"import\s+.*\b_\w+"
    )
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in _ml_sources()
        for line in path.read_text().splitlines()
        if pattern.search(line)
    ]
    assert not offenders, offenders


def test_no_stale_text():
    stale = ("filled in by its issue", "the issue's two sizes", "(house style)")
    for path in _ml_sources():
        text = path.read_text()
        for phrase in stale:
            assert phrase not in text, f"{path.name}: {phrase!r}"
    assert ml.__doc__ and ">>>" in ml.__doc__
