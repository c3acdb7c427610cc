"""Every ml entry point compiles once: repeated eager calls with new data compile nothing."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import ml, prob

N, D = 24, 3


def _data(seed, n=N, d=D):
    rng = np.random.default_rng(seed)
    X = jnp.asarray(rng.standard_normal((n, d)), jnp.float32)
    y = jnp.asarray(X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n), jnp.float32)
    labels = jnp.asarray(np.arange(n) % 2)  # both classes present, a new X each time
    return X, y, labels


SEEDS = (1, 2, 3)

FITS = {
    "least_squares": lambda X, y, labels, s: ml.least_squares(X, y),
    "least_squares_no_intercept": lambda X, y, labels, s: ml.least_squares(
        X, y, fit_intercept=False
    ),
    "ridge": lambda X, y, labels, s: ml.ridge(X, y, 0.1 * s),
    "lasso": lambda X, y, labels, s: ml.lasso(X, y, 0.01 * s, tol=1e-4 / s),
    "logistic_regression": lambda X, y, labels, s: ml.logistic_regression(
        X, labels, C=1.0 * s, tol=1e-6 / s
    ),
    "PCA.fit": lambda X, y, labels, s: ml.PCA.fit(X, 2),
    "spectral_clustering": lambda X, y, labels, s: ml.spectral_clustering(
        X, 2, key=jax.random.key(s), gamma=0.5 * s
    ),
    "GaussianNB.fit": lambda X, y, labels, s: ml.GaussianNB.fit(X, labels, 2),
}


@pytest.mark.parametrize("name", list(FITS))
def test_fit_compiles_once(name, count_compiles):
    fit = FITS[name]
    calls = [(*_data(s), s) for s in SEEDS]
    assert count_compiles(fit, *calls) == 0


def test_numpy_inputs_compile_once(count_compiles):
    calls = [tuple(np.asarray(a) for a in _data(s)[:2]) for s in SEEDS]
    assert count_compiles(ml.ridge, *[(X, y, 0.5) for X, y in calls]) == 0


def _models():
    X, y, labels = _data(0)
    return {
        "regression": ml.ridge(X, y, 1.0),
        "logistic": ml.logistic_regression(X, labels),
        "pca": ml.PCA.fit(X, 2),
        "nb": ml.GaussianNB.fit(X, labels, 2),
    }


METHODS = {
    "LinearModel.predict": ("regression", lambda m, X: m.predict(X)),
    "LinearModel.decision_function": ("regression", lambda m, X: m.decision_function(X)),
    "LinearModel.predict (logistic)": ("logistic", lambda m, X: m.predict(X)),
    "LinearModel.predict_proba": ("logistic", lambda m, X: m.predict_proba(X)),
    "PCA.transform": ("pca", lambda m, X: m.transform(X)),
    "PCA.inverse_transform": ("pca", lambda m, X: m.inverse_transform(X[:, :2])),
    "GaussianNB.predict": ("nb", lambda m, X: m.predict(X)),
    "GaussianNB.predict_proba": ("nb", lambda m, X: m.predict_proba(X)),
    "GaussianNB.predict_log_proba": ("nb", lambda m, X: m.predict_log_proba(X)),
    "GaussianNB.joint_log_likelihood": ("nb", lambda m, X: m.joint_log_likelihood(X)),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_method_compiles_once(name, count_compiles):
    which, method = METHODS[name]
    model = _models()[which]
    calls = [(model, _data(s)[0]) for s in SEEDS]
    assert count_compiles(method, *calls) == 0


def test_method_compiles_once_for_new_models(count_compiles):
    """A model refitted on new data (same shapes) reuses the compiled predict."""
    calls = []
    for s in SEEDS:
        X, y, _ = _data(s)
        calls.append((ml.ridge(X, y, 1.0), X))
    assert count_compiles(lambda m, X: m.predict(X), *calls) == 0


def _mle_data(family, seed):
    rng = np.random.default_rng(seed)
    n = 40
    makers = {
        prob.Normal: lambda: rng.normal(1.0, 2.0, n),
        prob.Uniform: lambda: rng.uniform(-1.0, 3.0, n),
        prob.Exponential: lambda: rng.exponential(2.0, n),
        prob.Poisson: lambda: rng.poisson(3.0, n),
        prob.Bernoulli: lambda: rng.integers(0, 2, n),
        prob.Binomial: lambda: rng.binomial(5, 0.4, n),
        prob.Categorical: lambda: rng.integers(0, 4, n),
        prob.Gamma: lambda: rng.gamma(2.0, 1.5, n),
        prob.Beta: lambda: rng.beta(2.0, 3.0, n),
        prob.Dirichlet: lambda: rng.dirichlet([1.0, 2.0, 3.0], n),
        prob.MultivariateNormal: lambda: rng.multivariate_normal(
            [0.0, 1.0], [[2.0, 0.5], [0.5, 1.0]], n
        ),
    }
    return jnp.asarray(makers[family](), jnp.float32)


FAMILIES = [
    prob.Normal,
    prob.Uniform,
    prob.Exponential,
    prob.Poisson,
    prob.Bernoulli,
    prob.Binomial,
    prob.Categorical,
    prob.Gamma,
    prob.Beta,
    prob.Dirichlet,
    prob.MultivariateNormal,
]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
def test_fit_mle_compiles_once(family, count_compiles):
    kwargs = {prob.Binomial: {"total_count": 5}, prob.Categorical: {"num_categories": 4}}.get(
        family, {}
    )
    calls = [(_mle_data(family, s),) for s in SEEDS]
    assert count_compiles(lambda data: ml.fit_mle(family, data, **kwargs), *calls) == 0


def test_fit_mle_categorical_inferred_k_compiles_once(count_compiles):
    calls = [(jnp.asarray(np.arange(40) % 4 + 0.0 * s, jnp.float32),) for s in SEEDS]
    assert count_compiles(lambda data: ml.fit_mle(prob.Categorical, data), *calls) == 0


def test_hand_built_linear_model_compiles_once(count_compiles):
    """``ml.LinearModel`` built directly (new coefficients each call) reuses its predict."""
    calls = []
    for s in SEEDS:
        X, _, _ = _data(s)
        coef = jnp.asarray(np.random.default_rng(s).standard_normal(X.shape[1]), X.dtype)
        calls.append((ml.LinearModel(coef, jnp.asarray(0.5, X.dtype)), X))
    assert count_compiles(lambda m, X: m.predict(X), *calls) == 0
