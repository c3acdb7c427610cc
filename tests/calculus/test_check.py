import jax
import jax.numpy as jnp
import pytest

from mlmath_jax import calculus


@jax.custom_jvp
def softplus_right(x):
    return jnp.logaddexp(0.0, x)


@softplus_right.defjvp
def _softplus_right_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus_right(x), jax.nn.sigmoid(x) * t


@jax.custom_jvp
def softplus_wrong(x):
    return jnp.logaddexp(0.0, x)


@softplus_wrong.defjvp
def _softplus_wrong_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus_wrong(x), jax.nn.sigmoid(-x) * t  # sign error in the derivative


@jax.custom_vjp
def scaled_square(x):
    return jnp.sum(x**2)


def _fwd(x):
    return scaled_square(x), x


def _bwd_wrong(x, g):  # forgets the factor 2 of one coordinate
    grad = 2 * x
    return (g * grad.at[7].set(x[7]),)


scaled_square.defvjp(_fwd, _bwd_wrong)


def test_right_custom_jvp_passes_wrong_flagged():
    x = jnp.linspace(-2.0, 2.0, 10)
    right = calculus.check_grad(lambda z: jnp.sum(softplus_right(z) * z), x)
    wrong = calculus.check_grad(lambda z: jnp.sum(softplus_wrong(z) * z), x)
    assert float(right) < 1e-3
    assert float(wrong) > 0.1


def test_wrong_custom_vjp_flagged_by_random_directions():
    x = jnp.linspace(0.5, 2.0, 100)  # > 32 parameters: random directions
    err = calculus.check_grad(scaled_square, x, num_directions=8)
    assert float(err) > 0.02
    ok = calculus.check_grad(lambda z: jnp.sum(z**2), x)
    assert float(ok) < 1e-3


def test_pytree_jit_and_explicit_eps():
    p = {"w": jnp.array([[0.3, -1.2], [0.7, 2.0]]), "b": jnp.asarray(0.5)}

    def f(p):
        return jnp.sum(jnp.tanh(p["w"] @ jnp.array([1.0, -2.0]) + p["b"]) ** 2)

    assert float(calculus.check_grad(f, p)) < 1e-3
    assert float(jax.jit(lambda q: calculus.check_grad(f, q, eps=1e-2))(p)) < 1e-3
    big = {"w": jnp.ones((40, 3)) * 0.1, "b": jnp.asarray(0.2)}
    err = calculus.check_grad(
        lambda q: jnp.sum(jnp.sin(q["w"]) * q["b"]), big, key=jax.random.key(7)
    )
    assert float(err) < 1e-3


def test_check_grad_bad_input():
    with pytest.raises(TypeError, match="fun must be callable"):
        calculus.check_grad(None, jnp.ones(2))
    with pytest.raises(ValueError, match="fun must return a scalar"):
        calculus.check_grad(lambda z: z, jnp.ones(2))
    with pytest.raises(ValueError, match="eps must be > 0"):
        calculus.check_grad(jnp.sum, jnp.ones(2), eps=0.0)
    with pytest.raises(ValueError, match="num_directions must be >= 1"):
        calculus.check_grad(jnp.sum, jnp.ones(2), num_directions=0)


@pytest.mark.x64
def test_check_grad_x64_precision():
    x = jnp.linspace(-2.0, 2.0, 10)
    right = calculus.check_grad(lambda z: jnp.sum(softplus_right(z) * z), x)
    assert right.dtype == jnp.float64
    assert float(right) < 1e-8
    wrong = calculus.check_grad(lambda z: jnp.sum(softplus_wrong(z) * z), x)
    assert float(wrong) > 0.1
