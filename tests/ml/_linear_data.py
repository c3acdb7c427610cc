"""Data sets shared by the ml tests: scikit-learn's bundled sets and seeded synthetic ones."""

from __future__ import annotations

import functools

import numpy as np
from sklearn import datasets
from sklearn.preprocessing import StandardScaler


@functools.cache
def regression(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` float64 regression problems by name."""
    rng = np.random.default_rng(7)
    if name == "diabetes":
        return datasets.load_diabetes(return_X_y=True)
    if name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
        return StandardScaler().fit_transform(X), y.astype(float)
    if name == "wine":
        X, y = datasets.load_wine(return_X_y=True)
        return X, y.astype(float)
    if name == "synthetic":
        X = rng.standard_normal((200, 8)) + 3.0
        w = rng.standard_normal(8)
        return X, X @ w + 0.1 * rng.standard_normal(200) + 2.0
    if name == "wide":  # d > n
        return rng.standard_normal((30, 60)), rng.standard_normal(30)
    if name == "collinear":
        X = rng.standard_normal((50, 5))
        X = np.c_[X, X[:, :2] @ np.array([1.0, 2.0]), X[:, 3]]
        return X, X[:, :5] @ rng.standard_normal(5) + rng.standard_normal(50)
    raise KeyError(name)


@functools.cache
def classification(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` binary problems (labels 0/1) by name."""
    rng = np.random.default_rng(11)
    if name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
        return StandardScaler().fit_transform(X), y
    if name == "wine":  # class 0 against the rest
        X, y = datasets.load_wine(return_X_y=True)
        return StandardScaler().fit_transform(X), (y == 0).astype(np.int64)
    if name == "synthetic":
        X = rng.standard_normal((300, 6))
        z = X @ rng.standard_normal(6) + 0.5
        return X, (z + rng.logistic(size=300) > 0).astype(np.int64)
    if name == "wide":  # d > n: separable, kept finite by the penalty
        X = rng.standard_normal((40, 80))
        return X, (X[:, 0] + 0.3 * rng.standard_normal(40) > 0).astype(np.int64)
    raise KeyError(name)
