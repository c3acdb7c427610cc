import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import prob
from tests.conftest import assert_close


def _check(m, x, axis=0):
    x64 = np.asarray(x, np.float64)
    n = x64.size if axis is None else np.prod([x64.shape[a] for a in np.atleast_1d(axis)])
    assert_close(m.count, np.full(np.shape(m.mean), n), rtol=0, name="count")
    assert_close(m.mean, np.mean(x64, axis=axis), rtol=1e-5, atol=1e-6, name="mean")
    assert_close(m.m2, np.var(x64, axis=axis) * n, rtol=1e-5, atol=1e-5, name="m2")


def test_from_data_matches_numpy(rng):
    x = (5 + rng.standard_normal((40, 3))).astype(np.float32)
    m = prob.Moments.from_data(x)
    _check(m, x)
    assert_close(m.variance(ddof=1), np.var(x.astype(np.float64), 0, ddof=1), rtol=1e-5)
    _check(prob.Moments.from_data(x, axis=None), x, axis=None)
    _check(prob.Moments.from_data(x, axis=1), x, axis=1)


@pytest.mark.parametrize("cuts", [[20], [1], [7, 8, 33], [0], [39], [0, 40]])
@pytest.mark.parametrize("loc", [0.0, 1e4])
def test_merge_of_parts_equals_whole(rng, cuts, loc):
    # With |mean| >> std the float32 means of the parts carry rounding ~eps |mean|, which
    # enters m2 through the squared mean difference: relative ~1e-4 at mean 1e4, std 1.
    rtol = 1e-5 if loc == 0 else 1e-3
    x = (loc + rng.standard_normal((40, 2))).astype(np.float32)
    parts = np.split(x, cuts)  # includes empty parts for cut 0 or 40
    merged = prob.Moments.from_data(parts[0])
    for p in parts[1:]:
        merged = merged.merge(prob.Moments.from_data(p))
    whole = prob.Moments.from_data(x)
    assert_close(merged.count, whole.count, rtol=0, name="count")
    assert_close(merged.mean, whole.mean, rtol=1e-6, atol=1e-6, name="mean")
    assert_close(merged.m2, whole.m2, rtol=rtol, name="m2")
    assert_close(merged.variance(), np.var(x.astype(np.float64), 0), rtol=rtol)


def test_empty_parts_and_no_data():
    empty = prob.Moments.from_data(jnp.zeros((0, 2)))
    assert_close(empty.count, [0, 0], rtol=0)
    both = empty.merge(empty)
    assert_close(both.mean, [0, 0], rtol=0)
    assert np.all(np.isnan(both.variance()))
    one = prob.Moments.from_data(jnp.array([[2.0, 3.0]]))
    assert_close(empty.merge(one).mean, [2, 3], rtol=0)
    assert_close(one.merge(empty).m2, [0, 0], rtol=0)


def test_pytree_jit_vmap_scan(rng):
    x = rng.standard_normal((6, 10, 3)).astype(np.float32)
    chunks = jnp.asarray(x)
    m = jax.jit(prob.Moments.from_data)(chunks[0])
    assert isinstance(m, prob.Moments)
    leaves = jax.tree.leaves(m)
    assert len(leaves) == 3

    def step(acc, chunk):
        return acc.merge(prob.Moments.from_data(chunk)), None

    init = prob.Moments.from_data(jnp.zeros((0, 3)))
    total, _ = jax.lax.scan(step, init, chunks)
    _check(total, x.reshape(60, 3))
    per = jax.vmap(prob.Moments.from_data)(chunks)
    assert per.mean.shape == (6, 3)
    merged = jax.tree.map(lambda a: a, per)
    assert_close(merged.mean, x.mean(axis=1), rtol=1e-5, atol=1e-6)


def test_grad_through_variance(rng):
    x = rng.standard_normal(9).astype(np.float32)
    g = jax.grad(lambda a: prob.Moments.from_data(a).variance())(x)
    assert_close(g, 2 * (x - x.mean()) / 9, rtol=1e-5, atol=1e-6)


def test_bad_input():
    m = prob.Moments.from_data(jnp.ones(3))
    with pytest.raises(TypeError, match="other must be Moments"):
        m.merge(3.0)
    with pytest.raises(TypeError, match="ddof must be a Python int"):
        m.variance(ddof=0.5)
    with pytest.raises(ValueError, match="out of range"):
        prob.Moments.from_data(jnp.ones(3), axis=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.count = 1


@pytest.mark.x64
def test_float64_merge(rng):
    x = 1e8 + rng.standard_normal(1000)
    a, b = prob.Moments.from_data(x[:300]), prob.Moments.from_data(x[300:])
    assert_close(a.merge(b).variance(), np.var(x), rtol=1e-8)
