import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg as spl

from mlmath_jax import linalg
from mlmath_jax.linalg._lanczos import lanczos_tridiagonal
from tests.conftest import assert_close


def _sym(rng, n, dtype=np.float64):
    g = rng.standard_normal((n, n))
    return ((g + g.T) / 2).astype(dtype)


# ----- lanczos_tridiagonal (private core) ----------------------------------------------


def test_lanczos_tridiagonal_projection(rng):
    a = _sym(rng, 120, np.float32)
    v0 = rng.standard_normal(120).astype(np.float32)
    alpha, beta, q = lanczos_tridiagonal(lambda x: jnp.asarray(a) @ x, jnp.asarray(v0), 40)
    assert alpha.shape == (40,) and beta.shape == (39,) and q.shape == (40, 120)
    q = np.asarray(q, np.float64)
    assert_close(q @ q.T, np.eye(40), rtol=0, atol=1e-5, name="QQᵀ")
    t = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    assert_close(q @ a.astype(np.float64) @ q.T, t, rtol=1e-5, atol=1e-5, name="QAQᵀ")
    assert_close(q[0], v0 / np.linalg.norm(v0), rtol=1e-6)


def test_lanczos_tridiagonal_breakdown_no_nan():
    # 4 distinct eigenvalues: the Krylov space is exhausted after 4 steps.
    a = jnp.diag(jnp.array([1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 5.0]))
    alpha, beta, q = lanczos_tridiagonal(lambda x: a @ x, jnp.ones(7), 10)
    for x in (alpha, beta, q):
        assert np.all(np.isfinite(x))
    assert np.all(np.asarray(beta[3:]) == 0) and np.all(np.asarray(q[4:]) == 0)
    t = np.diag(alpha[:4]) + np.diag(beta[:3], 1) + np.diag(beta[:3], -1)
    assert_close(np.linalg.eigvalsh(t), [1.0, 2.0, 3.0, 5.0], rtol=1e-5)
    zero = lanczos_tridiagonal(lambda x: a @ x, jnp.zeros(7), 3)
    assert all(np.all(np.asarray(x) == 0) for x in zero)


def test_lanczos_tridiagonal_jit_and_bad_input():
    f = jax.jit(lambda v: lanczos_tridiagonal(lambda x: 2.0 * x, v, 3))
    alpha, beta, _ = f(jnp.ones(5))
    assert_close(alpha, [2.0, 0.0, 0.0], rtol=1e-6)
    with pytest.raises(ValueError, match="v0 must be a 1-D"):
        lanczos_tridiagonal(lambda x: x, jnp.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="num_iters must be >= 1"):
        lanczos_tridiagonal(lambda x: x, jnp.ones(3), 0)


# ----- eigsh ----------------------------------------------------------------------------


def _reference(a, k, which):
    w, v = spl.eigsh(a, k, which=which, tol=1e-12)
    order = np.argsort(w)
    return w[order], v[:, order]


@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
@pytest.mark.parametrize(
    "n, operator",
    [(40, "matrix"), (300, "matrix"), (300, "matvec")],  # dense eigh, block, single-vector
)
def test_eigsh_matches_scipy(rng, which, n, operator):
    a = _sym(rng, n)
    k = 4
    v0 = rng.standard_normal(n)
    w_ref, v_ref = _reference(a, k, which)
    a32 = jnp.asarray(a, jnp.float32)
    op = a32 if operator == "matrix" else (lambda x: a32 @ x)
    w, v = linalg.eigsh(op, k, v0=v0.astype(np.float32), which=which)
    assert w.shape == (k,) and v.shape == (n, k) and w.dtype == np.float32
    assert_close(w, w_ref, rtol=1e-5, name="eigenvalues")
    # Same eigenvectors up to sign.
    overlap = np.abs(np.sum(np.asarray(v, np.float64) * v_ref, axis=0))
    assert_close(overlap, np.ones(k), rtol=1e-3, name="|<v, v_ref>|")
    assert_close(np.asarray(v).T @ np.asarray(v), np.eye(k), rtol=0, atol=1e-5, name="VᵀV")


