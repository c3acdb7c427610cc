"""Compile once (issue 12): repeated eager calls of the statistics compile nothing."""

import functools

import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import prob
from tests.conftest import compiles_on_repeat


def _calls(shape, n=3):
    return [
        (jnp.asarray(np.random.default_rng(i).standard_normal(shape), jnp.float32),)
        for i in range(n)
    ]


CASES = [
    ("mean", prob.mean, (1000,)),
    ("mean axis", functools.partial(prob.mean, axis=(0, 2)), (3, 4, 5)),
    ("var", prob.var, (1000,)),
    ("var axis ddof", functools.partial(prob.var, axis=1, ddof=1), (3, 40)),
    ("var axis list", functools.partial(prob.var, axis=[0, 1]), (3, 40)),
    ("std", prob.std, (1000,)),
    ("std ddof", functools.partial(prob.std, ddof=1), (4, 50)),
    ("covariance", prob.covariance, (50, 3)),
    ("covariance ddof=0", functools.partial(prob.covariance, ddof=0), (2, 50, 3)),
    ("correlation", prob.correlation, (50, 3)),
]


@pytest.mark.parametrize(("name", "fn", "shape"), CASES, ids=[c[0] for c in CASES])
def test_repeated_eager_call_compiles_nothing(name, fn, shape):
    assert compiles_on_repeat(fn, *_calls(shape)) == 0, name
