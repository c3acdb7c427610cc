import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.decomposition import PCA as SkPCA

from mlmath_jax import ml
from tests.conftest import assert_close


@pytest.mark.parametrize("k", [2, 10, 40])
def test_pca_digits_matches_sklearn(k):
    X = load_digits().data
    ref = SkPCA(k).fit(X)
    pca = ml.PCA.fit(X.astype(np.float32), k)
    assert pca.components.shape == (k, 64) and pca.explained_variance.shape == (k,)
    assert_close(
        pca.explained_variance_ratio,
        ref.explained_variance_ratio_,
        rtol=1e-5,
        name="explained_variance_ratio",
    )
    assert_close(
        pca.explained_variance, ref.explained_variance_, rtol=1e-5, name="explained_variance"
    )
    assert_close(pca.mean, ref.mean_, rtol=1e-6, name="mean")
    # Same signs as scikit-learn; the trailing digits components have small gaps.
    top = min(k, 10)
    assert_close(pca.components[:top], ref.components_[:top], rtol=1e-3, name="components")
    assert_close(
        pca.transform(X[:50])[:, :top], ref.transform(X[:50])[:, :top], rtol=1e-3, name="transform"
    )


@pytest.mark.parametrize("loader", [load_iris, load_wine])
def test_pca_full_rank_roundtrip(loader):
    X = loader().data.astype(np.float32)
    d = X.shape[1]
    pca = ml.PCA.fit(X, d)
    ref = SkPCA(d).fit(X.astype(np.float64))
    assert_close(pca.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-5)
    assert_close(np.sum(pca.explained_variance_ratio), 1.0, rtol=1e-5)
    assert_close(pca.inverse_transform(pca.transform(X)), X, rtol=1e-5, name="roundtrip")
    c = np.asarray(pca.components, np.float64)
    assert_close(c @ c.T, np.eye(d), rtol=0, atol=1e-5, name="orthonormal rows")


def test_pca_wide_data_uses_gram(rng):
    X = rng.standard_normal((20, 80))
    ref = SkPCA(6).fit(X)
    pca = ml.PCA.fit(X.astype(np.float32), 6)
    assert_close(pca.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-5)
    assert_close(pca.components, ref.components_, rtol=1e-4, name="components")
    Z = pca.transform(X[:5])
    assert_close(pca.inverse_transform(Z), ref.inverse_transform(ref.transform(X[:5])), rtol=1e-4)


def test_pca_pytree_jit_vmap(rng):
    X = rng.standard_normal((3, 50, 4)).astype(np.float32)
    batched = jax.vmap(lambda x: ml.PCA.fit(x, 2))(X)
    assert batched.components.shape == (3, 2, 4)
    direct = ml.PCA.fit(X, 2)  # leading batch dimensions are supported directly
    assert_close(direct.explained_variance, batched.explained_variance, rtol=1e-5)
    Z = batched.transform(X)
    assert Z.shape == (3, 50, 2)
    for i in range(3):
        ref = SkPCA(2).fit(X[i].astype(np.float64))
        assert_close(batched.explained_variance[i], ref.explained_variance_, rtol=1e-5)
    leaves = jax.tree.leaves(batched)
    assert len(leaves) == 4
    out = jax.jit(lambda p, x: p.transform(x))(direct, X)
    assert_close(out, Z, rtol=1e-5)


def test_pca_grad_of_explained_variance(rng):
    X = jnp.asarray(rng.standard_normal((30, 3)).astype(np.float32))
    g = jax.grad(lambda x: ml.PCA.fit(x, 3).explained_variance.sum())(X)
    # Σ variances = ||X − mean||² / (n − 1): gradient 2 (X − mean) / (n − 1).
    assert_close(g, 2 * (X - X.mean(0)) / 29, rtol=1e-4)


@pytest.mark.x64
def test_pca_digits_x64():
    X = load_digits().data
    ref = SkPCA(20).fit(X)
    pca = ml.PCA.fit(X, 20)
    assert pca.components.dtype == np.float64
    assert_close(pca.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-10)
    assert_close(pca.components[:10], ref.components_[:10], rtol=1e-8)


def test_pca_bad_input(rng):
    X = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match="n_components must be <="):
        ml.PCA.fit(X, 4)
    with pytest.raises(ValueError, match="n_components must be >= 1"):
        ml.PCA.fit(X, 0)
    with pytest.raises(TypeError, match="n_components must be a Python int"):
        ml.PCA.fit(X, 1.5)
    with pytest.raises(ValueError, match="X must be"):
        ml.PCA.fit(np.ones(5), 1)
    with pytest.raises(ValueError, match="at least 2 samples"):
        ml.PCA.fit(np.ones((1, 3)), 1)
    pca = ml.PCA.fit(X, 2)
    with pytest.raises(ValueError, match="X must have 3 features"):
        pca.transform(np.ones((4, 2)))
    with pytest.raises(ValueError, match="Z must have 2 columns"):
        pca.inverse_transform(np.ones((4, 3)))
