import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import prob


class _StandIn:
    """Any object with sample(key, shape): uniform on [0, 1)."""

    def sample(self, key, shape):
        return jax.random.uniform(key, shape)


def test_stand_in_object(key):
    est, se = prob.expectation(lambda u: u**2, _StandIn(), key, 20_000)
    assert abs(float(est) - 1 / 3) < 5 * float(se)
    assert 0 < float(se) < 0.01


def test_normal_second_moment_and_vector_output(key):
    dist = prob.Normal(1.5, 2.0)
    est, se = prob.expectation(lambda x: x**2, dist, key, 50_000)
    assert abs(float(est) - (1.5**2 + 2.0**2)) < 5 * float(se)
    est, se = prob.expectation(lambda x: jnp.stack([x, x**3]), dist, key, 50_000)
    assert est.shape == se.shape == (2,)
    exact = np.array([1.5, 1.5**3 + 3 * 1.5 * 4.0])
    assert np.all(np.abs(np.asarray(est) - exact) < 5 * np.asarray(se))


def test_standard_error_shrinks_and_grad_flows(key):
    _, se_small = prob.expectation(jnp.sin, prob.Normal(0.0, 1.0), key, 1_000)
    _, se_large = prob.expectation(jnp.sin, prob.Normal(0.0, 1.0), key, 16_000)
    assert 2.5 < float(se_small / se_large) < 5.5  # ~ sqrt(16)

    def mean_sq(loc):
        return prob.expectation(lambda x: x**2, prob.Normal(loc, 1.0), key, 20_000)[0]

    g = jax.jit(jax.grad(mean_sq))(0.7)  # d/dloc E[x^2] = 2 loc, reparameterised
    assert abs(float(g) - 1.4) < 0.05


def test_bad_input(key):
    with pytest.raises(ValueError, match="num_samples must be >= 2"):
        prob.expectation(jnp.sin, _StandIn(), key, 1)
    with pytest.raises(TypeError, match="num_samples must be a Python int"):
        prob.expectation(jnp.sin, _StandIn(), key, 10.0)
    with pytest.raises(TypeError, match="must have a sample"):
        prob.expectation(jnp.sin, object(), key, 10)
