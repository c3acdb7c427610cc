import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg as spl

from mlmath_jax import linalg
from mlmath_jax._krylov import lanczos_tridiagonal
from tests.conftest import assert_close


def _sym(rng, n, dtype=np.float64):
    g = rng.standard_normal((n, n))
    return ((g + g.T) / 2).astype(dtype)


# ----- lanczos_tridiagonal (private core, in _krylov.py) ------------------------------


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
    op, args = (a32, ()) if operator == "matrix" else (lambda x, m: m @ x, (a32,))
    w, v, converged, steps = linalg.eigsh(op, k, args, v0=v0.astype(np.float32), which=which)
    assert w.shape == (k,) and v.shape == (n, k) and w.dtype == np.float32
    assert converged.shape == (k,) and bool(np.all(converged))
    assert steps.shape == () and steps.dtype == np.int32 and int(steps) >= 1
    assert_close(w, w_ref, rtol=1e-5, name="eigenvalues")
    # Same eigenvectors up to sign.
    overlap = np.abs(np.sum(np.asarray(v, np.float64) * v_ref, axis=0))
    assert_close(overlap, np.ones(k), rtol=1e-3, name="|<v, v_ref>|")
    assert_close(np.asarray(v).T @ np.asarray(v), np.eye(k), rtol=0, atol=1e-5, name="VᵀV")


def test_eigsh_result_type_is_public(rng):
    result = linalg.eigsh(jnp.diag(jnp.arange(1.0, 7.0)), 2)
    assert isinstance(result, linalg.EigshResult)
    assert result._fields == ("eigenvalues", "eigenvectors", "converged", "num_steps")
    assert int(result.num_steps) == 1  # small: one dense eigh


def test_eigsh_matvec_and_jit(rng):
    n = 400
    # A graph Laplacian-like PSD operator given only as a function.
    x = rng.standard_normal((n, 30)).astype(np.float32)
    xj = jnp.asarray(x)

    def matvec(v, x):
        return x @ (x.T @ v)

    w_ref = np.linalg.eigvalsh((x @ x.T).astype(np.float64))[-5:]
    jitted = jax.jit(lambda x: linalg.eigsh(matvec, 5, (x,), n=n, which="LA"))
    assert_close(jitted(xj).eigenvalues, w_ref, rtol=1e-5, name="jit")
    # Below the 30 non-zero eigenvalues lies the null space: SA finds a zero.
    w_sa, v_sa, converged, _ = linalg.eigsh(matvec, 1, (xj,), v0=jnp.ones(n), which="SA")
    assert bool(converged[0])
    assert_close(w_sa, np.zeros(1), rtol=0, atol=1e-5 * w_ref[-1])
    assert_close(x.T @ np.asarray(v_sa), np.zeros((30, 1)), rtol=0, atol=1e-3)


def test_eigsh_args_equal_closure(rng):
    a = jnp.asarray(_sym(rng, 300, np.float32))
    v0 = jnp.asarray(rng.standard_normal(300).astype(np.float32))
    with_args = linalg.eigsh(lambda v, m: m @ v, 3, (a,), v0=v0)
    closure = linalg.eigsh(lambda v: a @ v, 3, v0=v0)
    for x, y in zip(with_args, closure, strict=True):
        assert_close(x, y, rtol=1e-5, atol=1e-6)


def test_eigsh_default_start_is_deterministic(rng):
    a = jnp.asarray(_sym(rng, 300, np.float32))
    first, second = linalg.eigsh(a, 3), linalg.eigsh(a, 3)
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    # The documented default: jax.random.normal(jax.random.key(0), (n,)).
    explicit = linalg.eigsh(a, 3, v0=jax.random.normal(jax.random.key(0), (300,)))
    np.testing.assert_array_equal(np.asarray(explicit.eigenvectors), np.asarray(first[1]))
    matvec = linalg.eigsh(lambda v, m: m @ v, 3, (a,), n=300)
    assert_close(matvec.eigenvalues, first.eigenvalues, rtol=1e-5)
    again = linalg.eigsh(lambda v, m: m @ v, 3, (a,), n=300)
    np.testing.assert_array_equal(np.asarray(again[1]), np.asarray(matvec[1]))


def test_eigsh_clustered_top_eigenvalues(rng):
    # Top eigenvalues 10, 10, 10 (exact triple) and 9.999: single-vector Lanczos (the
    # matvec path) still finds all of them thanks to restarts with fresh directions.
    n = 200
    w_true = np.r_[np.linspace(-1, 1, n - 4), 9.999, 10.0, 10.0, 10.0]
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = jnp.asarray((q * w_true) @ q.T, jnp.float32)
    w, v, _, _ = linalg.eigsh(lambda x: a @ x, 4, v0=jnp.ones(n), ncv=20)
    assert_close(w, w_true[-4:], rtol=1e-5)
    assert_close(np.asarray(v).T @ np.asarray(v), np.eye(4), rtol=0, atol=1e-5)


