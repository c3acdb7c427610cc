import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import linear_model

from mlmath_jax import ml
from tests.conftest import assert_close
from tests.ml._linear_data import regression

ALPHA = {
    "diabetes": 0.1,
    "breast_cancer": 0.02,
    "wine": 0.05,
    "synthetic": 0.05,
    "wide": 0.05,
    "collinear": 0.05,
}


def _objective(X, y, alpha, coef, intercept):
    r = y - X @ np.asarray(coef, np.float64) - float(intercept)
    return 0.5 / len(y) * r @ r + alpha * np.abs(np.asarray(coef, np.float64)).sum()


def _sklearn(X, y, alpha, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return linear_model.Lasso(alpha, **kw).fit(X, y)


@pytest.mark.x64
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("name", list(ALPHA))
def test_objective_matches_sklearn_x64(name, fit_intercept):
    X, y = regression(name)
    alpha = ALPHA[name]
    ref = _sklearn(X, y, alpha, fit_intercept=fit_intercept, tol=1e-12, max_iter=100_000)
    model = ml.lasso(X, y, alpha, fit_intercept=fit_intercept, tol=1e-12, max_iter=100_000)
    assert bool(model.converged) and model.coef.dtype == jnp.float64
    ours = _objective(X, y, alpha, model.coef, model.intercept)
    theirs = _objective(X, y, alpha, ref.coef_, ref.intercept_)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs), (ours, theirs)
    assert_close(model.coef, ref.coef_, rtol=1e-5, name="coef")


@pytest.mark.x64
@pytest.mark.parametrize("name", ["diabetes", "breast_cancer", "wide"])
def test_default_tolerance_stops_like_sklearn_x64(name):
    # Same update order and the same stopping test: the same number of sweeps.
    X, y = regression(name)
    ref = _sklearn(X, y, ALPHA[name])
    model = ml.lasso(X, y, ALPHA[name])
    assert int(model.n_iter) == ref.n_iter_
    assert_close(model.coef, ref.coef_, rtol=1e-8, name="coef")


@pytest.mark.parametrize("name", ["diabetes", "synthetic", "wide"])
def test_float32(name):
    X, y = regression(name)
    alpha = ALPHA[name]
    model = ml.lasso(X.astype(np.float32), y.astype(np.float32), alpha, tol=1e-6)
    assert model.coef.dtype == jnp.float32 and bool(model.converged)
    ref = _sklearn(X, y, alpha, tol=1e-10, max_iter=100_000)
    ours = _objective(X, y, alpha, model.coef, model.intercept)
    theirs = _objective(X, y, alpha, ref.coef_, ref.intercept_)
    assert abs(ours - theirs) <= 1e-4 * abs(theirs), (ours, theirs)


def test_large_alpha_gives_zero_coefficients():
    X, y = regression("synthetic")
    X, y = X.astype(np.float32), y.astype(np.float32)
    alpha_max = np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / len(y)
    model = ml.lasso(X, y, 1.01 * alpha_max)
    assert np.all(np.asarray(model.coef) == 0) and bool(model.converged)
    assert_close(model.intercept, y.mean(), rtol=1e-6, name="intercept")


def test_not_converged_is_flagged():
    X, y = regression("wine")
    model = ml.lasso(X.astype(np.float32), y.astype(np.float32), 0.001, max_iter=2)
    assert int(model.n_iter) == 2 and not bool(model.converged)


@pytest.mark.parametrize("name", ["synthetic", "wide"])
def test_path_vmap_equals_loop_and_jit(name):
    X, y = regression(name)
    X, y = X.astype(np.float32), y.astype(np.float32)
    alphas = np.logspace(-1.5, 0, 6).astype(np.float32)
    path = jax.jit(jax.vmap(lambda a: ml.lasso(X, y, a, tol=1e-6)))(alphas)
    assert path.coef.shape == (6, X.shape[1])
    for i in (0, 3, 5):
        one = ml.lasso(X, y, alphas[i], tol=1e-6)
        ours = _objective(X, y, alphas[i], path.coef[i], path.intercept[i])
        loop = _objective(X, y, alphas[i], one.coef, one.intercept)
        assert abs(ours - loop) <= 1e-5 * abs(loop), (i, ours, loop)
        assert bool(path.converged[i])


def test_bad_input():
    X = np.ones((5, 2), np.float32)
    y = np.ones(5, np.float32)
    with pytest.raises(ValueError, match="X must be a 2-D"):
        ml.lasso(np.ones(5), y, 0.1)
    with pytest.raises(ValueError, match="lengths of X and y"):
        ml.lasso(X, np.ones(3), 0.1)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        ml.lasso(X, y, -0.1)
    with pytest.raises(ValueError, match="alpha must be a scalar"):
        ml.lasso(X, y, np.ones(3))


# --- contract v2 / issue 16 -------------------------------------------------------------------
@pytest.mark.x64
@pytest.mark.parametrize("name", ["diabetes", "synthetic", "wide"])
def test_positive_and_sample_weight_match_sklearn_x64(name, rng):
    X, y = regression(name)
    alpha = ALPHA[name]
    w = rng.uniform(0.2, 2.0, len(y))
    tight = dict(tol=1e-12, max_iter=100_000)
    for kw, fit_kw in [
        (dict(positive=True), {}),
        ({}, dict(sample_weight=w)),
        (dict(positive=True), dict(sample_weight=w)),
    ]:
        ref = linear_model.Lasso(alpha, **kw, **tight).fit(X, y, **fit_kw)
        model = ml.lasso(X, y, alpha, **kw, **fit_kw, **tight)
        assert bool(model.converged)
        assert_close(model.coef, ref.coef_, rtol=1e-6, name=f"coef {kw} {list(fit_kw)}")
        assert_close(model.intercept, ref.intercept_, rtol=1e-6, name="intercept")
        if kw:
            assert np.all(np.asarray(model.coef) >= 0)


