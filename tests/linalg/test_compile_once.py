"""Compile once (issue 12): a repeated eager call with new data of the same shapes compiles
nothing, for every public function of ``linalg``'s products, solves, norms and structure."""

import functools
import math

import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import linalg
from tests.conftest import CompileCounter, compiles_on_repeat


def square(s):
    return len(s) >= 2 and s[-1] == s[-2]


def _arrays(*shapes, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return tuple(
        jnp.asarray(
            rng.standard_normal(s) + (shift * np.eye(s[-1]) if square(s) else 0), jnp.float32
        )
        for s in shapes
    )


def _calls(*shapes, shift=0.0, n=3):
    return [_arrays(*shapes, seed=i, shift=shift) for i in range(n)]


CASES = [
    ("matmul", linalg.matmul, ((4, 3), (3, 5))),
    ("matmul batch", linalg.matmul, ((2, 4, 3), (3, 5))),
    ("matmul tf32", functools.partial(linalg.matmul, precision="tensorfloat32"), ((4, 3), (3, 2))),
    ("matvec", linalg.matvec, ((4, 3), (3,))),
    ("inner", linalg.inner, ((2, 3), (3,))),
    ("outer", linalg.outer, ((3,), (4,))),
    ("inv", linalg.inv, ((5, 5),)),
    ("solve vector", linalg.solve, ((5, 5), (5,))),
    ("solve matrix", linalg.solve, ((2, 5, 5), (5, 3))),
    ("det", linalg.det, ((3, 5, 5),)),
    ("slogdet", linalg.slogdet, ((5, 5),)),
    ("pinv", linalg.pinv, ((4, 6),)),
    ("pinv rtol", functools.partial(linalg.pinv, rtol=1e-3), ((4, 6),)),
    ("rank", linalg.rank, ((4, 6),)),
    ("rank rtol", functools.partial(linalg.rank, rtol=0.1), ((4, 6),)),
    ("is_linearly_independent", linalg.is_linearly_independent, ((3, 6),)),
    ("vector_norm", linalg.vector_norm, ((1000,),)),
    ("vector_norm axis", functools.partial(linalg.vector_norm, axis=-1, keepdims=True), ((3, 7),)),
]
CASES += [
    (f"vector_norm ord={o}", functools.partial(linalg.vector_norm, ord=o), ((3, 7),))
    for o in (0, 1, 3, -1, -2.5, math.inf, -math.inf)
]
CASES += [
    (f"matrix_norm ord={o}", functools.partial(linalg.matrix_norm, ord=o), ((2, 4, 3),))
    for o in ("fro", "nuc", "spectral", 1, -1, 2, -2, math.inf, -math.inf)
]
CASES += [
    (f"cond p={p}", functools.partial(linalg.cond, p=p), ((4, 4),))
    for p in (None, 1, -1, 2, -2, math.inf, -math.inf, "fro", "nuc")
]


@pytest.mark.parametrize(("name", "fn", "shapes"), CASES, ids=[c[0] for c in CASES])
def test_repeated_eager_call_compiles_nothing(name, fn, shapes):
    shift = 5.0 if name.startswith(("inv", "solve", "det", "slogdet", "cond")) else 0.0
    assert compiles_on_repeat(fn, *_calls(*shapes, shift=shift)) == 0, name


def test_rtol_value_does_not_recompile():
    (a,) = _arrays((4, 6))
    linalg.pinv(a, rtol=0.1)
    linalg.rank(a, rtol=0.1)
    with CompileCounter() as counter:
        for rtol in (0.2, 1e-3, 0.5):
            linalg.pinv(a, rtol=rtol).block_until_ready()
            linalg.rank(a, rtol=rtol).block_until_ready()
    assert counter.count == 0


def test_vector_norm_of_1000_floats_compiles_once():
    # Issue 12's measured offender: an eager lax.cond inside the 2-norm compiled every call.
    xs = [
        jnp.asarray(np.random.default_rng(i).standard_normal(1000), jnp.float32) for i in range(5)
    ]
    assert compiles_on_repeat(linalg.vector_norm, *[(x,) for x in xs]) == 0
    assert compiles_on_repeat(linalg.matrix_norm, *[(x.reshape(20, 50),) for x in xs]) == 0