def test_eigsh_batch(rng):
    a = np.stack([_sym(rng, 100) for _ in range(3)]).astype(np.float32)
    v0 = rng.standard_normal((3, 100)).astype(np.float32)
    w, v, converged, steps = linalg.eigsh(a, 3, v0=v0, which="SA", ncv=12)
    assert w.shape == (3, 3) and v.shape == (3, 100, 3)
    assert converged.shape == (3, 3) and steps.shape == (3,)
    assert bool(np.all(converged)) and np.all(np.asarray(steps) >= 1)
    for i in range(3):
        assert_close(w[i], np.linalg.eigvalsh(a[i].astype(np.float64))[:3], rtol=1e-5)
    shared = linalg.eigsh(a, 3, which="SA", ncv=12)  # v0=None: one start for the batch
    assert_close(shared.eigenvalues, w, rtol=1e-5)


@pytest.mark.parametrize("operator", ["matrix", "matvec"])
def test_eigsh_not_converged_is_nan(rng, operator):
    a = jnp.asarray(_sym(rng, 300, np.float32))
    op, args = (a, ()) if operator == "matrix" else (lambda v, m: m @ v, (a,))
    w, v, converged, steps = linalg.eigsh(op, 3, args, v0=jnp.ones(300), max_steps=1, ncv=8)
    assert int(steps) == 1
    assert not bool(np.all(converged))
    assert np.array_equal(np.isnan(np.asarray(w)), ~np.asarray(converged))
    assert np.all(np.isnan(np.asarray(v)[:, ~np.asarray(converged)]))


@pytest.mark.x64
@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
def test_eigsh_x64(rng, which):
    a = _sym(rng, 250)
    w_ref, _ = _reference(a, 3, which)
    w, _, converged, _ = linalg.eigsh(a, 3, v0=np.ones(250), which=which)
    assert w.dtype == np.float64 and bool(np.all(converged))
    assert_close(w, w_ref, rtol=1e-10)
    w_mv = linalg.eigsh(lambda v, m: m @ v, 3, (jnp.asarray(a),), n=250, which=which)
    assert w_mv.eigenvalues.dtype == np.float64
    assert_close(w_mv.eigenvalues, w_ref, rtol=1e-10)


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
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        linalg.eigsh(a, 2, max_steps=0)
    with pytest.raises(ValueError, match="1-D"):
        linalg.eigsh(lambda x: x, 2, v0=np.ones((2, 5)))
    with pytest.raises(ValueError, match="needs v0 .* or n"):
        linalg.eigsh(lambda x: x, 2)
    with pytest.raises(ValueError, match="v0 must have length n=6"):
        linalg.eigsh(lambda x: x, 2, v0=np.ones(5), n=6)
    with pytest.raises(ValueError, match="matvec must map"):
        linalg.eigsh(lambda x: jnp.sum(x), 2, n=5)
    with pytest.raises(TypeError, match="args must be a tuple"):
        linalg.eigsh(lambda x, m: m @ x, 2, jnp.eye(5), n=5)
    with pytest.raises(ValueError, match="args are passed to a matvec"):
        linalg.eigsh(a, 2, (a,))
    with pytest.raises(ValueError, match="n=4 does not match"):
        linalg.eigsh(a, 2, n=4)


def test_krylov_schur_pieces_alone(rng):
    # Single-vector pieces: one extend over the whole space and a Rayleigh–Ritz step are
    # exact; the restart keeps the Ritz vectors and the last basis vector.
    from mlmath_jax.linalg import _lanczos

    n, p = 12, 3
    a = jnp.asarray(_sym(rng, n, np.float32))
    basis, image = _lanczos._ks_init(jnp.ones(n), n)
    basis, image = _lanczos._ks_extend(lambda v: a @ v, n, 0, 0, basis, image)
    assert_close(basis[:n] @ basis[:n].T, np.eye(n), rtol=0, atol=1e-5, name="VVᵀ")
    select = lambda t: jnp.argsort(t)  # noqa: E731  (smallest first)
    theta, x, ax, ok = _lanczos._ks_rayleigh_ritz(select, n, p, 1e-4, basis, image)
    assert_close(theta, np.linalg.eigvalsh(np.asarray(a, np.float64))[:p], rtol=1e-5)
    assert bool(np.all(ok))
    kept, image2 = _lanczos._ks_restart(n, p, basis, x, ax)
    assert_close(kept[:p], x, rtol=0, atol=0)
    assert_close(kept[p], basis[n], rtol=0, atol=0)
    assert_close(image2[:p], ax, rtol=0, atol=0)
