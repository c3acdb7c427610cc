import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mlmath_jax import linalg
from tests.conftest import assert_close, tol

SHAPES = [  # (a batch + matrix shape, b shape)
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
]


@pytest.mark.parametrize(("sa", "sb"), SHAPES)
def test_matmul_matches_numpy(rng, sa, sb):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    got = linalg.matmul(a.astype(np.float32), b.astype(np.float32))
    assert got.dtype == jnp.float32
    assert_close(got, np.matmul(a, b), rtol=tol(np.float32, 10), name="matmul")


def test_matvec_inner_outer_match_numpy(rng):
    a = rng.standard_normal((2, 3, 4))
    x = rng.standard_normal((2, 4))
    y = rng.standard_normal((2, 4))
    z = rng.standard_normal((2, 3))
    assert_close(linalg.matvec(a, x), np.einsum("bmn,bn->bm", a, x), rtol=1e-5)
    assert_close(linalg.inner(x, y), np.sum(x * y, -1), rtol=1e-5)
    assert_close(linalg.outer(z, x), z[:, :, None] * x[:, None, :], rtol=1e-6)
    assert_close(linalg.inner(x[0], y[0]), np.inner(x[0], y[0]), rtol=1e-5)
    assert_close(linalg.outer(z[0], x[0]), np.outer(z[0], x[0]), rtol=1e-6)


def test_integer_input_promotes_to_float():
    got = linalg.matmul(jnp.array([[1, 2]]), jnp.array([[3], [4]]))
    assert got.dtype == jnp.float32 and float(got[0, 0]) == 11.0


def test_jit_vmap_grad(rng):
    a = jnp.asarray(rng.standard_normal((5, 3, 4)), jnp.float32)
    x = jnp.asarray(rng.standard_normal((5, 4)), jnp.float32)
    assert_close(jax.jit(linalg.matvec)(a, x), jax.vmap(linalg.matvec)(a, x), rtol=1e-6)
    assert_close(jax.vmap(linalg.inner)(x, x), jnp.sum(x * x, -1), rtol=1e-5)
    check_grads(linalg.matmul, (a[0], a[1].T), order=1, modes=["rev"], atol=1e-2, rtol=1e-2)
    check_grads(linalg.inner, (x[0], x[1]), order=2, modes=["fwd", "rev"], atol=1e-2, rtol=1e-2)


@pytest.mark.x64
def test_float64_kept(rng):
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 3))
    got = linalg.matmul(a, b)
    assert got.dtype == jnp.float64
    assert_close(got, a @ b, rtol=tol(np.float64))
    assert_close(linalg.outer(a[0], b[:, 0]), np.outer(a[0], b[:, 0]), rtol=tol(np.float64))


def test_bad_input_messages():
    with pytest.raises(ValueError, match=r"inner dimensions of a and b .*\(2, 3\).*\(4, 2\)"):
        linalg.matmul(jnp.ones((2, 3)), jnp.ones((4, 2)))
    with pytest.raises(ValueError, match=r"a must be .* at least 2 dimension.*shape \(3,\)"):
        linalg.matmul(jnp.ones(3), jnp.ones((3, 3)))
    with pytest.raises(ValueError, match=r"x must be .*at least 1 dimension.*shape \(\)"):
        linalg.matvec(jnp.ones((2, 2)), jnp.float32(1.0))
    with pytest.raises(ValueError, match=r"inner dimensions of a and x"):
        linalg.matvec(jnp.ones((2, 3)), jnp.ones(2))
    with pytest.raises(ValueError, match=r"last dimensions of x and y"):
        linalg.inner(jnp.ones(3), jnp.ones(2))
    with pytest.raises(ValueError, match=r"batch dimensions do not broadcast"):
        linalg.outer(jnp.ones((2, 3)), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match=r"precision must be one of"):
        linalg.matmul(jnp.ones((2, 2)), jnp.ones((2, 2)), precision="fastest")
    with pytest.raises(TypeError, match=r"a: expected a numeric array"):
        linalg.matmul(np.array([["a"]]), jnp.ones((1, 1)))


def test_validation_fires_under_jit():
    with pytest.raises(ValueError, match="inner dimensions"):
        jax.jit(linalg.matmul)(jnp.ones((2, 3)), jnp.ones((2, 3)))


def test_bad_types_name_the_argument():
    with pytest.raises(TypeError, match=r"b: expected a numeric array, got str"):
        linalg.matmul(jnp.ones((2, 2)), "abc")
    with pytest.raises(TypeError, match=r"x: expected a numeric array, got NoneType"):
        linalg.matvec(jnp.ones((2, 2)), None)
    with pytest.raises(TypeError, match=r"y: expected a numeric array, got object"):
        linalg.inner(jnp.ones(2), object())
    with pytest.raises(TypeError, match=r"x: expected a numeric array, got str"):
        linalg.outer("ab", jnp.ones(2))
    with pytest.raises(TypeError, match=r"precision must be a static Python value"):
        linalg.matmul(jnp.ones((2, 2)), jnp.ones((2, 2)), precision=["highest"])


def test_lists_and_scalars_are_accepted_as_numpy_does():
    assert_close(linalg.matmul([[1.0, 2.0]], [[3.0], [4.0]]), [[11.0]], rtol=0)
    assert_close(linalg.outer([1.0, 2.0], [3.0]), [[3.0], [6.0]], rtol=0)
