import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import datasets
from sklearn.naive_bayes import GaussianNB as SkGaussianNB

from mlmath_jax import ml
from tests.conftest import assert_close

LOADERS = {"iris": datasets.load_iris, "wine": datasets.load_wine}


def _fit_both(X, y, n_classes, dtype):
    ref = SkGaussianNB().fit(X, y)
    nb = ml.GaussianNB.fit(X.astype(dtype), y, n_classes)
    return nb, ref


@pytest.mark.parametrize("name", list(LOADERS))
def test_matches_sklearn_float32(name):
    X, y = LOADERS[name](return_X_y=True)
    nb, ref = _fit_both(X, y, int(y.max()) + 1, np.float32)
    assert nb.theta.dtype == jnp.float32
    assert_close(nb.theta, ref.theta_, rtol=1e-5, name="theta")
    assert_close(nb.var, ref.var_, rtol=1e-4, name="var")
    assert_close(nb.class_prior, ref.class_prior_, rtol=1e-6, name="prior")
    proba = nb.predict_proba(X.astype(np.float32))
    assert_close(proba, ref.predict_proba(X), rtol=0, atol=1e-4, name="proba")
    assert np.array_equal(np.asarray(nb.predict(X.astype(np.float32))), ref.predict(X))


@pytest.mark.x64
@pytest.mark.parametrize("name", list(LOADERS))
def test_matches_sklearn_x64(name):
    X, y = LOADERS[name](return_X_y=True)
    nb, ref = _fit_both(X, y, int(y.max()) + 1, np.float64)
    assert_close(nb.theta, ref.theta_, rtol=1e-12, name="theta")
    assert_close(nb.var, ref.var_, rtol=1e-12, name="var")
    assert_close(nb.epsilon, ref.epsilon_, rtol=1e-12, name="epsilon")
    assert_close(nb.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-10, name="proba")
    assert_close(
        nb.predict_log_proba(X), ref.predict_log_proba(X), rtol=1e-8, atol=1e-8, name="log"
    )


def test_many_features_do_not_underflow(rng):
    n, d = 60, 1000
    y = np.arange(n) % 3
    X = rng.standard_normal((n, d)) + 0.3 * y[:, None]
    nb = ml.GaussianNB.fit(X.astype(np.float32), y, 3)
    ref = SkGaussianNB().fit(X, y)
    Xt = rng.standard_normal((10, d)) + 0.3
    proba = np.asarray(nb.predict_proba(Xt.astype(np.float32)))
    assert np.all(np.isfinite(proba))
    assert_close(proba.sum(axis=1), np.ones(10), rtol=1e-5, name="row sums")
    # the joint likelihood itself is ~ exp(-1400): far below float32's range
    assert np.all(np.asarray(nb.joint_log_likelihood(Xt.astype(np.float32))) < -1000)
    assert_close(proba, ref.predict_proba(Xt), rtol=0, atol=1e-3, name="proba")


@pytest.mark.parametrize("name", list(LOADERS))
def test_points_off_a_constant_feature_float32(name):
    # A constant feature gets variance epsilon alone, the same in every class. A point off
    # it (x = c + 4) has a term -(4**2) / (2 epsilon) ~ -1e9 to -1e13 in every class: it must
    # cancel exactly, leaving the other features to decide, as in float64 scikit-learn.
    X, y = LOADERS[name](return_X_y=True)
    X = np.hstack([X, np.full((len(X), 1), 3.0)])
    nb, ref = _fit_both(X, y, int(y.max()) + 1, np.float32)
    np.testing.assert_array_equal(np.asarray(nb.theta[:, -1]), 3.0)  # exact class means
    assert np.unique(np.asarray(nb.var[:, -1])).size == 1
    off = X[::7].copy()
    off[:, -1] += 4.0
    proba = nb.predict_proba(off.astype(np.float32))
    assert_close(proba, ref.predict_proba(off), rtol=0, atol=1e-4, name="proba off")
    assert np.array_equal(np.asarray(nb.predict(off.astype(np.float32))), ref.predict(off))


def test_empty_class_is_never_predicted():
    X = np.array([[0.0], [0.1], [2.0], [2.1]], np.float32)
    nb = ml.GaussianNB.fit(X, np.array([0, 0, 2, 2]), 3)
    assert float(nb.class_prior[1]) == 0.0
    proba = np.asarray(nb.predict_proba(X))
    assert np.all(proba[:, 1] == 0.0) and np.all(np.isfinite(proba))
    assert np.array_equal(np.asarray(nb.predict(X)), [0, 0, 2, 2])


def test_jit_and_pytree():
    X, y = datasets.load_iris(return_X_y=True)
    X = X.astype(np.float32)
    fit = jax.jit(ml.GaussianNB.fit, static_argnums=2)
    nb = fit(X, y, 3)
    eager = ml.GaussianNB.fit(X, y, 3)
    assert_close(nb.var, eager.var, rtol=1e-6, name="var")
    proba = jax.jit(lambda m, x: m.predict_proba(x))(nb, X)
    assert_close(proba, eager.predict_proba(X), rtol=0, atol=1e-5, name="proba")
    assert len(jax.tree.leaves(nb)) == 5


def test_vmap_over_bootstrap_resamples(rng):
    X, y = datasets.load_iris(return_X_y=True)
    X = jnp.asarray(X, jnp.float32)
    idx = jnp.asarray(rng.integers(0, len(y), size=(3, len(y))))
    y = jnp.asarray(y)
    models = jax.vmap(lambda i: ml.GaussianNB.fit(X[i], y[i], 3))(idx)
    assert models.theta.shape == (3, 3, 4)
    one = ml.GaussianNB.fit(X[idx[1]], y[idx[1]], 3)
    assert_close(models.theta[1], one.theta, rtol=1e-6, name="theta")


def test_bad_input():
    X = np.ones((4, 2), np.float32)
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="X must be a 2-D"):
        ml.GaussianNB.fit(np.ones(4), y, 2)
    with pytest.raises(ValueError, match="lengths of X and y"):
        ml.GaussianNB.fit(X, y[:3], 2)
    with pytest.raises(ValueError, match=r"labels in range\(n_classes=2\)"):
        ml.GaussianNB.fit(X, np.array([0, 1, 2, 1]), 2)
    with pytest.raises(ValueError, match=r"labels in range\(n_classes=2\)"):
        ml.GaussianNB.fit(X, np.array([0, -1, 0, 1]), 2)
    with pytest.raises(ValueError, match="y must be a 1-D"):
        ml.GaussianNB.fit(X, y[:, None], 2)
    with pytest.raises(TypeError, match="n_classes must be a Python int"):
        ml.GaussianNB.fit(X, y, 2.0)
    nb = ml.GaussianNB.fit(X, y, 2)
    with pytest.raises(ValueError, match="X must have 2 columns"):
        nb.predict(np.ones((3, 5)))
