import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import optim
from tests.conftest import assert_close, random_matrix, random_spd, tol


def test_quadratic_value_and_gradient(rng):
    a = random_matrix(rng, (4, 4))  # not symmetric: only the symmetric part matters
    b, x = rng.standard_normal(4), rng.standard_normal(4)
    f = optim.quadratic(a, b, 1.5)
    assert_close(f(x), x @ a @ x + b @ x + 1.5, rtol=tol(np.float32, 10))
    assert_close(jax.grad(f)(jnp.asarray(x, jnp.float32)), (a + a.T) @ x + b, rtol=1e-5)


def test_quadratic_batched(rng):
    a = random_spd(rng, (3, 4, 4))
    b, x = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    f = optim.quadratic(a, b)
    expected = np.einsum("bi,bij,bj->b", x, a, x) + np.sum(b * x, -1)
    assert_close(f(x), expected, rtol=tol(np.float32, 10))


@pytest.mark.parametrize("batch", [(), (3,)])
def test_quadratic_minimizer_matches_numpy(rng, batch):
    a = random_spd(rng, (*batch, 5, 5), cond=50.0)
    b = rng.standard_normal((*batch, 5))
    x = optim.quadratic_minimizer(a, b)
    expected = np.linalg.solve(a + np.swapaxes(a, -1, -2), -b[..., None])[..., 0]
    assert_close(x, expected, rtol=tol(np.float32, 100))
    grad = jax.grad(lambda z: jnp.sum(optim.quadratic(a, b)(z)))(x)
    assert_close(grad, np.zeros((*batch, 5)), rtol=0, atol=1e-4)


def test_quadratic_minimizer_jit_vmap(rng):
    a = random_spd(rng, (3, 4, 4)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    out = jax.jit(jax.vmap(optim.quadratic_minimizer))(a, b)
    assert_close(out, optim.quadratic_minimizer(a, b), rtol=1e-5)


def test_quadratic_minimizer_not_pd_raises_and_nan_when_traced():
    a = jnp.diag(jnp.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="positive definite"):
        optim.quadratic_minimizer(a, jnp.ones(2))
    out = jax.jit(optim.quadratic_minimizer)(a, jnp.ones(2))
    assert not np.all(np.isfinite(out))


def test_quadratic_bad_shapes():
    with pytest.raises(ValueError, match="a must be square"):
        optim.quadratic(jnp.ones((2, 3)), jnp.ones(3))
    with pytest.raises(ValueError, match="dimensions of a and b"):
        optim.quadratic(jnp.eye(2), jnp.ones(3))
    with pytest.raises(ValueError, match="dimensions of x and a"):
        optim.quadratic(jnp.eye(2), jnp.ones(2))(jnp.ones(3))
    with pytest.raises(ValueError, match="dimensions of a and b"):
        optim.quadratic_minimizer(jnp.eye(2), jnp.ones(3))


@pytest.mark.x64
def test_quadratic_minimizer_x64(rng):
    a = random_spd(rng, (6, 6), cond=1e4)
    b = rng.standard_normal(6)
    x = optim.quadratic_minimizer(a, b)
    assert x.dtype == jnp.float64
    assert_close(x, -0.5 * np.linalg.solve(a, b), rtol=1e-9)


@pytest.mark.x64
def test_quadratic_minimizer_gradient_x64(rng):
    from jax.test_util import check_grads

    a = jnp.asarray(random_spd(rng, (4, 4), cond=10.0))
    b = jnp.asarray(rng.standard_normal(4))
    check_grads(optim.quadratic_minimizer, (a, b), order=1, modes=["fwd", "rev"])
