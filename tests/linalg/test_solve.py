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
    assert_close(
        linalg.solve(a32, b.astype(np.float32)),
        np.linalg.solve(a, b),
        rtol=tol(np.float32, scale),
        name="solve",
    )
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
    assert_close(
        linalg.pinv(a.astype(np.float32), rtol=0.5), np.linalg.pinv(a, rtol=0.5), rtol=1e-4
    )


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


@pytest.mark.parametrize(
    "fn",
    [
        linalg.det,
        lambda a: linalg.slogdet(a).logabsdet,
        linalg.inv,
        lambda a: linalg.solve(a, jnp.arange(3.0)),
        linalg.cond,
        lambda a: linalg.cond(a, "fro"),
    ],
)
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
    assert_close(
        linalg.slogdet(a).logabsdet, np.linalg.slogdet(a).logabsdet, rtol=tol(np.float64, 100)
    )
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


COND_PS = [None, 1, -1, 2, -2, np.inf, -np.inf, "fro", "nuc"]


@pytest.mark.parametrize("p", COND_PS)
@pytest.mark.parametrize("batch", [(), (3,)])
def test_cond_every_p_matches_numpy(rng, p, batch):
    a = random_matrix(rng, (*batch, 5, 5), cond=50.0)
    assert_close(linalg.cond(a.astype(np.float32), p), np.linalg.cond(a, p), rtol=1e-3)


# Ported from numpy/linalg/tests/test_linalg.py::TestCond::test_basic_nonsvd.
@pytest.mark.parametrize("is_complex", [False, True])
def test_numpy_port_cond_basic_nonsvd(is_complex):
    a = np.array([[1.0, 0, 1], [0, -2.0, 0], [0, 0, 3.0]])
    if is_complex:
        a = a * (1 + 1j)
    a = a.astype(np.complex64 if is_complex else np.float32)
    np.testing.assert_almost_equal(linalg.cond(a, np.inf), 4, decimal=6)
    np.testing.assert_almost_equal(linalg.cond(a, -np.inf), 2 / 3, decimal=6)
    np.testing.assert_almost_equal(linalg.cond(a, 1), 4, decimal=6)
    np.testing.assert_almost_equal(linalg.cond(a, -1), 0.5, decimal=6)
    np.testing.assert_almost_equal(linalg.cond(a, "fro"), np.sqrt(265 / 12), decimal=5)


# Ported from numpy/linalg/tests/test_linalg.py::TestCond::test_cond_dtypes.
@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("norm_ord", [1, -1, 2, -2, "fro", np.inf, -np.inf])
def test_numpy_port_cond_dtypes(dtype, norm_ord):
    a = np.array([[1.0, 0, 1], [0, -2.0, 0], [0, 0, 3.0]], dtype=dtype)
    assert linalg.cond(a, p=norm_ord).dtype == jnp.float32


# Ported from numpy/linalg/tests/test_linalg.py::TestCond::test_singular (float32: the
# rounding of ones((2, 2)) leaves ~1e-8, so "large" is 1e7 here; 1e15 in the x64 port).
def test_numpy_port_cond_singular():
    for a in (np.zeros((2, 2), np.float32), np.ones((2, 2), np.float32)):
        for p in (None, 1, 2, "fro"):
            assert float(linalg.cond(a, p)) > 1e7, p
        for p in (-1, -2):
            linalg.cond(a, p)


# Ported from numpy/linalg/tests/test_linalg.py::TestCond::test_stacked_singular.
def test_numpy_port_cond_stacked_singular():
    a = np.random.RandomState(1234).rand(2, 2, 2, 2).astype(np.float32)
    a[0, 0] = 0
    a[1, 1] = 0
    for p in (None, 1, 2, "fro", -1, -2):
        c = linalg.cond(a, p)
        assert c[0, 0] == np.inf and c[1, 1] == np.inf, p
        assert np.isfinite(c[0, 1]) and np.isfinite(c[1, 0]), p