def test_eigsh_matvec_and_jit(rng):
    n = 400
    # A graph Laplacian-like PSD operator given only as a function.
    x = rng.standard_normal((n, 30)).astype(np.float32)
    xj = jnp.asarray(x)

    def matvec(v):
        return xj @ (xj.T @ v)

    v0 = jnp.ones(n)
    w_ref = np.linalg.eigvalsh((x @ x.T).astype(np.float64))[-5:]
    jitted = jax.jit(lambda v0: linalg.eigsh(matvec, 5, v0=v0, which="LA"))
    assert_close(jitted(v0).eigenvalues, w_ref, rtol=1e-5, name="jit")
    # Below the 30 non-zero eigenvalues lies the null space: SA finds a zero.
    w_sa, v_sa = linalg.eigsh(matvec, 1, v0=v0, which="SA")
    assert_close(w_sa, np.zeros(1), rtol=0, atol=1e-5 * w_ref[-1])
    assert_close(x.T @ np.asarray(v_sa), np.zeros((30, 1)), rtol=0, atol=1e-3)


def test_eigsh_clustered_top_eigenvalues(rng):
    # Top eigenvalues 10, 10, 10 (exact triple) and 9.999: single-vector Lanczos (the
    # matvec path) still finds all of them thanks to restarts with fresh directions.
    n = 200
    w_true = np.r_[np.linspace(-1, 1, n - 4), 9.999, 10.0, 10.0, 10.0]
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = jnp.asarray((q * w_true) @ q.T, jnp.float32)
    w, v = linalg.eigsh(lambda x: a @ x, 4, v0=jnp.ones(n), ncv=20)
    assert_close(w, w_true[-4:], rtol=1e-5)
    assert_close(np.asarray(v).T @ np.asarray(v), np.eye(4), rtol=0, atol=1e-5)


def test_eigsh_batch(rng):
    a = np.stack([_sym(rng, 100) for _ in range(3)]).astype(np.float32)
    v0 = rng.standard_normal((3, 100)).astype(np.float32)
    w, v = linalg.eigsh(a, 3, v0=v0, which="SA", ncv=12)
    assert w.shape == (3, 3) and v.shape == (3, 100, 3)
    for i in range(3):
        assert_close(w[i], np.linalg.eigvalsh(a[i].astype(np.float64))[:3], rtol=1e-5)


def test_eigsh_not_converged_is_nan(rng):
    a = _sym(rng, 300, np.float32)
    w, v = linalg.eigsh(a, 3, v0=np.ones(300, np.float32), max_iters=1, ncv=8)
    assert np.all(np.isnan(w)) or np.all(np.isfinite(w))  # all-or-nothing per pair
    assert np.isnan(np.asarray(w)).any()


@pytest.mark.x64
@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
def test_eigsh_x64(rng, which):
    a = _sym(rng, 250)
    w_ref, _ = _reference(a, 3, which)
    w, _ = linalg.eigsh(a, 3, v0=np.ones(250), which=which)
    assert w.dtype == np.float64
    assert_close(w, w_ref, rtol=1e-10)


def test_eigsh_bad_input(rng):
    a = np.eye(5)
    with pytest.raises(ValueError, match="k must be <= n"):
        linalg.eigsh(a, 6, v0=np.ones(5))
    with pytest.raises(ValueError, match="k must be >= 1"):
        linalg.eigsh(a, 0, v0=np.ones(5))
    with pytest.raises(ValueError, match="which must be one of"):
        linalg.eigsh(a, 2, v0=np.ones(5), which="BE")
    with pytest.raises(ValueError, match="v0 must have length"):
        linalg.eigsh(a, 2, v0=np.ones(4))
    with pytest.raises(ValueError, match="a must be square"):
        linalg.eigsh(np.ones((5, 4)), 2, v0=np.ones(4))
    with pytest.raises(ValueError, match="ncv must satisfy"):
        linalg.eigsh(np.eye(50), 2, v0=np.ones(50), ncv=60)
    with pytest.raises(ValueError, match="tol must be > 0"):
        linalg.eigsh(a, 2, v0=np.ones(5), tol=-1.0)
    with pytest.raises(ValueError, match="1-D"):
        linalg.eigsh(lambda x: x, 2, v0=np.ones((2, 5)))
