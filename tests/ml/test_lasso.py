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