def test_nan_stops_at_once_with_nan_coefficients():
    X, y = regression("synthetic")
    X, y = X.astype(np.float32).copy(), y.astype(np.float32).copy()
    for arr, bad in ((X, np.nan), (y, np.inf)):
        arr[0, ...] = bad
        for data in ((X, y), (X[:20], y[:20])):  # Gram and residual solvers
            model = ml.lasso(*data, 0.05)
            assert np.all(np.isnan(np.asarray(model.coef)))
            assert int(model.n_iter) == 0 and not bool(model.converged)
        arr[0, ...] = 1.0


def test_flags_and_tol_are_checked():
    X, y = np.ones((5, 2), np.float32), np.ones(5, np.float32)
    with pytest.raises(TypeError, match="fit_intercept must be a bool"):
        ml.lasso(X, y, 0.1, fit_intercept="no")
    with pytest.raises(TypeError, match="positive must be a bool"):
        ml.lasso(X, y, 0.1, positive="yes")
    with pytest.raises(ValueError, match="tol must be >= 0"):
        ml.lasso(X, y, 0.1, tol=-1)
    with pytest.raises(ValueError, match="y must be a 1-D"):
        ml.lasso(X, np.ones((5, 2)), 0.1)
    with pytest.raises(ValueError, match="use jax.vmap"):
        ml.lasso(np.ones((2, 5, 2)), np.ones((2, 5)), 0.1)


# --- issue 17: implicit gradients -------------------------------------------------------------
def _sparse_problem(n=60, d=8, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.array([1.5, -2.0, 0.0, 0.0, 0.8, 0.0, 0.0, 0.0])[:d]
    return X, X @ w + 0.3 * rng.standard_normal(n) + 1.0


def _central(f, x, h=1e-6):
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


TIGHT = dict(tol=1e-14, max_iter=100_000)


@pytest.mark.x64
@pytest.mark.parametrize("shape", [(60, 8), (6, 8)])  # Gram and residual solvers
@pytest.mark.parametrize("positive", [False, True])
def test_gradients_match_central_differences_x64(shape, positive):
    X, y = _sparse_problem(*shape)
    alpha = 0.1
    v = np.linspace(-1.0, 2.0, shape[1])

    def loss(a, X, y):
        model = ml.lasso(X, y, a, positive=positive, **TIGHT)
        return jnp.dot(model.coef, v) + model.intercept

    coef = np.asarray(ml.lasso(X, y, alpha, positive=positive, **TIGHT).coef)
    assert 0 < np.sum(coef != 0) < shape[1]  # some coefficients inactive
    ga, gX, gy = jax.grad(loss, argnums=(0, 1, 2))(alpha, X, y)
    assert_close(ga, _central(lambda a: float(loss(a, X, y)), alpha), rtol=1e-5, name="alpha")
    assert_close(gX, _central(lambda Z: float(loss(alpha, Z, y)), X), rtol=1e-5, name="X")
    assert_close(gy, _central(lambda z: float(loss(alpha, X, z)), y), rtol=1e-5, name="y")
    # inactive coefficients: zero derivative in alpha
    jac = np.asarray(jax.jacfwd(lambda a: ml.lasso(X, y, a, positive=positive, **TIGHT).coef)(0.1))
    assert np.all(jac[coef == 0] == 0)


@pytest.mark.x64
def test_gradient_in_sample_weight_x64(rng):
    X, y = _sparse_problem()
    w = rng.uniform(0.5, 2.0, len(y))

    def loss(w):
        return jnp.sum(ml.lasso(X, y, 0.1, sample_weight=w, **TIGHT).coef ** 2)

    assert_close(jax.grad(loss)(w), _central(lambda z: float(loss(z)), w), rtol=1e-5, name="w")


@pytest.mark.x64
def test_gradient_vmap_over_alpha_and_jit_x64():
    X, y = _sparse_problem()
    alphas = np.array([0.02, 0.1, 0.4])

    def val_loss(a):
        return jnp.sum((ml.lasso(X, y, a, **TIGHT).predict(X[:10]) - y[:10]) ** 2)

    grads = jax.jit(jax.vmap(jax.grad(val_loss)))(alphas)
    for i, a in enumerate(alphas):
        assert_close(grads[i], jax.grad(val_loss)(a), rtol=1e-8, name=f"vmap[{i}]")
        assert_close(grads[i], _central(lambda t: float(val_loss(t)), a), rtol=1e-5, name="fd")


def test_gradient_float32_smoke():
    X, y = _sparse_problem()
    X, y = X.astype(np.float32), y.astype(np.float32)
    g = jax.grad(lambda a: jnp.sum(ml.lasso(X, y, a, tol=1e-8).coef))(np.float32(0.1))
    assert g.dtype == jnp.float32 and np.isfinite(float(g))
    # the derivative of the total of active coefficients is -n * sum of (XᵀX)_AA^{-1} sign
    coef = np.asarray(ml.lasso(X, y, 0.1, tol=1e-8).coef, np.float64)
    A = coef != 0
    Xc = (X - X.mean(0)).astype(np.float64)[:, A]
    expect = -len(y) * np.sum(np.linalg.solve(Xc.T @ Xc, np.sign(coef[A])))
    assert_close(g, expect, rtol=1e-3, name="d sum coef / d alpha")
