import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mlmath_jax import linalg
from tests.conftest import assert_close, tol

VECTOR_ORDS = [1, 2, math.inf, -math.inf, 0.5, 3, 4.5, 0, -1, -2, -0.5]
MATRIX_ORDS = [
    ("fro", "fro"),
    ("spectral", 2),
    (2, 2),
    ("nuc", "nuc"),
    (1, 1),
    (math.inf, math.inf),
    (-1, -1),
    (-2, -2),
    (-math.inf, -math.inf),
]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norm_matches_numpy(rng, ord):
    x = rng.standard_normal((3, 4, 7))
    got = linalg.vector_norm(x.astype(np.float32), ord=ord)
    assert got.shape == ()  # axis=None flattens, as NumPy
    assert_close(got, np.linalg.vector_norm(x, ord=ord), rtol=1e-5)
    got = linalg.vector_norm(x.astype(np.float32), ord=ord, axis=-1)
    assert_close(got, np.linalg.vector_norm(x, ord=ord, axis=-1), rtol=1e-5)
    got = linalg.vector_norm(x.astype(np.float32), ord=ord, axis=(0, 2))
    assert_close(got, np.linalg.vector_norm(x, ord=ord, axis=(0, 2)), rtol=1e-5)
    got = linalg.vector_norm(x.astype(np.float32), ord=ord, axis=(2, 0), keepdims=True)
    assert_close(got, np.linalg.vector_norm(x, ord=ord, axis=(2, 0), keepdims=True), rtol=1e-5)


@pytest.mark.parametrize(("ord", "np_ord"), MATRIX_ORDS)
def test_matrix_norm_matches_numpy(rng, ord, np_ord):
    a = rng.standard_normal((2, 5, 3))
    got = linalg.matrix_norm(a.astype(np.float32), ord=ord)
    assert got.shape == (2,)
    assert_close(got, np.linalg.matrix_norm(a, ord=np_ord), rtol=1e-5)
    got = linalg.matrix_norm(a.astype(np.float32), ord=ord, keepdims=True)
    assert_close(got, np.linalg.matrix_norm(a, ord=np_ord, keepdims=True), rtol=1e-5)


def test_no_overflow_or_underflow_in_float32():
    big = jnp.array([3e30, 4e30], jnp.float32)
    tiny = jnp.array([3e-30, 4e-30], jnp.float32)
    assert_close(linalg.vector_norm(big), 5e30, rtol=1e-6)
    assert_close(linalg.vector_norm(tiny), 5e-30, rtol=1e-6)
    assert_close(linalg.vector_norm(big, ord=3), np.linalg.norm([3e30, 4e30], 3), rtol=1e-5)
    assert_close(linalg.matrix_norm(big.reshape(1, 2)), 5e30, rtol=1e-6)
    # ord < 0 scales by the smallest magnitude: 1e-30 ** -2 overflows float32 unscaled.
    assert_close(linalg.vector_norm(tiny, ord=-2), np.linalg.norm([3e-30, 4e-30], -2), rtol=1e-5)
    assert_close(linalg.vector_norm(big, ord=-1), np.linalg.norm([3e30, 4e30], -1), rtol=1e-5)


def test_inf_nan_and_zero_entries():
    x = jnp.array([1.0, jnp.inf, 2.0])
    for ord in (1, 2, 3, 0.5, math.inf):
        assert float(linalg.vector_norm(x, ord=ord)) == np.inf, ord
    assert_close(
        linalg.vector_norm(x, ord=-1), np.linalg.vector_norm([1, np.inf, 2], ord=-1), rtol=1e-6
    )
    assert float(linalg.vector_norm(jnp.array([jnp.inf, jnp.inf]), ord=-2)) == np.inf
    assert float(linalg.vector_norm(jnp.array([0.0, 3.0]), ord=-2)) == 0.0
    nan = jnp.array([1.0, jnp.nan])
    for ord in VECTOR_ORDS:
        assert np.isnan(linalg.vector_norm(nan, ord=ord)), ord
    for ord, _ in MATRIX_ORDS:
        assert np.isnan(linalg.matrix_norm(jnp.array([[1.0, jnp.nan], [0.0, 1.0]]), ord)), ord
    a_inf = jnp.array([[1.0, jnp.inf], [0.0, 1.0]])
    for ord in ("fro", "nuc", 2, 1, math.inf):
        assert float(linalg.matrix_norm(a_inf, ord)) == np.inf, ord


