"""scikit-learn's own tests for LinearRegression, Ridge and Lasso, ported to ``ml``.

Each port names the scikit-learn test it comes from (``sklearn/linear_model/tests/``
``test_base.py``, ``test_ridge.py``, ``test_coordinate_descent.py`` of the installed
version) and keeps its inputs and tolerances (``assert_array_almost_equal``: 6 decimals;
``assert_allclose``: rtol 1e-7). Ports with float64 tolerances run in the x64 pass.
Where the kit differs on purpose it is said above the port (``ml`` has no ``dual_gap_``;
sparse inputs and sklearn's ``tol`` of ``LinearRegression`` have no counterpart).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_almost_equal, assert_array_almost_equal
from scipy import linalg
from sklearn.datasets import make_regression
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import add_dummy_feature

from mlmath_jax import ml


def _np(a):
    return np.asarray(a, np.float64)


# --- test_base.py -------------------------------------------------------------------------------
# sklearn: test_linear_regression
def test_linear_regression():
    X = [[1.0], [2.0]]
    Y = [1.0, 2.0]
    reg = ml.least_squares(X, Y)
    assert_array_almost_equal(_np(reg.coef), [1])
    assert_array_almost_equal(_np(reg.intercept), [0])
    assert_array_almost_equal(_np(reg.predict(X)), [1, 2])
    # test it also for degenerate input
    X = [[1.0]]
    Y = [0.0]
    reg = ml.least_squares(X, Y)
    assert_array_almost_equal(_np(reg.coef), [0])
    assert_array_almost_equal(_np(reg.intercept), [0])
    assert_array_almost_equal(_np(reg.predict(X)), [0])


# sklearn: test_linear_regression_vs_lstsq (float32 in the default pass, float64 under x64)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_regression_vs_lstsq(dtype):
    rng = np.random.RandomState(1137)
    n_samples = 500_000
    x1 = rng.rand(n_samples)
    x2 = 0.3 * x1 + 0.1 * rng.rand(n_samples)
    X = np.column_stack([x1, x2])
    y = X @ [0.5, 2.0] + 0.1 * rng.rand(n_samples)
    X = X.astype(dtype)
    y = y.astype(dtype)
    coef_scipy = linalg.lstsq(X, y)[0]
    coef_ours = np.asarray(ml.least_squares(X, y, fit_intercept=False).coef)
    if coef_ours.dtype != dtype:
        pytest.skip("float64 needs the x64 pass")
    rmse_scipy = np.linalg.norm(y - X @ coef_scipy)
    rmse_ours = np.linalg.norm(y - X @ coef_ours)
    assert rmse_ours == pytest.approx(rmse_scipy, rel=1e-6)


# sklearn: test_linear_regression_sample_weights (dense; global_random_seed 0..4)
@pytest.mark.x64
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_linear_regression_sample_weights(fit_intercept, seed):
    rng = np.random.RandomState(seed)
    n_samples, n_features = 6, 5
    X = rng.normal(size=(n_samples, n_features))
    y = rng.normal(size=n_samples)
    sample_weight = 1.0 + rng.uniform(size=n_samples)
    reg = ml.least_squares(X, y, fit_intercept=fit_intercept, sample_weight=sample_weight)
    coefs1, inter1 = _np(reg.coef), _np(reg.intercept)
    assert coefs1.shape == (X.shape[1],)
    W = np.diag(sample_weight)
    X_aug = X if not fit_intercept else add_dummy_feature(X)
    coefs2 = linalg.solve(X_aug.T @ W @ X_aug, X_aug.T @ W @ y)
    if not fit_intercept:
        assert_allclose(coefs1, coefs2)
    else:
        assert_allclose(coefs1, coefs2[1:])
        assert_allclose(inter1, coefs2[0])


# sklearn: test_raises_value_error_if_sample_weights_greater_than_1d (the "OK" weights work;
# weights of the wrong rank raise, here a ValueError naming sample_weight)
@pytest.mark.parametrize("n_samples, n_features", [(2, 3), (3, 2)])
def test_raises_value_error_if_sample_weights_greater_than_1d(n_samples, n_features):
    rng = np.random.RandomState(0)
    X = rng.randn(n_samples, n_features)
    y = rng.randn(n_samples)
    for sw in (rng.randn(n_samples) ** 2 + 1, 1.0, 2.0):
        assert np.all(np.isfinite(_np(ml.least_squares(X, y, sample_weight=sw).coef)))
    with pytest.raises(ValueError, match="sample_weight"):
        ml.least_squares(X, y, sample_weight=np.ones((n_samples, 2)))


# sklearn: test_fit_intercept
def test_fit_intercept():
    X2 = np.array([[0.38349978, 0.61650022], [0.58853682, 0.41146318]])
    X3 = np.array([[0.27677969, 0.70693172, 0.01628859], [0.08385139, 0.20692515, 0.70922346]])
    y = np.array([1.0, 1.0])
    lr2_without = ml.least_squares(X2, y, fit_intercept=False)
    lr2_with = ml.least_squares(X2, y)
    lr3_without = ml.least_squares(X3, y, fit_intercept=False)
    lr3_with = ml.least_squares(X3, y)
    assert lr2_with.coef.shape == lr2_without.coef.shape
    assert lr3_with.coef.shape == lr3_without.coef.shape
    assert lr2_without.coef.ndim == lr3_without.coef.ndim


# sklearn: test_linear_regression_multiple_outcome
def test_linear_regression_multiple_outcome():
    rng = np.random.RandomState(0)
    X, y = make_regression(random_state=rng)
    Y = np.vstack((y, y)).T
    n_features = X.shape[1]
    reg = ml.least_squares(X, Y)
    assert reg.coef.shape == (2, n_features)
    Y_pred = _np(reg.predict(X))
    y_pred = _np(ml.least_squares(X, y).predict(X))
    assert_array_almost_equal(np.vstack((y_pred, y_pred)).T, Y_pred, decimal=3)


# --- test_ridge.py ------------------------------------------------------------------------------
# sklearn: test_ridge_intercept (multiple targets, GH issue #708)
def test_ridge_intercept():
    rng = np.random.RandomState(0)
    n_samples, n_features = 5, 10
    X = rng.randn(n_samples, n_features)
    y = rng.randn(n_samples)
    Y = np.c_[y, 1.0 + y]
    intercept = float(ml.ridge(X, y, 1.0).intercept)
    multi = _np(ml.ridge(X, Y, 1.0).intercept)
    assert_almost_equal(multi[0], intercept, decimal=5 if multi.dtype == np.float32 else 7)
    assert_almost_equal(multi[1], intercept + 1.0, decimal=5)


# sklearn: test_ridge_vs_lstsq (on alpha=0, Ridge and OLS yield the same solution)
def test_ridge_vs_lstsq():
    rng = np.random.RandomState(0)
    n_samples, n_features = 5, 4
    y = rng.randn(n_samples)
    X = rng.randn(n_samples, n_features)
    ridge = ml.ridge(X, y, 0.0, fit_intercept=False)
    ols = ml.least_squares(X, y, fit_intercept=False)
    assert_almost_equal(_np(ridge.coef), _np(ols.coef))
    ref = LinearRegression(fit_intercept=False).fit(X, y)
    assert_almost_equal(_np(ridge.coef), ref.coef_, decimal=5)


# --- test_coordinate_descent.py -----------------------------------------------------------------
# sklearn: test_lasso_zero (no dual_gap_ in ml: converged stands in for a zero gap)
def test_lasso_zero():
    X = [[0.0], [0.0], [0.0]]
    y = [0.0, 0.0, 0.0]
    clf = ml.lasso(X, y, 0.1)
    pred = clf.predict([[1.0], [2.0], [3.0]])
    assert_array_almost_equal(_np(clf.coef), [0])
    assert_array_almost_equal(_np(pred), [0, 0, 0])
    assert bool(clf.converged)


# sklearn: test_lasso_toy
@pytest.mark.parametrize(
    "alpha, coef, pred",
    [
        (1e-8, [1], [2, 3, 4]),
        (0.1, [0.85], [1.7, 2.55, 3.4]),
        (0.5, [0.25], [0.5, 0.75, 1.0]),
        (1.0, [0.0], [0, 0, 0]),
    ],
)
def test_lasso_toy(alpha, coef, pred):
    X = [[-1.0], [0.0], [1.0]]
    Y = [-1.0, 0.0, 1.0]  # just a straight line
    T = [[2.0], [3.0], [4.0]]  # test sample
    clf = ml.lasso(X, Y, alpha)
    assert_array_almost_equal(_np(clf.coef), coef)
    assert_array_almost_equal(_np(clf.predict(T)), pred)
    assert bool(clf.converged)


# sklearn: test_lasso_positive_constraint (precompute=True is the Gram solver, used here)
def test_lasso_positive_constraint():
    X = [[-1.0], [0.0], [1.0]]
    y = [1.0, 0.0, -1.0]  # just a straight line with negative slope
    model = ml.lasso(X, y, 0.1, positive=True)
    assert min(_np(model.coef)) >= 0


# sklearn: test_lasso_readonly_data (read-only NumPy input instead of a memmap)
def test_lasso_readonly_data():
    X = np.array([[-1.0], [0.0], [1.0]])
    Y = np.array([-1.0, 0.0, 1.0])
    T = np.array([[2.0], [3.0], [4.0]])
    for a in (X, Y):
        a.setflags(write=False)
    clf = ml.lasso(X, Y, 0.5)
    assert_array_almost_equal(_np(clf.coef), [0.25])
    assert_array_almost_equal(_np(clf.predict(T)), [0.5, 0.75, 1.0])
    assert bool(clf.converged)
