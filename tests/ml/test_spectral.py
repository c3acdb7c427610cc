import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.metrics import adjusted_rand_score

from mlmath_jax import ml


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("moons", make_moons(300, noise=0.05, random_state=0)),
        ("circles", make_circles(300, noise=0.05, factor=0.5, random_state=0)),
    ],
)
def test_spectral_two_moons_circles(name, data):
    X, y = data
    labels = ml.spectral_clustering(X.astype(np.float32), 2, key=jax.random.key(0), gamma=50.0)
    assert labels.shape == (300,) and labels.dtype == np.int32
    assert adjusted_rand_score(y, np.asarray(labels)) >= 0.95, name


def test_spectral_blobs_many_clusters_and_determinism():
    X, y = make_blobs(200, centers=4, cluster_std=0.5, random_state=1)
    X = X.astype(np.float32)
    a = ml.spectral_clustering(X, 4, key=jax.random.key(3), gamma=0.5)
    b = jax.jit(lambda x, k: ml.spectral_clustering(x, 4, key=k, gamma=0.5))(X, jax.random.key(3))
    assert set(np.asarray(a).tolist()) == {0, 1, 2, 3}
    assert adjusted_rand_score(y, np.asarray(a)) >= 0.95
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_spectral_bad_input():
    X = np.random.default_rng(0).standard_normal((10, 2))
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="n_clusters must be <= n_samples"):
        ml.spectral_clustering(X, 11, key=key)
    with pytest.raises(ValueError, match="n_clusters must be >= 1"):
        ml.spectral_clustering(X, 0, key=key)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        ml.spectral_clustering(X, 2, key=key, gamma=0.0)
    with pytest.raises(ValueError, match=r"X must be a \[n, d\] matrix"):
        ml.spectral_clustering(np.ones((2, 10, 2)), 2, key=key)
    with pytest.raises(ValueError, match="n_init must be >= 1"):
        ml.spectral_clustering(X, 2, key=key, n_init=0)


def test_spectral_larger_nearly_degenerate_top_eigenvalues():
    # Two moons at n = 2000: the top two eigenvalues differ by ~6e-6 (where Lanczos fails).
    X, y = make_moons(2000, noise=0.05, random_state=0)
    labels = ml.spectral_clustering(X.astype(np.float32), 2, key=jax.random.key(1), gamma=50.0)
    assert adjusted_rand_score(y, np.asarray(labels)) >= 0.95


def test_spectral_top_eigenvectors_match_dense_eigh():
    # The block Krylov path (k <= 4) must span the same invariant subspace as a dense
    # float64 eigh, even with the top two eigenvalues 1 and 1 - 6e-6 (two moons, n = 2000).
    from mlmath_jax.ml import _spectral

    X, _ = make_moons(2000, noise=0.05, random_state=0)
    x = np.asarray(X, np.float64)
    d2 = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    w = np.exp(-50.0 * d2) * (1 - np.eye(len(x)))
    s = np.sqrt(w.sum(1))
    m = w / s[:, None] / s[None, :]
    u = np.asarray(_spectral._top_eigenvectors(jnp.asarray(m, jnp.float32), jnp.asarray(s), 2))
    v = np.linalg.eigh(m)[1][:, -2:]
    np.testing.assert_allclose(u @ u.T, v @ v.T, rtol=0, atol=1e-5)


def test_spectral_more_clusters_than_block_uses_dense_path():
    X, y = make_blobs(600, centers=6, cluster_std=0.5, random_state=2)
    labels = ml.spectral_clustering(X.astype(np.float32), 6, key=jax.random.key(0), gamma=0.5)
    assert adjusted_rand_score(y, np.asarray(labels)) >= 0.95


def test_spectral_wine_agrees_with_sklearn():
    from sklearn.cluster import SpectralClustering
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    data = load_wine()
    X = StandardScaler().fit_transform(data.data).astype(np.float32)
    ours = ml.spectral_clustering(X, 3, key=jax.random.key(0), gamma=0.1)
    ref = SpectralClustering(3, affinity="rbf", gamma=0.1, random_state=0).fit(X).labels_
    assert adjusted_rand_score(ref, np.asarray(ours)) >= 0.95
    assert adjusted_rand_score(data.target, np.asarray(ours)) >= 0.9