# Ported from numpy/linalg/tests/test_linalg.py::_TestNormGeneral::test_empty and
# _TestNorm2D::test_matrix_empty, with the vector_norm/matrix_norm rules NumPy 2 follows.
@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (2, 0, 3)])
@pytest.mark.parametrize("axis", [None, 0, -1])
@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norm_empty_as_numpy(shape, axis, ord):
    x = np.zeros(shape)
    try:
        with np.errstate(divide="ignore"):
            want = np.linalg.vector_norm(x, ord=ord, axis=axis)
    except ValueError:
        with pytest.raises(ValueError, match=r"x: the ord=-inf norm"):
            linalg.vector_norm(x.astype(np.float32), ord=ord, axis=axis)
        return
    got = linalg.vector_norm(x.astype(np.float32), ord=ord, axis=axis)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0), (0, 2, 2), (2, 0, 3)])
@pytest.mark.parametrize("ord", [o for o, _ in MATRIX_ORDS])
def test_matrix_norm_empty_as_numpy(shape, ord):
    a = np.zeros(shape)
    np_ord = 2 if ord == "spectral" else ord
    try:
        want = np.linalg.matrix_norm(a, ord=np_ord)
    except ValueError:
        with pytest.raises(ValueError, match=r"a: the ord=.* matrix norm \(a minimum\)"):
            linalg.matrix_norm(a.astype(np.float32), ord=ord)
        return
    np.testing.assert_array_equal(linalg.matrix_norm(a.astype(np.float32), ord=ord), want)


# Ported from numpy/linalg/tests/test_linalg.py::_TestNormGeneral::test_vector.
@pytest.mark.parametrize("v", [[1, 2, 3, 4], [-1, -2, -3, -4], [-1, 2, -3, 4]])
def test_numpy_port_vector(v):
    v = np.array(v, np.float32)
    for ord, want in [
        (None, 30**0.5),
        (math.inf, 4.0),
        (-math.inf, 1.0),
        (1, 10.0),
        (-1, 12.0 / 25),
        (2, 30**0.5),
        (-2, (205.0 / 144) ** -0.5),
        (0, 4),
    ]:
        np.testing.assert_almost_equal(linalg.vector_norm(v, ord), want, decimal=6)


# Ported from numpy/linalg/tests/test_linalg.py::_TestNormGeneral::test_vector_return_type.
@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint8, np.float32, np.complex64])
def test_numpy_port_vector_return_type(dtype):
    at = np.array([1, 0, 1]).astype(dtype)
    for ord, want in [
        (-math.inf, 0.0),
        (-1, 0.0),
        (0, 2),
        (1, 2.0),
        (2, 2.0**0.5),
        (4, 2.0**0.25),
        (math.inf, 1.0),
    ]:
        an = linalg.vector_norm(at, ord)
        assert an.dtype == jnp.float32, (dtype, ord)
        np.testing.assert_almost_equal(an, want, decimal=6)


# Ported from numpy/linalg/tests/test_linalg.py::_TestNorm2D::test_matrix_return_type.
@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, np.float32, np.complex64])
def test_numpy_port_matrix_return_type(dtype):
    at = np.array([[1, 0, 1], [0, 1, 1]]).astype(dtype)
    for ord, want in [
        (-math.inf, 2.0),
        (-1, 1.0),
        (1, 2.0),
        (2, 3.0**0.5),
        (-2, 1.0),
        (math.inf, 2.0),
        ("fro", 2.0),
        ("nuc", 2.7320508075688772),
    ]:
        an = linalg.matrix_norm(at, ord)
        assert an.dtype == jnp.float32, (dtype, ord)
        np.testing.assert_almost_equal(an, want, decimal=5)


# Ported from numpy/linalg/tests/test_linalg.py::_TestNorm2D::test_matrix_2x2 and
# test_matrix_3x3.
def test_numpy_port_matrix_2x2_3x3():
    a = np.array([[1, 3], [5, 7]], np.float32)
    for ord, want in [
        ("fro", 84**0.5),
        ("nuc", 10.0),
        (math.inf, 12.0),
        (-math.inf, 4.0),
        (1, 10.0),
        (-1, 6.0),
        (2, 9.1231056256176615),
        (-2, 0.87689437438234041),
    ]:
        np.testing.assert_almost_equal(linalg.matrix_norm(a, ord), want, decimal=5)
    for bad in ("nofro", -3, 0):
        with pytest.raises(ValueError, match="ord must be one of"):
            linalg.matrix_norm(a, bad)
    b = (1 / 10) * np.array([[1, 2, 3], [6, 0, 5], [3, 2, 1]], np.float32)
    for ord, want in [
        ("fro", (1 / 10) * 89**0.5),
        ("nuc", 1.3366836911774836),
        (math.inf, 1.1),
        (-math.inf, 0.6),
        (1, 1.0),
        (-1, 0.4),
        (2, 0.88722940323461277),
        (-2, 0.19456584790481812),
    ]:
        np.testing.assert_almost_equal(linalg.matrix_norm(b, ord), want, decimal=6)


