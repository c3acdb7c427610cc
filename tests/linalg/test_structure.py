import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import linalg
from tests.conftest import random_matrix, random_rank_deficient


@pytest.mark.parametrize("shape", [(5, 5), (4, 7), (8, 3)])
@pytest.mark.parametrize("r", [1, 2, 3])
def test_rank_of_rank_deficient_matches_numpy(rng, shape, r):
    a = random_rank_deficient(rng, shape, r)
    assert int(linalg.rank(a.astype(np.float32))) == r == np.linalg.matrix_rank(a)


def test_rank_full_and_batched(rng):
    a = np.stack(
        [random_rank_deficient(rng, (6, 6), r) for r in (1, 3, 5)] + [rng.standard_normal((6, 6))]
    )
    got = linalg.rank(a.astype(np.float32))
    assert got.dtype == jnp.int32
    np.testing.assert_array_equal(got, np.linalg.matrix_rank(a))
    np.testing.assert_array_equal(
        jax.jit(jax.vmap(linalg.rank))(a.astype(np.float32)), [1, 3, 5, 6]
    )


def test_rank_rtol_and_ill_conditioned(rng):
    a = random_matrix(rng, (6, 6), cond=1e4)
    assert int(linalg.rank(a.astype(np.float32))) == 6
    # A tolerance above 1/cond cuts the smallest singular values, as NumPy's rtol does.
    assert int(linalg.rank(a.astype(np.float32), rtol=1e-3)) == np.linalg.matrix_rank(a, rtol=1e-3)
    assert int(linalg.rank(jnp.zeros((3, 4)))) == 0


def test_is_linearly_independent(rng):
    independent = rng.standard_normal((3, 5))
    dependent = np.concatenate([independent[:2], independent[:1] - 2 * independent[1:2]])
    too_many = rng.standard_normal((6, 5))
    got = linalg.is_linearly_independent(np.stack([independent, dependent]).astype(np.float32))
    np.testing.assert_array_equal(got, [True, False])
    assert not bool(linalg.is_linearly_independent(too_many))


@pytest.mark.x64
def test_rank_float64_near_threshold(rng):
    a = random_matrix(rng, (8, 8), cond=1e12)
    assert int(linalg.rank(a)) == np.linalg.matrix_rank(a) == 8


def test_bad_input():
    with pytest.raises(ValueError, match=r"a must be .*shape \(3,\)"):
        linalg.rank(jnp.ones(3))
    with pytest.raises(ValueError, match=r"vectors must be .*\[\.\.\., k, n\].*shape \(\)"):
        linalg.is_linearly_independent(1.0)


def test_nan_or_inf_input_raises_or_gives_minus_one_under_jit():
    a = np.eye(3, dtype=np.float32)
    a[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"a holds NaN or inf: its rank is undefined"):
        linalg.rank(a)
    with pytest.raises(ValueError, match=r"vectors holds NaN or inf"):
        linalg.is_linearly_independent(np.where(np.isnan(a), np.inf, a))
    got = jax.jit(linalg.rank)(np.stack([a, np.eye(3, dtype=np.float32)]))
    np.testing.assert_array_equal(got, [-1, 3])


def test_invalid_rtol():
    for bad in (-1, np.nan, np.array([-0.5])):
        with pytest.raises(ValueError, match=r"rtol must be >= 0"):
            linalg.rank(jnp.eye(3), rtol=bad)
        with pytest.raises(ValueError, match=r"rtol must be >= 0"):
            linalg.is_linearly_independent(jnp.eye(3), rtol=bad)
    assert int(jax.jit(lambda r: linalg.rank(jnp.eye(3), rtol=r))(-1.0)) == -1
    with pytest.raises(TypeError, match=r"a: expected a numeric array, got str"):
        linalg.rank("abc")


def test_rank_rtol_array_broadcasts_over_batch(rng):
    a = np.stack([np.diag([1.0, 1e-2, 1e-4])] * 2).astype(np.float32)
    np.testing.assert_array_equal(
        linalg.rank(a, rtol=np.array([1e-3, 1e-1])),
        np.linalg.matrix_rank(a, rtol=np.array([1e-3, 1e-1])),
    )
