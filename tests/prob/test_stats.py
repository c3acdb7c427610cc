import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from sklearn.datasets import load_iris, load_wine

from mlmath_jax import prob
from tests.conftest import assert_close, float_dtypes, tol


@pytest.mark.parametrize("dtype", float_dtypes())
@pytest.mark.parametrize("axis", [None, 0, 2, -1, (0, 2)])
@pytest.mark.parametrize("ddof", [0, 1])
def test_mean_var_std_match_numpy(rng, dtype, axis, ddof):
    x = (3.0 + 2.0 * rng.standard_normal((4, 5, 6))).astype(dtype)
    x64 = x.astype(np.float64)
    assert_close(prob.mean(x, axis), np.mean(x64, axis), rtol=tol(dtype, 10), name="mean")
    assert_close(
        prob.var(x, axis, ddof), np.var(x64, axis, ddof=ddof), rtol=tol(dtype, 10), name="var"
    )
    assert_close(
        prob.std(x, axis, ddof), np.std(x64, axis, ddof=ddof), rtol=tol(dtype, 10), name="std"
    )
    assert prob.var(x, axis).dtype == dtype


@pytest.mark.parametrize("loc", [1e4, 1e6])
def test_float32_variance_accurate_when_mean_dominates(rng, loc):
    x = (loc + rng.standard_normal(200_000)).astype(np.float32)
    exact = np.var(x.astype(np.float64))
    naive = float(jnp.mean(jnp.asarray(x) ** 2) - jnp.mean(jnp.asarray(x)) ** 2)
    assert abs(naive - exact) > 0.1  # the textbook formula really fails here
    assert abs(float(prob.var(x)) - exact) <= 1e-3 * exact
    assert abs(float(prob.mean(x)) - np.mean(x.astype(np.float64))) <= 1e-7 * loc
    assert abs(float(prob.std(x, ddof=1)) - np.std(x.astype(np.float64), ddof=1)) <= 1e-3


def test_ddof_edge_cases_as_numpy():
    x = jnp.array([1.0, 2.0])
    assert np.isinf(prob.var(x, ddof=2))  # positive / 0, as NumPy
    assert np.isnan(prob.var(jnp.array([1.0]), ddof=1))
    assert np.isnan(prob.mean(jnp.zeros((0,))))
    assert prob.var(jnp.zeros((3, 0)), axis=1).shape == (3,)


def test_jit_vmap_grad(rng):
    x = rng.standard_normal((3, 8)).astype(np.float32)
    assert_close(jax.jit(lambda a: prob.var(a, 1, 1))(x), np.var(x, 1, ddof=1), rtol=1e-5)
    assert_close(jax.vmap(prob.std)(x), np.std(x, 1), rtol=1e-5)
    g = jax.jit(jax.grad(lambda a: prob.mean(a)))(x)
    assert_close(g, np.full(x.shape, 1 / x.size), rtol=1e-6)
    g = jax.jit(jax.grad(lambda a: prob.var(a, ddof=1)))(x[0])
    assert_close(g, 2 * (x[0] - x[0].mean()) / 7, rtol=1e-5, atol=1e-6)
    check_grads(
        jax.jit(lambda a: prob.var(a, axis=0)),
        (x.astype(np.float32),),
        order=1,
        modes=["rev"],
        atol=1e-2,
        rtol=1e-2,
    )
    check_grads(
        jax.jit(prob.correlation), (x.T.copy(),), order=1, modes=["rev"], atol=2e-2, rtol=2e-2
    )


@pytest.mark.parametrize("loader", [load_iris, load_wine])
def test_covariance_correlation_real_data(loader):
    x = loader().data
    x32 = x.astype(np.float32)
    assert_close(prob.covariance(x32), np.cov(x, rowvar=False), rtol=1e-5, name="cov")
    assert_close(prob.covariance(x32, ddof=0), np.cov(x, rowvar=False, ddof=0), rtol=1e-5)
    assert_close(
        prob.correlation(x32), np.corrcoef(x, rowvar=False), rtol=1e-5, atol=1e-6, name="corr"
    )


def test_covariance_batch_and_large_mean(rng):
    x = rng.standard_normal((2, 50, 3))
    got = prob.covariance(x.astype(np.float32))
    assert got.shape == (2, 3, 3)
    for i in range(2):
        assert_close(got[i], np.cov(x[i], rowvar=False), rtol=1e-5)
    big = (1e4 + x[0]).astype(np.float32)
    assert_close(prob.covariance(big), np.cov(big.astype(np.float64), rowvar=False), rtol=1e-3)


def test_correlation_constant_feature_is_nan():
    x = jnp.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]])
    c = prob.correlation(x)
    assert np.isnan(c[0, 0]) and np.isnan(c[0, 1]) and c[1, 1] == 1.0


def test_bad_input():
    x = jnp.ones((3, 4))
    with pytest.raises(ValueError, match="out of range"):
        prob.mean(x, axis=2)
    with pytest.raises(ValueError, match="repeated axis"):
        prob.var(x, axis=(0, 0))
    with pytest.raises(TypeError, match="ddof must be a Python int"):
        prob.var(x, ddof=1.5)
    with pytest.raises(ValueError, match=r"x must be a \[\.\.\., m, n\] matrix"):
        prob.covariance(jnp.ones(3))
    with pytest.raises(ValueError, match="at least one sample"):
        prob.correlation(jnp.ones((0, 3)))
    with pytest.raises(TypeError, match="expected a real array"):
        prob.mean(jnp.ones(3, jnp.complex64))


@pytest.mark.x64
def test_float64_large_mean(rng):
    x = 1e9 + rng.standard_normal(10_000)
    assert_close(prob.var(x), np.var(x), rtol=1e-6)
    assert prob.var(x).dtype == jnp.float64


def test_bad_types_name_the_argument():
    for fn in (prob.mean, prob.var, prob.std, prob.covariance, prob.correlation):
        with pytest.raises(TypeError, match=r"x: expected a numeric array, got str"):
            fn("abc")
        with pytest.raises(TypeError, match=r"x: expected a numeric array, got NoneType"):
            fn(None)
    with pytest.raises(TypeError, match=r"ddof must be a Python int"):
        prob.std(jnp.ones(3), ddof=1.5)
    with pytest.raises(TypeError, match=r"ddof must be a Python int"):
        prob.covariance(jnp.ones((3, 2)), ddof="1")
    with pytest.raises(TypeError, match=r"axis must be a static Python value"):
        prob.var(jnp.ones((3, 2)), axis=jnp.array(0))
    with pytest.raises(ValueError, match=r"validation under jit|out of range"):
        jax.jit(lambda a: prob.var(a, axis=3))(jnp.ones((2, 2)))


def test_axis_list_and_tuple_agree(rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    assert_close(prob.var(x, axis=[0, 2]), np.var(x.astype(np.float64), axis=(0, 2)),
                 rtol=1e-5)
    assert_close(prob.mean(x, axis=[2, 0]), np.mean(x.astype(np.float64), axis=(0, 2)),
                 rtol=1e-5)
