import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mlmath_jax import linalg
from tests.conftest import assert_close, tol

VECTOR_ORDS = [1, 2, math.inf, -math.inf, 0.5, 3, 4.5]
MATRIX_ORDS = [("fro", "fro"), ("spectral", 2), (2, 2), ("nuc", "nuc"), (1, 1),
               (math.inf, math.inf)]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norm_matches_numpy(rng, ord):
    x = rng.standard_normal((3, 4, 7))
    got = linalg.vector_norm(x.astype(np.float32), ord=ord)
    assert_close(got, np.linalg.vector_norm(x, ord=ord, axis=-1), rtol=1e-5)
    got = linalg.vector_norm(x.astype(np.float32), ord=ord, axis=(0, 2))
    assert_close(got, np.linalg.vector_norm(x, ord=ord, axis=(0, 2)), rtol=1e-5)
    got = linalg.vector_norm(x.astype(np.float32), ord=ord, axis=None)
    assert_close(got, np.linalg.vector_norm(x, ord=ord), rtol=1e-5)


@pytest.mark.parametrize(("ord", "np_ord"), MATRIX_ORDS)
def test_matrix_norm_matches_numpy(rng, ord, np_ord):
    a = rng.standard_normal((2, 5, 3))
    got = linalg.matrix_norm(a.astype(np.float32), ord=ord)
    assert got.shape == (2,)
    assert_close(got, np.linalg.matrix_norm(a, ord=np_ord), rtol=1e-5)


def test_no_overflow_or_underflow_in_float32():
    big = jnp.array([3e30, 4e30], jnp.float32)
    tiny = jnp.array([3e-30, 4e-30], jnp.float32)
    assert_close(linalg.vector_norm(big), 5e30, rtol=1e-6)
    assert_close(linalg.vector_norm(tiny), 5e-30, rtol=1e-6)
    assert_close(linalg.vector_norm(big, ord=3), np.linalg.norm([3e30, 4e30], 3), rtol=1e-5)
    assert_close(linalg.matrix_norm(big.reshape(1, 2)), 5e30, rtol=1e-6)


def test_zero_vector_norm_and_finite_gradient():
    z = jnp.zeros(4)
    assert float(linalg.vector_norm(z)) == 0.0
    for ord in (2, 3, 0.5):
        g = jax.grad(lambda x, o=ord: linalg.vector_norm(x, ord=o))(z)
        assert np.all(np.isfinite(g)) and np.all(g == 0)
    assert np.all(np.isfinite(jax.grad(linalg.matrix_norm)(jnp.zeros((2, 2)))))


@pytest.mark.parametrize("ord", [2, 3, 1.5])
def test_vector_norm_grads(rng, ord):
    x = jnp.asarray(rng.standard_normal(5) + 0.1, jnp.float32)
    check_grads(jax.jit(lambda v: linalg.vector_norm(v, ord=ord)), (x,), order=1,
                modes=["fwd", "rev"], atol=1e-2, rtol=1e-2)
    g = jax.grad(lambda v: linalg.vector_norm(v, ord=ord))(x)
    xn = np.asarray(x, np.float64)
    norm = np.linalg.norm(xn, ord)
    assert_close(g, np.sign(xn) * (np.abs(xn) / norm) ** (ord - 1), rtol=1e-5)


@pytest.mark.parametrize("ord", ["fro", "spectral", "nuc", 1, math.inf])
def test_matrix_norm_grads(rng, ord):
    a = jnp.asarray(rng.standard_normal((4, 3)), jnp.float32)
    check_grads(jax.jit(lambda m: linalg.matrix_norm(m, ord=ord)), (a,), order=1,
                modes=["fwd", "rev"], atol=2e-2, rtol=2e-2)


def test_jit_vmap(rng):
    x = jnp.asarray(rng.standard_normal((6, 5)), jnp.float32)
    a = jnp.asarray(rng.standard_normal((6, 3, 3)), jnp.float32)
    fn = jax.jit(lambda v: linalg.vector_norm(v, ord=3))
    assert_close(jax.vmap(fn)(x), linalg.vector_norm(x, ord=3), rtol=1e-6)
    assert_close(jax.vmap(lambda m: linalg.matrix_norm(m, "nuc"))(a),
                 linalg.matrix_norm(a, "nuc"), rtol=1e-6)


def test_complex_vector_norm(rng):
    x = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    assert_close(linalg.vector_norm(x.astype(np.complex64)), np.linalg.norm(x), rtol=1e-6)


@pytest.mark.x64
def test_float64(rng):
    x = rng.standard_normal((4, 9))
    a = rng.standard_normal((3, 6, 6))
    for ord in VECTOR_ORDS:
        got = linalg.vector_norm(x, ord=ord)
        assert got.dtype == jnp.float64
        assert_close(got, np.linalg.vector_norm(x, ord=ord, axis=-1), rtol=tol(np.float64))
    for ord, np_ord in MATRIX_ORDS:
        assert_close(linalg.matrix_norm(a, ord=ord), np.linalg.matrix_norm(a, ord=np_ord),
                     rtol=tol(np.float64, 100))


def test_bad_input():
    with pytest.raises(ValueError, match=r"ord must be 1, 2, inf, -inf or a number p > 0, got 0"):
        linalg.vector_norm(jnp.ones(3), ord=0)
    with pytest.raises(ValueError, match=r"got -2"):
        linalg.vector_norm(jnp.ones(3), ord=-2)
    with pytest.raises(TypeError, match=r"ord must be a Python number"):
        linalg.vector_norm(jnp.ones(3), ord="fro")
    with pytest.raises(ValueError, match=r"axis=2 is out of range"):
        linalg.vector_norm(jnp.ones((2, 2)), axis=2)
    with pytest.raises(ValueError, match=r"x must be .*shape \(\)"):
        linalg.vector_norm(1.0)
    with pytest.raises(ValueError, match=r"ord must be one of .*got 'max'"):
        linalg.matrix_norm(jnp.ones((2, 2)), ord="max")
    with pytest.raises(ValueError, match=r"ord must be one of .*got 3"):
        linalg.matrix_norm(jnp.ones((2, 2)), ord=3)
    with pytest.raises(ValueError, match=r"a must be .*shape \(2,\)"):
        linalg.matrix_norm(jnp.ones(2))
