import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mlmath_jax import optim
from tests.conftest import assert_close, random_spd

A = random_spd(np.random.default_rng(1), (5, 5), cond=10.0).astype(np.float32)
B = np.random.default_rng(2).standard_normal(5).astype(np.float32)
X_STAR = -0.5 * np.linalg.solve(A.astype(np.float64), B.astype(np.float64))
FUN = optim.quadratic(A, B)


@pytest.mark.parametrize(
    ("name", "optimizer", "max_steps"),
    [
        ("default-lbfgs", None, 200),
        ("sgd", optax.sgd(0.05), 2000),
        ("momentum", optax.sgd(0.05, momentum=0.9), 2000),
        ("adam", optax.adam(0.05), 4000),
    ],
)
def test_minimize_reaches_quadratic_minimizer(name, optimizer, max_steps):
    res = optim.minimize(FUN, jnp.zeros(5), optimizer=optimizer, max_steps=max_steps, tol=1e-4)
    assert bool(res.converged), name
    assert 0 < int(res.num_steps) <= max_steps
    assert float(res.grad_norm) <= 1e-4
    assert_close(res.x, X_STAR, rtol=1e-3, name=name)
    assert_close(res.value, FUN(X_STAR), rtol=1e-5, name=name)


def test_minimize_pytree_jit():
    def fun(p):
        return jnp.sum((p["w"] - 1.0) ** 2) + (p["b"] + 2.0) ** 2

    x0 = {"w": jnp.zeros(3), "b": jnp.asarray(0.0)}
    res = jax.jit(lambda x: optim.minimize(fun, x, tol=1e-5))(x0)
    assert bool(res.converged)
    assert_close(res.x["w"], np.ones(3), rtol=1e-4)
    assert_close(res.x["b"], -2.0, rtol=1e-4)


def test_minimize_vmap_over_starting_points():
    x0 = jnp.asarray(np.random.default_rng(3).standard_normal((4, 5)) * [[1], [2], [5], [0]])
    run = jax.vmap(lambda x: optim.minimize(FUN, x, optimizer=optax.sgd(0.05), tol=1e-4))
    res = run(x0)
    assert res.x.shape == (4, 5)
    assert np.all(np.asarray(res.converged))
    steps = np.asarray(res.num_steps)
    assert len(set(steps.tolist())) > 1  # each starting point keeps its own count
    assert_close(res.x, np.broadcast_to(X_STAR, (4, 5)), rtol=1e-3)


def test_minimize_not_converged_reports_false():
    res = optim.minimize(FUN, jnp.zeros(5), optimizer=optax.sgd(1e-3), max_steps=5)
    assert int(res.num_steps) == 5
    assert not bool(res.converged)
    res0 = optim.minimize(FUN, jnp.zeros(5), max_steps=0)
    assert int(res0.num_steps) == 0 and not bool(res0.converged)


def test_minimize_divergence_stops_with_nonfinite():
    res = optim.minimize(lambda x: -jnp.exp(jnp.sum(x)), jnp.ones(2), optimizer=optax.sgd(10.0))
    assert not bool(res.converged)
    assert int(res.num_steps) < 1000


def test_minimize_logistic_breast_cancer_matches_sklearn():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    n = x.shape[0]
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(x, y)
    xj, yj = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)

    def loss(p):  # sklearn's objective divided by n
        z = xj @ p["w"] + p["b"]
        return jnp.mean(jnp.logaddexp(0.0, z) - yj * z) + 0.5 * jnp.sum(p["w"] ** 2) / n

    res = optim.minimize(loss, {"w": jnp.zeros(30), "b": jnp.asarray(0.0)}, tol=1e-5)
    assert bool(res.converged)
    assert_close(res.x["w"], ref.coef_[0], rtol=2e-3)


def test_minimize_bad_input():
    with pytest.raises(TypeError, match="fun must be callable"):
        optim.minimize(3.0, jnp.zeros(2))
    with pytest.raises(TypeError, match="optimizer must be an optax"):
        optim.minimize(FUN, jnp.zeros(5), optimizer="adam")
    with pytest.raises(ValueError, match="fun must return a scalar"):
        optim.minimize(lambda x: x, jnp.zeros(2))
    with pytest.raises(ValueError, match="max_steps must be >= 0"):
        optim.minimize(FUN, jnp.zeros(5), max_steps=-1)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        optim.minimize(FUN, jnp.zeros(5), tol=-1.0)
    with pytest.raises(ValueError, match="x0 must be an array or a pytree"):
        optim.minimize(FUN, {})