# Ported from numpy/linalg/tests/test_linalg.py::TestCond::test_nan (xfailed upstream on some
# LAPACKs; here NaN passes through for every p).
def test_numpy_port_cond_nan():
    a = np.ones((3, 2, 2), np.float32)
    a[1, 0, 1] = np.nan
    for p in (None, 1, -1, 2, -2, "fro"):
        c = linalg.cond(a, p)
        assert np.isnan(c[1]), p
        if p in (None, 1, 2, "fro"):
            assert c[0] > 1e7 and c[2] > 1e7, p
        else:
            assert not np.isnan(c[0]) and not np.isnan(c[2]), p


# Ported from numpy/linalg/tests/test_linalg.py::CondCases (the 'size-0' tag: cond raises).
@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3), (3, 0)])
def test_cond_empty_raises_as_numpy(shape):
    with pytest.raises(ValueError, match=r"a: cond is not defined on empty matrices"):
        linalg.cond(np.zeros(shape, np.float32))
    assert linalg.cond(np.zeros((0, 2, 2), np.float32)).shape == (0,)


def test_pinv_of_inf_or_nan_returns_nan_at_once():
    for bad in (np.inf, np.nan):
        a = np.ones((4, 3), np.float32)
        a[1, 2] = bad
        got = linalg.pinv(np.stack([a, np.eye(4, 3, dtype=np.float32)]))
        assert np.all(np.isnan(got[0])) and np.all(np.isfinite(got[1]))


def test_invalid_rtol_raises_or_gives_nan_when_traced():
    a = jnp.eye(3)
    for bad in (-1, -1e-3, np.nan, np.array([0.1, -1.0])):
        with pytest.raises(ValueError, match=r"rtol must be >= 0"):
            linalg.pinv(a, rtol=bad)
    assert np.all(np.isnan(jax.jit(lambda r: linalg.pinv(a, rtol=r))(-1.0)))
    with pytest.raises(TypeError, match=r"rtol: expected a numeric array, got str"):
        linalg.pinv(a, rtol="abc")


def test_nan_in_nan_out():
    a = np.eye(3, dtype=np.float32)
    a[0, 1] = np.nan
    assert np.isnan(linalg.det(a))
    assert np.isnan(linalg.slogdet(a).logabsdet)
    assert not np.all(np.isfinite(linalg.inv(a)))
    assert np.all(np.isnan(linalg.solve(a, np.ones(3, np.float32))))


def test_bad_types_name_the_argument():
    with pytest.raises(TypeError, match=r"a: expected a numeric array, got NoneType"):
        linalg.inv(None)
    with pytest.raises(TypeError, match=r"b: expected a numeric array, got str"):
        linalg.solve(jnp.eye(2), "ab")
    with pytest.raises(TypeError, match=r"a: expected a numeric array, got str"):
        linalg.det("abc")
    with pytest.raises(ValueError, match=r"p must be one of"):
        linalg.cond(jnp.eye(2), "spectral")
    with pytest.raises(TypeError, match=r"p must be a static Python value"):
        linalg.cond(jnp.eye(2), jnp.array(2))
    with pytest.raises(ValueError, match=r"a must be square \[\.\.\., n, n\] for cond with p=1"):
        linalg.cond(jnp.ones((2, 3)), 1)


@pytest.mark.x64
def test_float64_cond_ports():
    # numpy/linalg/tests/test_linalg.py::TestCond::test_singular in float64, as upstream.
    for a in (np.zeros((2, 2)), np.ones((2, 2))):
        for p in (None, 1, 2, "fro"):
            assert float(linalg.cond(a, p)) > 1e15, p
    rng = np.random.default_rng(3)
    a = random_matrix(rng, (4, 6, 6), cond=1e6)
    for p in COND_PS:
        assert_close(linalg.cond(a, p), np.linalg.cond(a, p), rtol=1e-8)
