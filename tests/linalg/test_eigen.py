import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mlmath_jax import linalg
from tests.conftest import X64, assert_close, float_dtypes, random_spd, tol


def _sym(rng, shape, dtype=np.float64):
    g = rng.standard_normal(shape)
    return ((g + np.swapaxes(g, -1, -2)) / 2).astype(dtype)


def _with_spectrum(rng, w, batch=()):
    n = len(w)
    q, _ = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    return (q * np.asarray(w)) @ np.swapaxes(q, -1, -2)


def _check_eigh(a64, w, v, dtype):
    w = np.asarray(w, np.float64)
    v = np.asarray(v, np.float64)
    n = a64.shape[-1]
    scale = max(np.abs(a64).max(), 1e-300)
    eps_scale = 50 * max(n, 4)
    # Eigenvalues ascending and equal to NumPy's.
    assert np.all(np.diff(w, axis=-1) >= 0), "eigenvalues not ascending"
    assert_close(w, np.linalg.eigvalsh(a64), rtol=tol(dtype, eps_scale), atol=0, name="eigvals")
    # Orthonormal eigenvectors and A V = V diag(w).
    eye = np.broadcast_to(np.eye(n), v.shape)
    assert_close(np.swapaxes(v, -1, -2) @ v, eye, rtol=tol(dtype, eps_scale), name="VᵀV")
    assert_close(
        a64 @ v / scale,
        v * w[..., None, :] / scale,
        rtol=tol(dtype, eps_scale),
        atol=tol(dtype, eps_scale),
        name="AV - VΛ",
    )


@pytest.mark.parametrize(
    ("n", "batch"),
    [(1, (2,)), (2, ()), (2, (3,)), (3, (2, 2)), (4, ()), (5, (3,)), (8, (2, 2)), (17, ())],
)
def test_eigh_matches_numpy(rng, n, batch):
    for dtype in float_dtypes():
        a = _sym(rng, (*batch, n, n), dtype)
        w, v = linalg.eigh(a)
        assert w.dtype == dtype and v.dtype == dtype
        assert w.shape == (*batch, n) and v.shape == (*batch, n, n)
        _check_eigh(a.astype(np.float64), w, v, dtype)
        assert_close(linalg.eigvalsh(a), w, rtol=0, atol=0, name="eigvalsh")


@pytest.mark.parametrize("n", [2, 3, 4, 5, 9])
def test_eigh_repeated_and_clustered(rng, n):
    spectra = {
        "identity": np.ones(n),
        "double": np.r_[np.full(2, -1.5), np.linspace(1, 2, n - 2)],
        "triple_cluster": np.r_[1 + 1e-7 * np.arange(min(3, n)), np.full(n - min(3, n), 4.0)],
        "zero": np.zeros(n),
        "graded": np.logspace(0, -7, n),
        "rank_one": np.r_[np.zeros(n - 1), 5.0],
    }
    for name, w_true in spectra.items():
        a64 = _with_spectrum(rng, w_true, batch=(6,))
        a64 = (a64 + np.swapaxes(a64, -1, -2)) / 2
        for dtype in float_dtypes():
            a = a64.astype(dtype)
            w, v = linalg.eigh(a)
            try:
                _check_eigh(a.astype(np.float64), w, v, dtype)
            except AssertionError as exc:
                raise AssertionError(f"spectrum {name}: {exc}") from exc


def test_eigh_symmetrises_and_jit_vmap(rng):
    a = rng.standard_normal((5, 4, 4)).astype(np.float32)
    sym = (a + np.swapaxes(a, -1, -2)) / 2
    w, v = jax.jit(linalg.eigh)(a)
    assert_close(w, np.linalg.eigvalsh(sym.astype(np.float64)), rtol=1e-5, name="jit")
    wv = jax.vmap(linalg.eigvalsh)(a)
    assert_close(wv, w, rtol=1e-6, name="vmap")