@pytest.mark.x64
def test_minimize_lbfgs_x64():
    a = random_spd(np.random.default_rng(4), (8, 8), cond=100.0)
    b = np.random.default_rng(5).standard_normal(8)
    res = optim.minimize(optim.quadratic(a, b), jnp.zeros(8), tol=1e-10)
    assert res.x.dtype == jnp.float64
    assert bool(res.converged)
    assert_close(res.x, -0.5 * np.linalg.solve(a, b), rtol=1e-8)


def _logistic(p, x, y):  # scikit-learn's objective (C = 1) divided by n
    z = x @ p["w"] + p["b"]
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z) + 0.5 * jnp.sum(p["w"] ** 2) / x.shape[0]


def test_minimize_args_equal_closure_and_vmap_over_args():
    rng = np.random.default_rng(6)
    x = jnp.asarray(rng.standard_normal((40, 3)), jnp.float32)
    y = jnp.asarray(rng.random(40) < 0.5, jnp.float32)
    p0 = {"w": jnp.zeros(3), "b": jnp.asarray(0.0)}
    with_args = optim.minimize(_logistic, p0, (x, y), tol=1e-5)
    closure = optim.minimize(lambda p: _logistic(p, x, y), p0, tol=1e-5)
    assert bool(with_args.converged)
    assert_close(with_args.x["w"], closure.x["w"], rtol=1e-6)
    assert int(with_args.num_steps) == int(closure.num_steps)
    # vmap over the data: one fit per target vector
    ys = jnp.stack([y, 1.0 - y])
    batched = jax.vmap(lambda t: optim.minimize(_logistic, p0, (x, t), tol=1e-5))(ys)
    assert_close(batched.x["w"][0], with_args.x["w"], rtol=1e-5)
    assert_close(batched.x["w"][1], -with_args.x["w"], rtol=1e-4)


def test_minimize_step_piece_is_one_optimizer_update():
    from mlmath_jax.optim import _minimize

    sgd = optax.with_extra_args_support(optax.sgd(0.1))

    def fun(x, t):
        return jnp.sum((x - t) ** 2)

    t = jnp.array([1.0, -2.0])
    state = _minimize.minimize_init(fun, sgd, jnp.zeros(2), (t,))
    assert_close(state.grad, -2.0 * np.asarray(t), rtol=1e-7)
    new = _minimize.minimize_step(fun, sgd, state, (t,))
    assert_close(new.x, 0.2 * np.asarray(t), rtol=1e-6)  # x - 0.1 * grad
    assert_close(new.value, np.sum((0.2 * np.asarray(t) - t) ** 2), rtol=1e-6)
    assert int(new.num_steps) == 1
    assert bool(_minimize.minimize_keep_going(new, jnp.asarray(1e-3), 10))
    assert not bool(_minimize.minimize_keep_going(new, jnp.asarray(1e-3), 1))


def test_minimize_args_must_be_a_tuple():
    with pytest.raises(TypeError, match="args must be a tuple"):
        optim.minimize(lambda x, a: jnp.sum((x - a) ** 2), jnp.zeros(2), jnp.ones(2))
    with pytest.raises(TypeError, match="args must be a tuple"):
        optim.minimize(lambda x, a: jnp.sum((x - a) ** 2), jnp.zeros(2), [jnp.ones(2)])


def test_minimize_traced_tol_and_nan_data():
    def fun(x, t):
        return jnp.sum((x - t) ** 2)

    sgd = optax.sgd(0.1)
    run = jax.jit(lambda t, tol: optim.minimize(fun, jnp.zeros(2), (t,), optimizer=sgd, tol=tol))
    loose, tight = run(jnp.ones(2), 1e-1), run(jnp.ones(2), 1e-5)
    assert bool(loose.converged) and bool(tight.converged)
    assert float(tight.grad_norm) <= 1e-5 < 1e-1 < float(loose.grad_norm) * 10
    assert int(loose.num_steps) < int(tight.num_steps)
    res = optim.minimize(fun, jnp.zeros(2), (jnp.array([1.0, jnp.nan]),))
    assert np.isnan(float(res.value)) and not bool(res.converged)
