"""The restarted block Lanczos top-k eigensolver behind float32 ``PCA.fit``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA

from mlmath_jax import ml
from mlmath_jax.ml import _top_eigh
from tests.conftest import assert_close


def _data(kind, rng, n, d):
    if kind == "decaying":  # the benchmark's: deviations 1 -> 0.01, randomly rotated
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        return (rng.standard_normal((n, d)) * np.logspace(0, -2, d)) @ q.T
    if kind == "spiked":  # 12 leading deviations 12..1 over a flat bulk
        x = rng.standard_normal((n, d))
        x[:, :12] *= np.arange(12, 0, -1)
        return x
    return rng.standard_normal((n, d))  # flat: Marchenko–Pastur, gaps ~ 1e-3


def _cov(kind, rng, d=256, n=20000):
    return np.cov(_data(kind, rng, n, d), rowvar=False)


def _reference(s, k):
    w, v = np.linalg.eigh(s)
    return w[::-1][:k], v[:, ::-1][:, :k]


@pytest.mark.parametrize(
    ("kind", "d", "k"),
    [
        (kind, d, k)
        for kind in ("decaying", "spiked", "flat")
        for d, k in ((256, 10), (256, 1), (100, 3), (65, 20))
        if not (kind == "flat" and k == 20)  # no gap: the fallback's case, below
    ],
)
def test_converges_to_float32_eigh_accuracy(kind, d, k, rng):
    s = _cov(kind, rng, d)
    w, v = _reference(s, k)
    s32 = jnp.asarray(s, jnp.float32)
    values, vectors, converged, restarts = _top_eigh.dominant_eigh(s32, k)
    assert bool(converged), f"not converged in {int(restarts)} restarts"
    assert_close(values, w, rtol=0, atol=2e-6 * w[0], name="eigenvalues")
    x = np.asarray(vectors, np.float64)
    assert_close(x.T @ x, np.eye(k), rtol=0, atol=1e-5, name="orthonormal")
    # The certified residual, recomputed in float64: a few ulps of ||S||.
    resid = np.linalg.norm(s @ x - x * np.asarray(values, np.float64), axis=0)
    assert np.all(resid <= 20 * np.sqrt(d) * np.finfo(np.float32).eps * w[0]), resid.max()
    # Vectors as accurate as float32 LAPACK's up to a small factor, where the gap allows.
    gaps = np.abs(w[:, None] - np.linalg.eigvalsh(s)[::-1][None, : k + 1])
    gaps[np.arange(k), np.arange(k)] = np.inf
    sep = gaps.min(axis=1) / w[0]
    sign = np.sign(np.sum(x * v, axis=0))
    err = np.abs(x * sign - v).max(axis=0)
    assert np.all(err <= 200 * np.finfo(np.float32).eps / sep), (err, sep)


def test_flat_spectrum_falls_back_to_dense_eigh(rng):
    # 20 wanted + 6 kept of a flat bulk: two blocks do not separate them in 24 restarts.
    s = jnp.asarray(_cov("flat", rng, 256), jnp.float32)
    *_, converged, restarts = _top_eigh.dominant_eigh(s, 20)
    assert not bool(converged) and int(restarts) == _top_eigh._RESTARTS
    values, vectors = _top_eigh.top_eigh(s, 20)
    w, v = jnp.linalg.eigh(s)
    np.testing.assert_array_equal(values, w[::-1][:20])
    np.testing.assert_array_equal(vectors, v[:, ::-1][:, :20])


def test_unsupported_sizes_and_dtypes_use_dense_eigh():
    assert _top_eigh.supported(256, 10, jnp.float32)
    assert not _top_eigh.supported(64, 10, jnp.float32)  # eigh of 64 rows: no spin
    assert not _top_eigh.supported(256, 27, jnp.float32)  # two blocks of 33 > 64
    assert not _top_eigh.supported(256, 10, jnp.float64)
    assert not _top_eigh.supported(256, 10, jnp.bfloat16)


def test_nan_in_nan_out(rng):
    s = _cov("decaying", rng, 128).astype(np.float32)
    s[3, 5] = s[5, 3] = np.nan
    values, vectors = _top_eigh.top_eigh(jnp.asarray(s), 4)
    assert np.all(np.isnan(values)) and np.all(np.isnan(vectors))


def test_jvp_and_grad_match_dense_eigh(rng):
    s = jnp.asarray(_cov("spiked", rng, 128, n=4000), jnp.float32)
    ds = jnp.asarray(rng.standard_normal((128, 128)), jnp.float32)
    ds = ds + ds.T
    (values, vectors), (dw, dv) = jax.jvp(lambda a: _top_eigh.top_eigh(a, 5), (s,), (ds,))
    (w, v), (dw_ref, dv_ref) = jax.jvp(lambda a: _top_eigh._dense_top(a, 5), (s,), (ds,))
    sign = np.sign(np.sum(np.asarray(v) * np.asarray(vectors), axis=0))
    assert_close(dw, dw_ref, rtol=1e-4, name="d eigenvalues")
    assert_close(dv, np.asarray(dv_ref) * sign, rtol=0, atol=1e-4, name="d eigenvectors")

    def loss(a, top):
        values, vectors = top(a, 5)
        return jnp.sum(values) + jnp.sum(vectors[0] ** 2)

    g = jax.grad(loss)(s, _top_eigh.top_eigh)
    g_ref = jax.grad(loss)(s, _top_eigh._dense_top)
    assert_close(g, g_ref, rtol=0, atol=1e-4, name="grad")


def test_vmap_matches_unbatched(rng):
    s = np.stack([_cov(kind, rng, 128, n=4000) for kind in ("decaying", "spiked")])
    s = jnp.asarray(s, jnp.float32)
    values, vectors = jax.vmap(lambda a: _top_eigh.top_eigh(a, 4))(s)
    for i in range(2):
        v_i, x_i = _top_eigh.top_eigh(s[i], 4)
        assert_close(values[i], v_i, rtol=1e-6, name="values")
        sign = np.sign(np.sum(np.asarray(vectors[i]) * np.asarray(x_i), axis=0))
        assert_close(vectors[i] * sign, x_i, rtol=0, atol=1e-5, name="vectors")


@pytest.mark.parametrize("kind", ["decaying", "spiked"])
def test_pca_float32_wide_features_match_sklearn(kind, rng):
    X = _data(kind, rng, 20000, 256) + rng.standard_normal(256)
    ref = SkPCA(10, svd_solver="covariance_eigh").fit(X)
    pca = ml.PCA.fit(X.astype(np.float32), 10)
    assert_close(pca.explained_variance, ref.explained_variance_, rtol=1e-5, name="variance")
    assert_close(
        pca.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-5, name="ratio"
    )
    assert_close(pca.components, ref.components_, rtol=0, atol=5e-5, name="components")
