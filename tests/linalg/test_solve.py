import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mlmath_jax import linalg
from tests.conftest import assert_close, random_matrix, random_spd, tol

# Relative error of a solve grows with the condition number: compare at rtol * cond.
CONDS = [10.0, 1e3]


@pytest.mark.parametrize("cond", CONDS)
@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_inv_solve_det_match_numpy(rng, cond, batch):
    a = random_matrix(rng, (*batch, 5, 5), cond=cond)
    b = rng.standard_normal((*batch, 5, 2))
    a32 = a.astype(np.float32)
    scale = 10 * cond
    assert_close(linalg.inv(a32), np.linalg.inv(a), rtol=tol(np.float32, scale), name="inv")
    assert_close(linalg.solve(a32, b.astype(np.float32)), np.linalg.solve(a, b),
                 rtol=tol(np.float32, scale), name="solve")
    assert_close(linalg.det(a32), np.linalg.det(a), rtol=tol(np.float32, 100), name="det")
    sign, logdet = linalg.slogdet(a32)
    ref_sign, ref_logdet = np.linalg.slogdet(a)
    np.testing.assert_array_equal(sign, ref_sign)
    assert_close(logdet, ref_logdet, rtol=tol(np.float32, 100), atol=1e-5, name="logabsdet")


def test_solve_vector_rhs_and_broadcasting(rng):
    a = random_spd(rng, (4, 3, 3))
    b_vec = rng.standard_normal(3)
    b_mat = rng.standard_normal((3, 2))  # one [n, k] right-hand side broadcast over a's batch
    got = linalg.solve(a.astype(np.float32), b_vec.astype(np.float32))
    assert got.shape == (4, 3)
    assert_close(got, np.linalg.solve(a, b_vec), rtol=1e-4)
    got = linalg.solve(a.astype(np.float32), b_mat.astype(np.float32))
    assert got.shape == (4, 3, 2)
    assert_close(got, np.linalg.solve(a, b_mat), rtol=1e-4)


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (2, 5, 3)])
def test_pinv_matches_numpy(rng, shape):
    a = rng.standard_normal(shape)
    assert_close(linalg.pinv(a.astype(np.float32)), np.linalg.pinv(a), rtol=1e-4)


def test_pinv_rank_deficient_and_rtol(rng):
    a = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 4))
    assert_close(linalg.pinv(a.astype(np.float32)), np.linalg.pinv(a, rtol=1e-5), rtol=1e-3)
    assert_close(linalg.pinv(a.astype(np.float32), rtol=0.5), np.linalg.pinv(a, rtol=0.5),
                 rtol=1e-4)


def test_cond_matches_numpy(rng):
    a = np.stack([random_matrix(rng, (5, 5), cond=c) for c in (1.0, 1e2, 1e4)])
    assert_close(linalg.cond(a.astype(np.float32)), np.linalg.cond(a), rtol=1e-3)
    rect = rng.standard_normal((3, 6))
    assert_close(linalg.cond(rect.astype(np.float32)), np.linalg.cond(rect), rtol=1e-4)


def test_singular_matrix_behaviour_is_as_documented():
    # Two equal rows: the LU factorisation meets an exact zero pivot.
    s = jnp.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 1.0, 5.0]])
    assert float(linalg.det(s)) == 0.0
    sign, logdet = linalg.slogdet(s)
    assert float(sign) == 0.0 and float(logdet) == -np.inf
    assert not np.all(np.isfinite(linalg.inv(s)))
    assert not np.all(np.isfinite(linalg.solve(s, jnp.ones(3))))
    assert float(linalg.cond(s)) > 1e6  # numerically infinite: float32 rounding leaves ~1e-8
    assert float(linalg.cond(jnp.zeros((2, 2)))) == np.inf
    assert int(linalg.rank(s)) == 2


def test_jit_vmap(rng):
    a = jnp.asarray(random_spd(rng, (6, 4, 4)), jnp.float32)
    b = jnp.asarray(rng.standard_normal((6, 4)), jnp.float32)
    for fn in (linalg.inv, linalg.det, linalg.cond, linalg.pinv):
        assert_close(jax.jit(jax.vmap(fn))(a), fn(a), rtol=1e-5, name=fn.__name__)
    assert_close(jax.vmap(linalg.solve)(a, b), linalg.solve(a, b[..., None])[..., 0], rtol=1e-5)
    sign, logdet = jax.jit(linalg.slogdet)(a)
    assert sign.shape == logdet.shape == (6,)


@pytest.mark.parametrize("fn", [linalg.det, lambda a: linalg.slogdet(a).logabsdet,
                                linalg.inv, lambda a: linalg.solve(a, jnp.arange(3.0))])
def test_grads(rng, fn):
    a = jnp.asarray(random_spd(rng, (3, 3)) + 3 * np.eye(3), jnp.float32)
    check_grads(fn, (a,), order=1, modes=["fwd", "rev"], atol=5e-2, rtol=5e-2)


def test_grad_of_logdet_is_inverse_transpose(rng):
    a = random_matrix(rng, (4, 4), cond=5.0)
    got = jax.grad(lambda m: linalg.slogdet(m).logabsdet)(a.astype(np.float32))
    assert_close(got, np.linalg.inv(a).T, rtol=1e-4)


@pytest.mark.x64
@pytest.mark.parametrize("cond", [1e2, 1e8])
def test_float64_against_numpy(rng, cond):
    a = random_matrix(rng, (3, 6, 6), cond=cond)
    b = rng.standard_normal((3, 6, 2))
    scale = 10 * cond
    assert linalg.inv(a).dtype == jnp.float64
    assert_close(linalg.inv(a), np.linalg.inv(a), rtol=tol(np.float64, scale))
    assert_close(linalg.solve(a, b), np.linalg.solve(a, b), rtol=tol(np.float64, scale))
    assert_close(linalg.det(a), np.linalg.det(a), rtol=tol(np.float64, 100))
    assert_close(linalg.slogdet(a).logabsdet, np.linalg.slogdet(a).logabsdet,
                 rtol=tol(np.float64, 100))
    assert_close(linalg.pinv(a), np.linalg.pinv(a), rtol=tol(np.float64, scale))
    assert_close(linalg.cond(a), np.linalg.cond(a), rtol=1e-6)
    check_grads(linalg.det, (a[0] + 0.0,), order=2, modes=["fwd", "rev"])


def test_bad_input():
    with pytest.raises(ValueError, match=r"a must be square \[\.\.\., n, n\], got shape \(2, 3\)"):
        linalg.det(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"a must be square .*\(2, 3\)"):
        linalg.inv(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"a must be square"):
        linalg.solve(jnp.ones((2, 3)), jnp.ones(2))
    with pytest.raises(ValueError, match=r"a must be .*at least 2 dimension.*shape \(\)"):
        linalg.det(3.0)
    with pytest.raises(ValueError, match=r"sizes of a and b .*\(3, 3\).*\(2,\)"):
        linalg.solve(jnp.eye(3), jnp.ones(2))
    with pytest.raises(ValueError, match=r"sizes of a and b .*\[\.\.\., n, k\]"):
        linalg.solve(jnp.eye(3), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match=r"batch dimensions do not broadcast"):
        linalg.solve(jnp.ones((2, 3, 3)), jnp.ones((4, 3, 1)))
    with pytest.raises(ValueError, match=r"a must be .*shape \(4,\)"):
        linalg.cond(jnp.ones(4))
