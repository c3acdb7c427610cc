"""The dense-matrix path of ``eigsh``: block Krylov–Schur (``linalg/_block_krylov.py``)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg as spl

from mlmath_jax import linalg
from mlmath_jax.linalg import _block_krylov
from tests.conftest import assert_close

N = 300  # above 2 * ncv (default ncv 64): the block Krylov path, not the dense fallback


def _check(a, w, v, w_ref, *, rtol=1e-5):
    """Eigenvalues as the reference, orthonormal eigenvectors, small residuals."""
    a = np.asarray(a, np.float64)
    w, v = np.asarray(w, np.float64), np.asarray(v, np.float64)
    scale = np.abs(np.linalg.eigvalsh(a)).max() or 1.0
    assert_close(w, w_ref, rtol=rtol, atol=rtol * scale, name="eigenvalues")
    assert_close(v.T @ v, np.eye(v.shape[1]), rtol=0, atol=1e-5, name="VᵀV")
    res = np.linalg.norm(a @ v - v * w, axis=0)
    assert_close(res, np.zeros_like(res), rtol=0, atol=1e-4 * scale, name="||Av − λv||")


def _wanted(a, k, which):
    w = np.linalg.eigvalsh(np.asarray(a, np.float64))
    if which == "LA":
        return w[-k:]
    if which == "SA":
        return w[:k]
    return np.sort(w[np.argsort(-np.abs(w), kind="stable")[:k]])


@pytest.mark.parametrize("k, ncv", [(1, None), (10, None), (3, 5), (3, 8), (30, None), (5, 13)])
def test_block_sizes(k, ncv):
    b, m, p = _block_krylov.block_sizes(1000, k, ncv)
    assert b == _block_krylov.BLOCK
    assert m % b == 0 and (m - p) % b == 0, "whole blocks per restart"
    assert k <= p <= m - b, "keep at least k Ritz vectors and add at least one block"
    assert m >= (ncv or 0)


def test_block_sizes_default_ncv():
    assert _block_krylov.block_sizes(4096, 10, None)[1] == _block_krylov.DEFAULT_NCV


@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
def test_goe_matches_scipy(rng, which):
    # The benchmark's matrix family: a GOE matrix, whose extreme eigenvalues crowd together.
    n = 600
    g = rng.standard_normal((n, n))
    a = ((g + g.T) / (2 * np.sqrt(n))).astype(np.float32)
    v0 = rng.standard_normal(n).astype(np.float32)
    w, v, _, _ = linalg.eigsh(a, 10, v0=v0, which=which)
    w_ref = np.sort(spl.eigsh(a.astype(np.float64), 10, which=which, tol=1e-12)[0])
    _check(a, w, v, w_ref)


def test_real_data_gram_matrix():
    # Gram matrix of 500 standardised digit images: a low-rank PSD matrix (rank <= 64)
    # with a long tail of tiny and exactly zero eigenvalues.
    from sklearn.datasets import load_digits

    x = load_digits().data[:500]
    x = (x - x.mean(0)) / np.maximum(x.std(0), 1e-12)
    gram = (x @ x.T / x.shape[1]).astype(np.float32)
    for which in ("LA", "SA"):
        w, v, _, _ = linalg.eigsh(gram, 6, v0=np.ones(500, np.float32), which=which)
        _check(gram, w, v, _wanted(gram, 6, which), rtol=1e-4)


def test_invariant_subspace_breakdown(rng):
    # Two distinct eigenvalues: the Krylov space of a block of 4 is exhausted after two
    # steps, so the basis must continue with fresh directions (the Householder fallback).
    a = np.diag(np.r_[np.ones(N // 2), 2 * np.ones(N // 2)]).astype(np.float32)
    for which, value in (("LA", 2.0), ("SA", 1.0)):
        w, v, _, _ = linalg.eigsh(a, 6, v0=np.ones(N, np.float32), which=which)
        _check(a, w, v, np.full(6, value))


def test_repeated_top_eigenvalue(rng):
    # A 6-fold top eigenvalue found in full, also when k ends inside the cluster.
    q, _ = np.linalg.qr(rng.standard_normal((N, N)))
    w_true = np.r_[np.linspace(-1, 1, N - 6), np.full(6, 5.0)]
    a = ((q * w_true) @ q.T).astype(np.float32)
    for k in (4, 6, 7):
        w, v, _, _ = linalg.eigsh(a, k, v0=np.ones(N, np.float32))
        _check(a, w, v, np.sort(w_true)[-k:])


def test_low_rank_and_zero_matrix(rng):
    x = rng.standard_normal((N, 3))
    a = (x @ x.T).astype(np.float32)
    w, v, _, _ = linalg.eigsh(a, 5, v0=np.ones(N, np.float32))
    _check(a, w, v, _wanted(a, 5, "LA"))
    w, v, _, _ = linalg.eigsh(np.zeros((N, N), np.float32), 3, v0=np.ones(N, np.float32))
    assert_close(w, np.zeros(3), rtol=0, atol=0)
    assert_close(np.asarray(v).T @ np.asarray(v), np.eye(3), rtol=0, atol=1e-5)


def test_zero_start_vector():
    a = np.diag(np.arange(N, dtype=np.float32))
    w, v, _, _ = linalg.eigsh(a, 3, v0=np.zeros(N, np.float32))
    _check(a, w, v, [N - 3, N - 2, N - 1])


def test_vmap_and_batch_with_degenerate_member(rng):
    # Under vmap the fallback branch becomes a select; results must not change.
    x = rng.standard_normal((N, 3))
    a = np.stack([np.diag(np.r_[np.ones(N // 2), 2 * np.ones(N // 2)]), x @ x.T])
    a = a.astype(np.float32)
    v0 = np.ones((2, N), np.float32)
    w, v, _, _ = linalg.eigsh(a, 4, v0=v0)
    vm = jax.vmap(lambda a, v0: linalg.eigsh(a, 4, v0=v0))(jnp.asarray(a), jnp.asarray(v0))
    for i in range(2):
        _check(a[i], w[i], v[i], _wanted(a[i], 4, "LA"))
        assert_close(vm.eigenvalues[i], w[i], rtol=1e-5, atol=1e-5)


def test_matrix_and_matvec_paths_agree(rng):
    g = rng.standard_normal((N, N))
    a = ((g + g.T) / 2).astype(np.float32)
    v0 = rng.standard_normal(N).astype(np.float32)
    aj = jnp.asarray(a)
    block = jax.jit(lambda a: linalg.eigsh(a, 5, v0=v0, which="LM"))(aj)
    single = linalg.eigsh(lambda x: aj @ x, 5, v0=v0, which="LM")
    assert_close(block.eigenvalues, single.eigenvalues, rtol=1e-5)


def test_not_converged_is_nan(rng):
    g = rng.standard_normal((N, N))
    a = ((g + g.T) / 2).astype(np.float32)
    w, v, _, _ = linalg.eigsh(a, 3, v0=np.ones(N, np.float32), max_steps=1, ncv=8)
    assert np.isnan(np.asarray(w)).any()
    assert np.all(np.isnan(np.asarray(v)[:, np.isnan(np.asarray(w))]))


@pytest.mark.x64
@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
def test_x64_goe(rng, which):
    n = 500
    g = rng.standard_normal((n, n))
    a = (g + g.T) / 2
    w, v, _, _ = linalg.eigsh(a, 8, v0=np.ones(n), which=which)
    assert w.dtype == np.float64 and v.dtype == np.float64
    assert_close(w, _wanted(a, 8, which), rtol=1e-10)
    assert_close(np.asarray(v).T @ np.asarray(v), np.eye(8), rtol=0, atol=1e-10)


def test_pieces_alone_one_cycle_on_the_whole_space(rng):
    # With a subspace as large as the matrix, one extend + Rayleigh–Ritz step is exact.
    n, b, p = 16, _block_krylov.BLOCK, 3
    g = rng.standard_normal((n, n))
    a = jnp.asarray((g + g.T) / 2, jnp.float32)
    key = jax.random.key(0)
    empty = jnp.zeros((n, n + b))
    start = _block_krylov._next_block(empty, jax.random.normal(key, (n, b)), key)
    basis, image = _block_krylov._block_extend(
        a, key, b, n, 0, 0, empty.at[:, :b].set(start), jnp.zeros((n, n))
    )
    assert_close(basis[:, :n].T @ basis[:, :n], np.eye(n), rtol=0, atol=1e-5, name="VᵀV")
    theta, x, ax, ok = _block_krylov._block_rayleigh_ritz(
        lambda t: jnp.argsort(-t), n, p, 1e-4, basis, image
    )
    w_ref = np.linalg.eigvalsh(np.asarray(a, np.float64))[::-1][:p]
    assert_close(theta, w_ref, rtol=1e-5, name="Ritz values")
    assert bool(np.all(ok))
    kept, image2 = _block_krylov._block_restart(n, p, b, basis, x, ax)
    assert_close(kept[:, :p], x, rtol=0, atol=0, name="kept Ritz vectors")
    assert_close(image2[:, :p], ax, rtol=0, atol=0, name="kept images")
    assert np.all(np.asarray(kept[:, p + b :]) == 0)


def test_deficient_block_keeps_the_span_of_its_other_columns(rng):
    # A block whose first column lies in the basis (an exact eigenvector's image): the new
    # block must still span the other columns' new parts exactly, with the deficient one
    # replaced by a fresh direction (it once lost their component along the noise left of
    # the first column, and the Krylov space stopped growing in that direction).
    n, b = 200, _block_krylov.BLOCK
    basis = np.linalg.qr(rng.standard_normal((n, 8)))[0].astype(np.float32)
    w = rng.standard_normal((n, b)).astype(np.float32)
    w[:, 0] = basis[:, 3]  # already in span(basis): deficient
    full = jnp.zeros((n, 16), jnp.float32).at[:, :8].set(basis)
    q = np.asarray(_block_krylov._next_block(full, jnp.asarray(w), jax.random.key(3)), np.float64)
    assert_close(q.T @ q, np.eye(b), rtol=0, atol=1e-5, name="QᵀQ")
    assert_close(basis.T @ q, np.zeros((8, b)), rtol=0, atol=1e-5, name="Vᵀ Q")
    basis64 = basis.astype(np.float64)
    new = w[:, 1:] - basis64 @ (basis64.T @ w[:, 1:])  # the other columns' new parts
    left = new - q @ (q.T @ new)
    assert_close(
        np.linalg.norm(left, axis=0) / np.linalg.norm(new, axis=0),
        np.zeros(b - 1),
        rtol=0,
        atol=1e-5,
        name="part of the good columns outside span(Q)",
    )


def test_start_vector_that_is_an_exact_eigenvector(rng):
    # Spectral clustering starts from D^(1/2) 1, the exact top eigenvector of its matrix:
    # the next pair (a small gap above the rest) must still converge, in a few cycles (it
    # once stagnated at a residual of 4e-4 for all 1000 cycles and came back NaN).
    q, _ = np.linalg.qr(rng.standard_normal((N, N)))
    w_true = np.r_[np.linspace(-1, 0.99, N - 2), 1.0 - 1e-5, 1.0]
    a = ((q * w_true) @ q.T).astype(np.float32)
    w, v, converged, steps = linalg.eigsh(a, 2, v0=q[:, -1].astype(np.float32), which="LA")
    assert bool(np.all(converged)) and int(steps) <= 20, (converged, steps)
    _check(a, w, v, np.sort(w_true)[-2:])
