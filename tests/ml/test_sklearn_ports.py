"""scikit-learn's own tests, ported to the kit (each names the sklearn test it ports).

Sources: ``sklearn/linear_model/tests/test_logistic.py``,
``sklearn/decomposition/tests/test_pca.py``, ``sklearn/tests/test_naive_bayes.py`` and
``sklearn/cluster/tests/test_spectral.py`` of the installed scikit-learn. float64 ports
run in the x64 pass. Also the bad-input classes of issue 16 for these estimators.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import datasets, decomposition, linear_model, naive_bayes
from sklearn.metrics import adjusted_rand_score, log_loss
from sklearn.preprocessing import scale

from mlmath_jax import ml, prob

IRIS_X, IRIS_Y = datasets.load_iris(return_X_y=True)


def _sk_logistic(X, y, C=1.0, fit_intercept=True, sample_weight=None):
    return linear_model.LogisticRegression(
        C=C, fit_intercept=fit_intercept, solver="newton-cholesky", tol=1e-12, max_iter=1000
    ).fit(X, y, sample_weight=sample_weight)


# --- sklearn/linear_model/tests/test_logistic.py ------------------------------------------
@pytest.mark.x64
def test_predict_3_classes():
    """Port of ``test_predict_3_classes`` (iris, dense): labels and probabilities."""
    X = scale(IRIS_X)
    model = ml.logistic_regression(X, IRIS_Y, C=10.0, tol=1e-10)
    ref = _sk_logistic(X, IRIS_Y, C=10.0)
    assert model.coef.shape == (3, 4) and model.intercept.shape == (3,)
    np.testing.assert_allclose(model.coef, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.intercept, ref.intercept_, rtol=1e-6, atol=1e-8)
    proba = np.asarray(model.predict_proba(X))
    np.testing.assert_allclose(proba, ref.predict_proba(X), atol=1e-8)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), ref.predict(X))


@pytest.mark.x64
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multinomial_identifiability_on_iris(fit_intercept):
    """Port of ``test_multinomial_identifiability_on_iris``: symmetric coefficients."""
    X = scale(IRIS_X)
    model = ml.logistic_regression(X, IRIS_Y, C=len(X), fit_intercept=fit_intercept, tol=1e-10)
    np.testing.assert_allclose(np.asarray(model.coef).sum(axis=0), 0, atol=1e-10)
    if fit_intercept:
        assert abs(float(np.asarray(model.intercept).sum())) <= 1e-10


@pytest.mark.x64
def test_logreg_predict_proba_multinomial():
    """Port of ``test_logreg_predict_proba_multinomial``: softmax beats one-vs-rest."""
    X, y = datasets.make_classification(
        n_samples=10, n_features=20, random_state=0, n_classes=3, n_informative=10
    )
    model = ml.logistic_regression(X, y)
    multi = log_loss(y, np.asarray(model.predict_proba(X)))
    ovr = np.stack(
        [
            np.asarray(ml.logistic_regression(X, (y == k).astype(int)).predict_proba(X))[:, 1]
            for k in range(3)
        ],
        axis=1,
    )
    assert log_loss(y, ovr / ovr.sum(axis=1, keepdims=True)) > multi


@pytest.mark.x64
@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_regression_sample_weights(n_classes):
    """Port of ``test_logistic_regression_sample_weights``: weights equal repeated rows."""
    X, y = datasets.make_classification(
        n_samples=40, n_features=5, n_informative=3, n_classes=n_classes, random_state=0
    )
    sw = np.ones(len(y))
    sw[y == 1] = 2.0
    weighted = ml.logistic_regression(X, y, sample_weight=sw, tol=1e-10)
    repeated = ml.logistic_regression(
        np.concatenate([X, X[y == 1]]), np.concatenate([y, y[y == 1]]), tol=1e-10
    )
    np.testing.assert_allclose(weighted.coef, repeated.coef, rtol=1e-7, atol=1e-9)
    ref = _sk_logistic(X, y, sample_weight=sw)
    np.testing.assert_allclose(np.reshape(weighted.coef, ref.coef_.shape), ref.coef_, atol=1e-7)


@pytest.mark.x64
def test_c_inf_no_warning():
    """Port of ``test_c_inf_no_warning``: C = inf is no penalty (sklearn's penalty=None)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = (X[:, 0] + rng.standard_normal(200) > 0).astype(int)
    model = ml.logistic_regression(X, y, C=np.inf, tol=1e-10)
    ref = linear_model.LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12)
    ref.fit(X, y)
    assert bool(model.converged)
    np.testing.assert_allclose(model.coef, ref.coef_[0], rtol=1e-5)