# Ported from numpy/linalg/tests/test_linalg.py::_TestNormGeneral::test_axis (vector part)
# and test_keepdims (vector and matrix parts, matrix axes as the last two).
def test_numpy_port_axis_and_keepdims():
    a = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    for order in [None, -1, 0, 1, 2, 3, math.inf, -math.inf]:
        expected0 = [np.linalg.norm(a[:, k], ord=order) for k in range(a.shape[1])]
        np.testing.assert_almost_equal(linalg.vector_norm(a, order, axis=0), expected0, 5)
        expected1 = [np.linalg.norm(a[k, :], ord=order) for k in range(a.shape[0])]
        np.testing.assert_almost_equal(linalg.vector_norm(a, order, axis=1), expected1, 5)
    b = np.arange(1, 25, dtype=np.float32).reshape(2, 3, 4)
    found = linalg.vector_norm(b, None, None, keepdims=True)
    assert found.shape == (1, 1, 1)
    np.testing.assert_allclose(np.squeeze(found), np.linalg.norm(b), rtol=1e-6)
    for order in [None, -1, 0, 1, 2, 3, math.inf, -math.inf]:
        for k in range(b.ndim):
            found = linalg.vector_norm(b, order, axis=k, keepdims=True)
            expected_shape = list(b.shape)
            expected_shape[k] = 1
            assert found.shape == tuple(expected_shape)
            np.testing.assert_allclose(
                np.squeeze(found), np.linalg.norm(b, order, axis=k), rtol=1e-5
            )
    for order in [-2, 2, -1, 1, math.inf, -math.inf, "fro", "nuc"]:
        found = linalg.matrix_norm(b, order, keepdims=True)
        assert found.shape == (2, 1, 1)
        # -2: b's matrices are rank-deficient; float32 leaves ~1e-7 of the largest.
        assert_close(
            np.squeeze(found),
            np.linalg.matrix_norm(b, ord=order),
            rtol=1e-5,
            atol=1e-5 * np.linalg.matrix_norm(b, ord=2).max(),
        )


# Ported from numpy/linalg/tests/test_linalg.py::_TestNorm2D::test_bad_args (the parts that
# apply to vector_norm / matrix_norm, which take no 2-tuple axis for matrices).
def test_numpy_port_bad_args():
    with pytest.raises(ValueError):
        linalg.vector_norm(jnp.array([3.0, 4.0]), "fro")
    with pytest.raises(ValueError):
        linalg.vector_norm(jnp.array([3.0, 4.0]), "nuc")
    for order in [0, 3]:
        with pytest.raises(ValueError):
            linalg.matrix_norm(jnp.ones((2, 3)), order)
    b = np.arange(1, 25, dtype=np.float32).reshape(2, 3, 4)
    with pytest.raises(ValueError, match="out of range"):
        linalg.vector_norm(b, None, 3)
    with pytest.raises(ValueError, match="out of range"):
        linalg.vector_norm(b, None, (2, 3))


def test_zero_vector_norm_and_finite_gradient():
    z = jnp.zeros(4)
    assert float(linalg.vector_norm(z)) == 0.0
    for ord in (2, 3, 0.5):
        g = jax.grad(lambda x, o=ord: linalg.vector_norm(x, ord=o))(z)
        assert np.all(np.isfinite(g)) and np.all(g == 0)
    assert np.all(np.isfinite(jax.grad(linalg.matrix_norm)(jnp.zeros((2, 2)))))


@pytest.mark.parametrize("ord", [2, 3, 1.5, -1.5, -2])
def test_vector_norm_grads(rng, ord):
    x = jnp.asarray(rng.standard_normal(5) + 0.1, jnp.float32)
    check_grads(
        jax.jit(lambda v: linalg.vector_norm(v, ord=ord)),
        (x,),
        order=1,
        modes=["fwd", "rev"],
        atol=1e-2,
        rtol=1e-2,
    )
    g = jax.grad(lambda v: linalg.vector_norm(v, ord=ord))(x)
    xn = np.asarray(x, np.float64)
    norm = np.linalg.norm(xn, ord)
    assert_close(g, np.sign(xn) * (np.abs(xn) / norm) ** (ord - 1), rtol=1e-5)


