"""Every public optim function compiles once per (function, shapes, dtypes, static options).

Repeated eager calls with new data of the same shapes (new ``x0``, ``args``, ``tol``,
points, keys, thresholds) must not compile anything: the jitted bodies are module level and
the user's function is a static argument hashed by identity.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mlmath_jax import optim
from tests.conftest import compiles_on_repeat, random_spd

RNG = np.random.default_rng(0)
A = [jnp.asarray(random_spd(RNG, (5, 5), cond=10.0), jnp.float32) for _ in range(3)]
B = [jnp.asarray(RNG.standard_normal(5), jnp.float32) for _ in range(3)]
X0 = [jnp.asarray(RNG.standard_normal(5), jnp.float32) for _ in range(3)]


def quad(x, a, b):
    return x @ a @ x + b @ x


def prox_l1(v, s):
    return optim.prox_l1(v, 0.1 * s)


def calls(*columns):
    """Argument tuples, one per call, from per-argument lists of three values."""
    return list(zip(*columns, strict=True))


def test_minimize_default_optimizer_compiles_once():
    def run(x0, a, b):
        return optim.minimize(quad, x0, (a, b), tol=1e-4)

    assert compiles_on_repeat(run, *calls(X0, A, B)) == 0


def test_minimize_optax_optimizer_and_tol_compile_once():
    sgd = optax.sgd(0.05)

    def run(x0, a, b, tol):
        return optim.minimize(quad, x0, (a, b), optimizer=sgd, max_steps=50, tol=tol)

    assert compiles_on_repeat(run, *calls(X0, A, B, [1e-3, 1e-4, 0.0])) == 0


def test_minimize_pytree_x0_compiles_once():
    def fun(p, t):
        return jnp.sum((p["w"] - t) ** 2) + p["b"] ** 2

    def run(w, t):
        return optim.minimize(fun, {"w": w, "b": jnp.asarray(1.0)}, (t,), max_steps=20)

    assert compiles_on_repeat(run, *calls(X0, B)) == 0


@pytest.mark.parametrize("solver", ["dense", "cg"])
def test_newton_compiles_once(solver):
    def run(x0, a, b):
        return optim.newton(quad, x0, (a, b), tol=1e-4, solver=solver)

    assert compiles_on_repeat(run, *calls(X0, A, B)) == 0


@pytest.mark.parametrize("step_size", [None, "fixed"])
def test_proximal_gradient_compiles_once(step_size):
    steps = [None] * 3 if step_size is None else [0.05, 0.04, 0.03]

    def run(x0, a, b, s):
        return optim.proximal_gradient(quad, x0, (a, b), prox=prox_l1, step_size=s, tol=1e-4)

    assert compiles_on_repeat(run, *calls(X0, A, B, steps)) == 0


def test_convexity_check_compiles_once():
    pts = [jnp.asarray(RNG.standard_normal((6, 5)), jnp.float32) for _ in range(3)]
    keys = [jax.random.key(i) for i in range(3)]

    def run(p, k, a, b):
        return optim.convexity_check(quad, p, k, (a, b))

    assert compiles_on_repeat(run, *calls(pts, keys, A, B)) == 0


def test_quadratic_and_minimizer_compile_once():
    def run(a, b, x):
        return optim.quadratic(a, b, 1.0)(x), optim.quadratic_minimizer(a, b)

    assert compiles_on_repeat(run, *calls(A, B, X0)) == 0


def test_prox_operators_compile_once():
    groups = jnp.array([0, 0, 1, 1, 2])
    mats = [jnp.asarray(RNG.standard_normal((4, 3)), jnp.float32) for _ in range(3)]

    def run(x, t, m):
        return (
            optim.prox_l1(x, t),
            optim.prox_elastic_net(x, t, 2.0 * t),
            optim.prox_group_lasso(x, t, groups),
            optim.prox_nuclear(m, t),
        )

    assert compiles_on_repeat(run, *calls(X0, [0.1, 0.2, 0.3], mats)) == 0


def test_new_closure_compiles_again_same_function_does_not():
    # The documented cost model: a static function is hashed by identity.
    def make():
        return lambda x: jnp.sum((x - 1.0) ** 2)

    fun = make()
    assert compiles_on_repeat(lambda x: optim.newton(fun, x), *[(x,) for x in X0]) == 0
    assert compiles_on_repeat(lambda x: optim.newton(make(), x), *[(x,) for x in X0]) > 0


def test_unhashable_callable_is_accepted_and_cached():
    class Loss:
        __hash__ = None  # e.g. a mutable dataclass

        def __call__(self, x, t):
            return jnp.sum((x - t) ** 2)

    loss = Loss()
    res = optim.minimize(loss, jnp.zeros(2), (jnp.ones(2),), tol=1e-5)
    np.testing.assert_allclose(res.x, np.ones(2), rtol=1e-5)
    run = lambda x, t: optim.minimize(loss, x, (t,), tol=1e-5)  # noqa: E731
    assert compiles_on_repeat(run, *calls(X0[:3], B)) == 0