def test_nan():
    """Port of ``test_nan`` (sklearn raises on NaN): here NaN in X gives NaN coefficients."""
    X = np.array([[0.0, 1.0], [1.0, np.nan], [2.0, 0.0], [3.0, 1.0]], np.float32)
    y = np.array([0, 0, 1, 1])
    model = ml.logistic_regression(X, y)
    assert np.all(np.isnan(np.asarray(model.coef))) and not bool(model.converged)
    inf = ml.logistic_regression(np.where(np.isnan(X), np.inf, X), y)
    assert np.all(np.isnan(np.asarray(inf.coef)))


# --- issue 16: logistic bad input and traps ----------------------------------------------
def _separable():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_c_inf_separable_is_not_converged():
    X, y = _separable()
    model = ml.logistic_regression(X.astype(np.float32), y, C=np.inf)
    assert not bool(model.converged)
    assert float(jnp.max(jnp.abs(model.coef))) > 1.0  # not an intercept-only model


@pytest.mark.x64
def test_huge_C_separable_reaches_the_objective():
    X, y = _separable()
    C = 1e8
    model = ml.logistic_regression(X, y, C=C)
    ref = linear_model.LogisticRegression(C=C, max_iter=100_000, tol=1e-12).fit(X, y)

    def obj(coef, b):
        z = X @ np.asarray(coef) + float(b)
        return C * np.sum(np.logaddexp(0, z) - y * z) + 0.5 * np.sum(np.asarray(coef) ** 2)

    ours, theirs = obj(model.coef, model.intercept), obj(ref.coef_[0], ref.intercept_[0])
    if bool(model.converged):
        assert ours <= theirs * (1 + 1e-4)


def test_predict_nan_rows_are_not_labels():
    X, y = _separable()
    model = ml.logistic_regression(X.astype(np.float32), y)
    Xn = X[:4].astype(np.float32).copy()
    Xn[1, 0] = np.nan
    assert int(model.predict(Xn)[1]) == -1
    assert np.all(np.isnan(np.asarray(model.predict_proba(Xn)[1])))
    three = ml.logistic_regression(IRIS_X.astype(np.float32), IRIS_Y)
    Xi = IRIS_X[:3].astype(np.float32).copy()
    Xi[2, 3] = np.nan
    assert np.asarray(three.predict(Xi)).tolist()[2] == -1


def test_options_are_checked():
    X, y = _separable()
    with pytest.raises(TypeError, match="fit_intercept must be a bool"):
        ml.logistic_regression(X, y, fit_intercept="no")
    with pytest.raises(ValueError, match="tol"):
        ml.logistic_regression(X, y, tol=-1)
    with pytest.raises(ValueError, match="sample_weight"):
        ml.logistic_regression(X, y, sample_weight=np.ones(3))


def test_multinomial_under_jit_needs_n_classes():
    X = scale(IRIS_X).astype(np.float32)
    fit = jax.jit(lambda X, y: ml.logistic_regression(X, y, n_classes=3).predict_proba(X))
    assert fit(X, IRIS_Y).shape == (150, 3)


# --- sklearn/tests/test_naive_bayes.py ------------------------------------------------------
GNB_X = np.array([[-2, -1], [-1, -1], [-1, -2], [1, 1], [1, 2], [2, 1]], np.float64)
GNB_Y = np.array([0, 0, 0, 1, 1, 1])