def test_eigh_integer_input_is_float():
    w, v = linalg.eigh(jnp.array([[2, 1], [1, 2]]))
    assert w.dtype == jnp.result_type(float)
    assert_close(w, [1.0, 3.0], rtol=1e-6)


def test_eigh_complex_hermitian(rng):
    g = rng.standard_normal((6, 6)) + 1j * rng.standard_normal((6, 6))
    h = ((g + g.conj().T) / 2).astype(np.complex64)
    w, v = linalg.eigh(h)
    assert_close(w, np.linalg.eigvalsh(h.astype(np.complex128)), rtol=1e-5)
    assert_close(h @ np.asarray(v), np.asarray(v) * np.asarray(w), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad", [np.ones((3, 4)), np.ones(3), np.ones((2, 3, 2))])
def test_eigh_bad_input(bad):
    with pytest.raises(ValueError, match="a must be"):
        linalg.eigh(bad)
    with pytest.raises(ValueError, match="a must be"):
        linalg.eigvalsh(bad)


def test_eigh_rejects_non_numeric():
    with pytest.raises(TypeError, match="a: expected"):
        linalg.eigh(np.array([["a", "b"], ["c", "d"]]))


# ----- gradients ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 7])
def test_eigh_grads_distinct(rng, n):
    a = jnp.asarray(_sym(rng, (n, n), np.float32))
    b = jnp.asarray(rng.standard_normal(n).astype(np.float32))

    def f(a):
        # Invariant to eigenvector signs: Σ_i sin(λ_i) (v_iᵀ b)²
        w, v = linalg.eigh(a)
        return jnp.sum(jnp.sin(w) * (v.T @ b) ** 2)

    check_grads(linalg.eigvalsh, (a,), order=1, modes=("fwd", "rev"), atol=5e-2, rtol=5e-2)
    check_grads(f, (a,), order=1, modes=("fwd", "rev"), atol=5e-2, rtol=5e-2)


@pytest.mark.x64
@pytest.mark.parametrize("n", [3, 7])
def test_eigh_grads_distinct_x64(rng, n):
    a = jnp.asarray(_sym(rng, (n, n)))
    b = jnp.asarray(rng.standard_normal(n))

    def f(a):
        w, v = linalg.eigh(a)
        return jnp.sum(jnp.sin(w) * (v.T @ b) ** 2)

    check_grads(linalg.eigvalsh, (a,), order=2, modes=("fwd", "rev"))
    check_grads(f, (a,), order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("n", [3, 6])
def test_eigh_grad_repeated_eigenvalues_finite(rng, n):
    # Spectrum {1, 1, 3, 4, ...}: Σ λ_i² = ||A||_F², so the gradient is 2A exactly,
    # and the projector onto the double eigenspace is differentiable.
    a = _with_spectrum(rng, np.r_[1.0, 1.0, np.arange(3.0, n + 1.0)])
    a = ((a + a.T) / 2).astype(np.float32)
    g = jax.grad(lambda a: jnp.sum(linalg.eigvalsh(a) ** 2))(jnp.asarray(a))
    assert_close(g, 2 * a, rtol=1e-4, name="grad Σλ²")
    g_identity = jax.grad(lambda a: jnp.sum(linalg.eigvalsh(a) ** 3))(jnp.eye(n))
    assert_close(g_identity, 3 * np.eye(n), rtol=1e-5, name="grad at identity")

    def projector(a):
        _, v = linalg.eigh(a)
        return v[:, :2] @ v[:, :2].T

    da = _sym(rng, (n, n)).astype(np.float32)
    _, jvp = jax.jvp(projector, (jnp.asarray(a),), (jnp.asarray(da),))
    assert np.all(np.isfinite(jvp))
    h = 1e-3
    fd = (projector(a + h * da) - projector(a - h * da)) / (2 * h)
    assert_close(jvp, fd, rtol=2e-2, atol=2e-3, name="dP")
    grad_p = jax.grad(lambda a: jnp.sum(projector(a) * da))(jnp.asarray(a))
    assert np.all(np.isfinite(grad_p))


@pytest.mark.x64
def test_eigh_projector_derivative_repeated_x64(rng):
    a = _with_spectrum(rng, [-2.0, 1.0, 1.0, 1.0, 5.0])
    a = (a + a.T) / 2
    da = _sym(rng, (5, 5))

    def projector(a):
        _, v = linalg.eigh(a)
        return v[:, 1:4] @ v[:, 1:4].T

    _, jvp = jax.jvp(projector, (jnp.asarray(a),), (jnp.asarray(da),))
    h = 1e-5
    fd = (projector(a + h * da) - projector(a - h * da)) / (2 * h)
    assert_close(jvp, fd, rtol=1e-7, atol=1e-8, name="dP")
    check_grads(
        lambda a: jnp.sum(projector(a) * da), (jnp.asarray(a),), order=1, modes=("fwd", "rev")
    )


def test_eigh_grad_small_batched_path(rng):
    a = _sym(rng, (4, 3, 3), np.float32)
    g = jax.grad(lambda a: jnp.sum(linalg.eigvalsh(a)[..., -1]))(jnp.asarray(a))
    _, v = np.linalg.eigh(a.astype(np.float64))
    top = v[..., :, -1]
    assert_close(g, top[..., :, None] * top[..., None, :], rtol=1e-4, name="dλ_max/dA")


# ----- eig, eigvals, charpoly -------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 5, 8])
@pytest.mark.parametrize("batch", [(), (3,)])
def test_eig_complex_eigenvalues(rng, n, batch):
    for dtype in float_dtypes():
        a = rng.standard_normal((*batch, n, n)).astype(dtype)
        w, v = linalg.eig(a)
        cdtype = np.result_type(dtype, np.complex64)
        assert w.dtype == cdtype and v.dtype == cdtype
        ref = np.linalg.eigvals(a.astype(np.float64))
        assert np.any(np.abs(ref.imag) > 1e-3), "test wants complex eigenvalues"
        assert_close(
            np.sort_complex(np.asarray(w)),
            np.sort_complex(ref),
            rtol=tol(dtype, 100),
            name="eigenvalues",
        )
        a64 = a.astype(np.complex128)
        v = np.asarray(v, np.complex128)
        assert_close(
            a64 @ v,
            v * np.asarray(w)[..., None, :],
            rtol=tol(dtype, 100),
            atol=tol(dtype, 100),
            name="AV - VΛ",
        )
        assert_close(np.linalg.norm(v, axis=-2), np.ones((*batch, n)), rtol=tol(dtype, 10))
        assert_close(linalg.eigvals(a), w, rtol=tol(dtype, 10), name="eigvals")


def test_eig_bad_input():
    with pytest.raises(ValueError, match="a must be square"):
        linalg.eig(np.ones((2, 3)))
    with pytest.raises(ValueError, match="a must be"):
        linalg.eigvals(np.ones(4))


@pytest.mark.parametrize("n", [1, 3, 6])
def test_charpoly_matches_numpy_poly(rng, n):
    for dtype in float_dtypes():
        a = rng.standard_normal((n, n)).astype(dtype)
        c = linalg.charpoly(a)
        assert c.dtype == dtype and c.shape == (n + 1,)
        assert_close(c, np.poly(a.astype(np.float64)), rtol=tol(dtype, 200), name="coeffs")
        roots = np.roots(np.asarray(c, np.float64))
        assert_close(
            np.sort_complex(roots),
            np.sort_complex(np.linalg.eigvals(a)),
            rtol=tol(dtype, 1000),
            name="roots",
        )


def test_charpoly_batch_and_known():
    a = np.stack([np.diag([1.0, 2.0, 3.0]), np.eye(3)]).astype(np.float32)
    c = linalg.charpoly(a)
    assert_close(c, [[1, -6, 11, -6], [1, -3, 3, -1]], rtol=1e-6)


def test_charpoly_grad_at_repeated_eigenvalues():
    # d/dA det(λI - A) at A = I: c = (1, -3, 3, -1); dc_1 = -tr dA, dc_2 = 2 tr dA, ...
    g1 = jax.grad(lambda a: linalg.charpoly(a)[1])(jnp.eye(3))
    g3 = jax.grad(lambda a: linalg.charpoly(a)[3])(jnp.eye(3))  # −det(A), gradient −adj(A)ᵀ
    assert_close(g1, -np.eye(3), rtol=1e-6)
    assert_close(g3, -np.eye(3), rtol=1e-6)


@pytest.mark.x64
def test_charpoly_grads_x64(rng):
    a = jnp.asarray(rng.standard_normal((4, 4)))
    check_grads(linalg.charpoly, (a,), order=1, modes=("fwd", "rev"))
    check_grads(linalg.charpoly, (jnp.eye(3) * 2.0,), order=1, modes=("fwd", "rev"))


# ----- is_psd ---------------------------------------------------------------------------


def test_is_psd(rng):
    spd = random_spd(rng, (4, 4), cond=100.0).astype(np.float32)
    low_rank = rng.standard_normal((5, 2))
    psd_singular = (low_rank @ low_rank.T).astype(np.float32)
    indefinite = np.diag([1.0, -1e-3, 2.0]).astype(np.float32)
    nonsym = np.array([[1.0, 0.5], [0.0, 1.0]], np.float32)
    assert bool(linalg.is_psd(spd))
    assert bool(linalg.is_psd(psd_singular))
    assert not bool(linalg.is_psd(indefinite))
    assert not bool(linalg.is_psd(nonsym))
    assert bool(linalg.is_psd(indefinite, rtol=1e-2))
    assert not bool(linalg.is_psd(np.full((2, 2), np.nan)))
    batch = linalg.is_psd(np.stack([spd[:3, :3], indefinite]))
    assert batch.shape == (2,) and batch.tolist() == [True, False]
    assert jax.jit(linalg.is_psd)(spd)
    assert not jax.jit(lambda a: linalg.is_psd(a, rtol=1e-6))(indefinite)
    with pytest.raises(ValueError, match="rtol must be >= 0"):
        linalg.is_psd(spd, rtol=-1.0)
    with pytest.raises(ValueError, match="a must be square"):
        linalg.is_psd(np.ones((2, 3)))


# ----- power iteration ---------------------------------------------------------------------


def test_power_iteration_matches_numpy(rng):
    a = _with_spectrum(rng, [5.0, 2.0, -1.0, 0.5, 0.1, -3.0]).astype(np.float32)
    lam, v, converged, steps = linalg.power_iteration(a, v0=np.ones(6, np.float32))
    w, vecs = np.linalg.eigh(a.astype(np.float64))
    assert_close(lam, 5.0, rtol=1e-5)
    ref = vecs[:, -1] * np.sign(vecs[np.argmax(np.abs(vecs[:, -1])), -1])
    assert_close(v, ref, rtol=1e-3, name="eigenvector")
    assert_close(np.linalg.norm(v), 1.0, rtol=1e-6)
    assert bool(converged) and 1 < int(steps) < 1000 and steps.dtype == np.int32


def test_power_iteration_default_start_is_deterministic(rng):
    a = jnp.asarray(_with_spectrum(rng, [5.0, 2.0, -1.0, 0.5]).astype(np.float32))
    first = linalg.power_iteration(a)
    second = linalg.power_iteration(a)
    assert bool(first.converged)
    assert_close(first.eigenvalue, 5.0, rtol=1e-5)
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    # The documented default: jax.random.normal(jax.random.key(0), (n,)).
    explicit = linalg.power_iteration(a, v0=jax.random.normal(jax.random.key(0), (4,)))
    np.testing.assert_array_equal(np.asarray(explicit.eigenvector), np.asarray(first.eigenvector))
    # A matvec without v0 needs its size.
    by_n = linalg.power_iteration(lambda x, a: a @ x, (a,), n=4)
    assert_close(by_n.eigenvalue, first.eigenvalue, rtol=1e-6)


def test_power_iteration_negative_dominant_and_matvec(rng):
    a = _with_spectrum(rng, [-4.0, 1.0, 2.0, 3.0]).astype(np.float32)
    a = jnp.asarray((a + a.T) / 2)
    v0 = jnp.asarray(rng.standard_normal(4).astype(np.float32))
    closure = linalg.power_iteration(lambda x: a @ x, v0=v0)
    assert_close(closure.eigenvalue, -4.0, rtol=1e-5)
    assert_close(
        a @ closure.eigenvector, closure.eigenvalue * closure.eigenvector, rtol=1e-4, atol=1e-4
    )
    with_args = linalg.power_iteration(lambda x, m: m @ x, (a,), v0=v0)
    assert_close(with_args.eigenvalue, closure.eigenvalue, rtol=1e-6, name="args vs closure")
    assert_close(with_args.eigenvector, closure.eigenvector, rtol=1e-5, atol=1e-6)
    assert int(with_args.num_steps) == int(closure.num_steps)
    jitted = jax.jit(lambda a, v0: linalg.power_iteration(a, v0=v0))(a, v0)
    assert_close(jitted.eigenvalue, -4.0, rtol=1e-5)


def test_power_iteration_batch_and_nonconvergence():
    a = np.stack([np.diag([3.0, 1.0]), np.diag([1.0, -1.0])]).astype(np.float32)
    lam, v, converged, steps = linalg.power_iteration(a, v0=np.ones(2, np.float32), max_steps=50)
    assert lam.shape == (2,) and v.shape == (2, 2) and converged.shape == steps.shape == (2,)
    assert_close(lam[0], 3.0, rtol=1e-6)
    assert bool(converged[0]) and 0 < int(steps[0]) < 50
    # λ and −λ both dominant: no convergence, reported as NaN and in the flags.
    assert np.isnan(lam[1]) and np.all(np.isnan(v[1]))
    assert not bool(converged[1]) and int(steps[1]) == 50
    one = linalg.power_iteration(np.diag([1.0, 0.99, 0.5]).astype(np.float32), max_steps=1)
    assert not bool(one.converged) and int(one.num_steps) == 1


def test_power_iteration_bad_input():
    with pytest.raises(ValueError, match="v0 must have length"):
        linalg.power_iteration(np.eye(3), v0=np.ones(2))
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        linalg.power_iteration(np.eye(2), v0=np.ones(2), max_steps=0)
    with pytest.raises(ValueError, match="tol must be > 0"):
        linalg.power_iteration(np.eye(2), v0=np.ones(2), tol=0.0)
    with pytest.raises(ValueError, match="a must be square"):
        linalg.power_iteration(np.ones((2, 3)), v0=np.ones(3))
    with pytest.raises(TypeError, match="args must be a tuple"):
        linalg.power_iteration(lambda x, m: m @ x, jnp.eye(2), v0=np.ones(2))
    with pytest.raises(ValueError, match="needs v0 .* or n"):
        linalg.power_iteration(lambda x: x)
    with pytest.raises(ValueError, match="matvec must map"):
        linalg.power_iteration(lambda x: x[:2], v0=np.ones(3))
    with pytest.raises(ValueError, match="args are passed to a matvec"):
        linalg.power_iteration(np.eye(2), (1.0,))


@pytest.mark.x64
def test_eigh_eig_x64(rng):
    assert X64
    a = _sym(rng, (3, 6, 6))
    w, v = linalg.eigh(a)
    assert w.dtype == np.float64
    _check_eigh(a, w, v, np.float64)
    b = rng.standard_normal((7, 7))
    assert_close(
        np.sort_complex(np.asarray(linalg.eigvals(b))),
        np.sort_complex(np.linalg.eigvals(b)),
        rtol=1e-12,
    )
    assert_close(linalg.charpoly(b), np.poly(b), rtol=1e-11)
