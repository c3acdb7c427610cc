"""Compile once: repeated eager ``prob.median``/``prob.quantile`` calls with new data.

Both the radix path (small slices) and the bracket path (slices of 2**16 values or more,
with its ``lax.cond`` fallback) must compile nothing on a repeated call of the same shapes.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import prob
from tests.conftest import compiles_on_repeat

ENTRY_POINTS = [
    pytest.param(prob.median, id="prob.median"),
    pytest.param(lambda a: prob.quantile(a, 0.3), id="prob.quantile"),
    pytest.param(lambda a: prob.quantile(a, [0.1, 0.9], method="hazen"), id="prob.quantile-q2"),
]


@pytest.mark.parametrize("fn", ENTRY_POINTS)
@pytest.mark.parametrize("n", [1000, 1 << 17])
def test_compiles_once(rng, fn, n):
    calls = [(jnp.asarray(rng.standard_normal(n).astype(np.float32)),) for _ in range(3)]
    assert compiles_on_repeat(fn, *calls) == 0


def test_compiles_once_when_the_bracket_misses(rng):
    # Sorted then constant data: the first hits nothing of the sample's guess, the second
    # ties everything; the fallback branch is in the same program, so nothing compiles.
    n = 1 << 17
    calls = [
        (jnp.asarray(rng.standard_normal(n).astype(np.float32)),),
        (jnp.asarray(np.sort(rng.standard_normal(n)).astype(np.float32)),),
        (jnp.ones(n, jnp.float32),),
    ]
    assert compiles_on_repeat(lambda a: prob.median(a), *calls) == 0
    assert compiles_on_repeat(lambda a: prob.quantile(a, 0.999, method="nearest"), *calls) == 0
