"""Doctest namespace: docstring examples may use ``jax``, ``jnp`` and the five areas."""

import jax
import jax.numpy as jnp
import pytest

from mlmath_jax import calculus, linalg, ml, optim, prob


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(
        jax=jax, jnp=jnp, linalg=linalg, prob=prob, calculus=calculus, optim=optim, ml=ml
    )
