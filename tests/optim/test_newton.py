import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import optim
from tests.conftest import assert_close


def _breast_cancer(dtype):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    return jnp.asarray(x, dtype), jnp.asarray(y, dtype)


def _logistic_loss(x, y):
    n = x.shape[0]

    def loss(p):  # scikit-learn's objective (C = 1) divided by n
        z = x @ p[:-1] + p[-1]
        return jnp.mean(jnp.logaddexp(0.0, z) - y * z) + 0.5 * jnp.sum(p[:-1] ** 2) / n

    return loss


@pytest.mark.x64
def test_newton_converges_quadratically_on_logistic_loss():
    from sklearn.linear_model import LogisticRegression

    x, y = _breast_cancer(jnp.float64)
    loss = _logistic_loss(x, y)
    p0 = jnp.zeros(31)
    best = optim.newton(loss, p0, max_steps=50, tol=1e-12)
    assert bool(best.converged)
    ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(np.asarray(x), np.asarray(y))
    assert_close(best.x[:-1], ref.coef_[0], rtol=1e-5)
    # Newton keeps no state besides x: one step at a time replays the iterates.
    one_step = jax.jit(lambda p: optim.newton(loss, p, max_steps=1, tol=0.0).x)
    xk, errors = p0, []
    for _ in range(int(best.num_steps) + 1):
        errors.append(float(jnp.linalg.norm(xk - best.x)))
        xk = one_step(xk)
    errors = np.array(errors)
    assert errors[-1] < 1e-10
    # In the quadratic phase e_{k+1} <= C e_k^2; a linear method would blow this ratio up.
    quad = [
        (e0, e1) for e0, e1 in zip(errors[:-1], errors[1:], strict=True) if e0 < 0.5 and e1 > 1e-11
    ]
    assert len(quad) >= 2, errors
    ratios = [e1 / e0**2 for e0, e1 in quad]
    assert max(ratios) < 5.0, (errors, ratios)


@pytest.mark.parametrize("solver", ["dense", "cg"])
def test_newton_logistic_float32_matches_float64_answer(solver):
    x, y = _breast_cancer(jnp.float32)
    loss = _logistic_loss(x, y)
    res = optim.newton(loss, jnp.zeros(31), tol=1e-5, solver=solver)
    assert bool(res.converged), res
    assert int(res.num_steps) <= 15
    from sklearn.linear_model import LogisticRegression

    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(np.asarray(x), np.asarray(y))
    assert_close(res.x[:-1], ref.coef_[0], rtol=1e-3)


def test_newton_pytree_vmap_and_nonconvex_start():
    def fun(p):  # minima at w = ±1/sqrt(2), b = 3; negative curvature near w = 0
        return jnp.sum(p["w"] ** 4 - p["w"] ** 2) + (p["b"] - 3.0) ** 2

    x0 = {"w": jnp.array([[0.1, -0.2], [2.0, -3.0]]), "b": jnp.array([0.0, 10.0])}
    res = jax.jit(jax.vmap(lambda p: optim.newton(fun, p, tol=1e-5)))(x0)
    assert np.all(np.asarray(res.converged))
    assert_close(np.abs(res.x["w"]), np.full((2, 2), 1 / np.sqrt(2)), rtol=1e-4)
    assert_close(res.x["b"], np.full(2, 3.0), rtol=1e-5)
    assert np.all(np.sign(res.x["w"]) == np.sign(x0["w"]))


def test_newton_reports_not_converged():
    res = optim.newton(lambda x: jnp.sum(jnp.cosh(x)), jnp.full(3, 5.0), max_steps=2)
    assert int(res.num_steps) == 2 and not bool(res.converged)


def test_newton_bad_input():
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    with pytest.raises(TypeError, match="fun must be callable"):
        optim.newton(None, jnp.zeros(2))
    with pytest.raises(ValueError, match="solver must be one of"):
        optim.newton(f, jnp.zeros(2), solver="lu")
    with pytest.raises(ValueError, match="fun must return a scalar"):
        optim.newton(lambda x: x, jnp.zeros(2))
    with pytest.raises(ValueError, match="tol must be >= 0"):
        optim.newton(f, jnp.zeros(2), tol=-1.0)


def _logistic_args(p, x, y):
    z = x @ p[:-1] + p[-1]
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z) + 0.5 * jnp.sum(p[:-1] ** 2) / x.shape[0]


@pytest.mark.parametrize("solver", ["dense", "cg"])
def test_newton_args_equal_closure(solver):
    x, y = _breast_cancer(jnp.float32)
    with_args = optim.newton(_logistic_args, jnp.zeros(31), (x, y), tol=1e-5, solver=solver)
    closure = optim.newton(_logistic_loss(x, y), jnp.zeros(31), tol=1e-5, solver=solver)
    assert bool(with_args.converged)
    assert int(with_args.num_steps) == int(closure.num_steps)
    assert_close(with_args.x, closure.x, rtol=1e-5)


@pytest.mark.parametrize("solver", ["dense", "cg"])
def test_newton_step_piece_solves_a_quadratic_in_one_step(solver, rng):
    from mlmath_jax.optim import _newton
    from tests.conftest import random_spd

    a = jnp.asarray(random_spd(rng, (6, 6), cond=10.0), jnp.float32)
    b = jnp.asarray(rng.standard_normal(6), jnp.float32)

    def f(x, a, b):
        return x @ a @ x + b @ x

    state = _newton.newton_init(f, jnp.zeros(6), (a, b))
    new = _newton.newton_step(f, state, (a, b), solver=solver, max_cg_steps=6)
    assert int(new.num_steps) == 1 and not bool(new.stalled)
    if solver == "dense":  # the exact Newton step lands on the minimiser
        expected = -0.5 * np.linalg.solve(np.asarray(a, np.float64), np.asarray(b, np.float64))
        assert_close(new.x, expected, rtol=1e-4)
        assert not bool(_newton.newton_keep_going(new, jnp.asarray(1e-3), 50))
    else:  # truncated CG: forcing tolerance min(0.5, |g|) |g| on the Newton residual
        g0 = float(jnp.linalg.norm(state.grad))
        # f is quadratic, so after the full step the new gradient is that residual.
        assert float(jnp.linalg.norm(new.grad)) <= min(0.5, g0) * g0 * (1 + 1e-4)
        assert float(new.value) < float(state.value)


def test_newton_step_piece_falls_back_to_gradient_on_negative_curvature():
    from mlmath_jax.optim import _newton

    def f(x):  # concave at 0.1: the Newton direction points uphill
        return jnp.sum(x**4 - x**2)

    state = _newton.newton_init(f, jnp.array([0.1]), ())
    new = _newton.newton_step(f, state, (), solver="dense", max_cg_steps=1)
    assert float(new.value) < float(state.value)
    assert float(new.x[0]) > 0.1  # moved down the slope, away from the maximum at 0


def test_newton_args_and_options_bad_input():
    f = lambda x, c: jnp.sum((x - c) ** 2)  # noqa: E731
    with pytest.raises(TypeError, match="args must be a tuple"):
        optim.newton(f, jnp.zeros(2), 1.0)
    with pytest.raises(ValueError, match="max_cg_steps must be >= 1"):
        optim.newton(f, jnp.zeros(2), (1.0,), max_cg_steps=0)
    with pytest.raises(ValueError, match="max_steps must be >= 0"):
        optim.newton(f, jnp.zeros(2), (1.0,), max_steps=-1)
    with pytest.raises(TypeError, match="max_steps must be a Python int"):
        optim.newton(f, jnp.zeros(2), (1.0,), max_steps=2.5)