@pytest.mark.parametrize("ord", ["fro", "spectral", "nuc", 1, math.inf, -1, -2, -math.inf])
def test_matrix_norm_grads(rng, ord):
    a = jnp.asarray(rng.standard_normal((4, 3)), jnp.float32)
    check_grads(
        jax.jit(lambda m: linalg.matrix_norm(m, ord=ord)),
        (a,),
        order=1,
        modes=["fwd", "rev"],
        atol=2e-2,
        rtol=2e-2,
    )


def test_jit_vmap(rng):
    x = jnp.asarray(rng.standard_normal((6, 5)), jnp.float32)
    a = jnp.asarray(rng.standard_normal((6, 3, 3)), jnp.float32)
    fn = jax.jit(lambda v: linalg.vector_norm(v, ord=3))
    assert_close(jax.vmap(fn)(x), linalg.vector_norm(x, ord=3, axis=-1), rtol=1e-6)
    assert_close(
        jax.jit(linalg.vector_norm, static_argnames="ord")(x, ord=-1),
        np.linalg.vector_norm(np.asarray(x, np.float64), ord=-1),
        rtol=1e-5,
    )
    assert_close(
        jax.vmap(lambda m: linalg.matrix_norm(m, "nuc"))(a), linalg.matrix_norm(a, "nuc"), rtol=1e-6
    )


def test_complex_vector_norm(rng):
    x = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    assert_close(linalg.vector_norm(x.astype(np.complex64)), np.linalg.norm(x), rtol=1e-6)


@pytest.mark.x64
def test_float64(rng):
    x = rng.standard_normal((4, 9))
    a = rng.standard_normal((3, 6, 6))
    for ord in VECTOR_ORDS:
        got = linalg.vector_norm(x, ord=ord, axis=-1)
        assert got.dtype == jnp.float64
        assert_close(got, np.linalg.vector_norm(x, ord=ord, axis=-1), rtol=tol(np.float64))
        assert_close(
            linalg.vector_norm(x, ord=ord), np.linalg.vector_norm(x, ord=ord), rtol=tol(np.float64)
        )
    for ord, np_ord in MATRIX_ORDS:
        assert_close(
            linalg.matrix_norm(a, ord=ord),
            np.linalg.matrix_norm(a, ord=np_ord),
            rtol=tol(np.float64, 100),
        )


def test_bad_input():
    with pytest.raises(ValueError, match=r"ord must be a number for a vector norm, got 'fro'"):
        linalg.vector_norm(jnp.ones(3), ord="fro")
    with pytest.raises(TypeError, match=r"ord must be a Python number"):
        linalg.vector_norm(jnp.ones(3), ord=(2,))
    with pytest.raises(TypeError, match=r"ord must be a static Python value .*got list"):
        linalg.vector_norm(jnp.ones(3), ord=[2])
    with pytest.raises(TypeError, match=r"ord must be a static Python value"):
        linalg.vector_norm(jnp.ones(3), ord=jnp.array(2.0))
    with pytest.raises(ValueError, match=r"ord must be a real number"):
        linalg.vector_norm(jnp.ones(3), ord=math.nan)
    with pytest.raises(ValueError, match=r"axis=2 is out of range"):
        linalg.vector_norm(jnp.ones((2, 2)), axis=2)
    with pytest.raises(ValueError, match=r"axis has repeated entries"):
        linalg.vector_norm(jnp.ones((2, 2)), axis=(0, -2))
    with pytest.raises(ValueError, match=r"keepdims must be one of"):
        linalg.vector_norm(jnp.ones(2), keepdims="yes")
    with pytest.raises(TypeError, match=r"x: expected a numeric array, got str"):
        linalg.vector_norm("abc")
    with pytest.raises(TypeError, match=r"x: expected a numeric array, got NoneType"):
        linalg.vector_norm(None)
    with pytest.raises(TypeError, match=r"a: expected a numeric array, got str"):
        linalg.matrix_norm("abc")
    with pytest.raises(TypeError, match=r"ord must be one of"):
        linalg.matrix_norm(jnp.ones((2, 2)), ord=True)
    assert float(linalg.vector_norm(-3.0)) == 3.0  # NumPy flattens a scalar
    with pytest.raises(ValueError, match=r"ord must be one of .*got 'max'"):
        linalg.matrix_norm(jnp.ones((2, 2)), ord="max")
    with pytest.raises(ValueError, match=r"ord must be one of .*got 3"):
        linalg.matrix_norm(jnp.ones((2, 2)), ord=3)
    with pytest.raises(ValueError, match=r"a must be .*shape \(2,\)"):
        linalg.matrix_norm(jnp.ones(2))