@pytest.mark.x64
def test_gnb():
    """Port of ``test_gnb``: predictions and log probabilities on the toy data."""
    nb = ml.GaussianNB.fit(GNB_X, GNB_Y, 2)
    np.testing.assert_array_equal(nb.predict(GNB_X), GNB_Y)
    np.testing.assert_array_almost_equal(
        np.log(np.asarray(nb.predict_proba(GNB_X))), nb.predict_log_proba(GNB_X), 8
    )
    ref = naive_bayes.GaussianNB().fit(GNB_X, GNB_Y)
    np.testing.assert_allclose(nb.predict_proba(GNB_X), ref.predict_proba(GNB_X), rtol=1e-10)


@pytest.mark.x64
def test_gnb_naive_bayes_scale_invariance():
    """Port of ``test_gnb_naive_bayes_scale_invariance``."""
    labels = [
        np.asarray(ml.GaussianNB.fit(f * IRIS_X, IRIS_Y, 3).predict(f * IRIS_X))
        for f in (1e-10, 1, 1e10)
    ]
    np.testing.assert_array_equal(labels[0], labels[1])
    np.testing.assert_array_equal(labels[1], labels[2])


def test_gnb_far_point_and_nan_rows():
    nb = ml.GaussianNB.fit(GNB_X.astype(np.float32), GNB_Y, 2)
    far = np.asarray(nb.predict_proba(np.array([[1e15, 1e15]], np.float32)))
    np.testing.assert_allclose(far.sum(), 1.0, rtol=1e-6)
    bad = np.array([[np.nan, 0.0], [1.0, 1.0]], np.float32)
    assert np.asarray(nb.predict(bad)).tolist() == [-1, 1]
    assert np.all(np.isnan(np.asarray(nb.predict_proba(bad)[0])))


# --- sklearn/decomposition/tests/test_pca.py ------------------------------------------------
@pytest.mark.x64
def test_pca_inverse():
    """Port of ``test_pca_inverse``: near rank-2 data are recovered from 2 components."""
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3)
    X[:, 1] *= 0.00001
    X += [5, 4, 3]
    pca = ml.PCA.fit(X, 2)
    np.testing.assert_allclose(X, pca.inverse_transform(pca.transform(X)), rtol=5e-6)


@pytest.mark.x64
def test_pca_wide_more_components_than_rank():
    """Issue 16: d > n with k > rank: orthonormal rows, sklearn's determined directions."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 12))
    pca = ml.PCA.fit(X, 5)
    c = np.asarray(pca.components)
    np.testing.assert_allclose(c @ c.T, np.eye(5), atol=1e-10)
    ref = decomposition.PCA(5, svd_solver="full").fit(X)
    np.testing.assert_allclose(np.abs(c[:4]), np.abs(ref.components_[:4]), atol=1e-8)
    np.testing.assert_allclose(
        pca.inverse_transform(pca.transform(X)), ref.inverse_transform(ref.transform(X)), atol=1e-8
    )


# --- sklearn/cluster/tests/test_spectral.py -------------------------------------------------
def test_spectral_clustering_two_blobs():
    """After ``test_spectral_clustering`` (two groups, adjusted Rand index 1)."""
    X, truth = datasets.make_blobs(
        n_samples=60, centers=[[0, 0], [6, 6]], cluster_std=0.5, random_state=0
    )
    labels = ml.spectral_clustering(X.astype(np.float32), 2, key=jax.random.key(0), gamma=0.5)
    assert adjusted_rand_score(np.asarray(labels), truth) == 1.0


def test_spectral_degenerate_input_raises():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]], np.float32)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="finite"):
        ml.spectral_clustering(np.where(X == 0.1, np.nan, X), 2, key=key)
    with pytest.raises(ValueError, match="identical"):
        ml.spectral_clustering(np.ones((4, 2), np.float32), 2, key=key)
    with pytest.raises(ValueError, match="underflows"):
        ml.spectral_clustering(100 * X, 2, key=key)
    traced = jax.jit(lambda X: ml.spectral_clustering(X, 2, key=key))
    assert np.asarray(traced(np.where(X == 0.1, np.nan, X))).tolist() == [-1] * 4


# --- fit_mle ----------------------------------------------------------------------------------
def test_fit_mle_multivariate_normal_needs_more_samples_than_dimensions():
    with pytest.raises(ValueError, match="singular"):
        ml.fit_mle(prob.MultivariateNormal, np.random.default_rng(0).normal(size=(3, 5)))
