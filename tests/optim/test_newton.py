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
