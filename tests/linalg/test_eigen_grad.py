"""Gradients through the eigensolvers: eigsh, hessian_eigsh, power_iteration, eig, eigh.

eigsh, hessian_eigsh and power_iteration differentiate by implicit formulas (a custom VJP;
the Krylov loop is never differentiated); references are ``jnp.linalg.eigh`` of the dense
operator, differentiated by JAX, and float64 central differences.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import calculus, linalg
from tests.conftest import assert_close, compiles_on_repeat


def _spectrum_matrix(rng, n, top, dtype=np.float64, *, low=(0.0, 1.0)):
    """Random symmetric ``[n, n]`` with eigenvalues ``linspace(*low)`` and ``top`` last."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.linspace(*low, n)
    w[n - len(top) :] = top
    return ((q * w) @ q.T).astype(dtype)


def _matvec(v, a):
    return a @ v


def _top_ref(a, k):
    w, v = jnp.linalg.eigh(a)
    return w[-k:], v[:, -k:]


def _sym(g):
    return 0.5 * (g + g.T)


def _vector_loss(c):
    """A sign-invariant loss of eigenvalues and eigenvectors."""

    def loss(w, v):
        return jnp.sum(w**2) + jnp.sum(jnp.sum(c * v, axis=0) ** 2)

    return loss


def _central_difference(f, x, dx, h=1e-6):
    return (f(x + h * dx) - f(x - h * dx)) / (2 * h)


# ----- eigsh --------------------------------------------------------------------------


@pytest.mark.x64
@pytest.mark.parametrize("n", [40, 150])  # dense path, block Krylov–Schur path
def test_eigsh_matrix_grad_matches_eigh(rng, n):
    k = 3
    a = jnp.asarray(_spectrum_matrix(rng, n, [2.0, 2.5, 3.0]))
    loss = _vector_loss(jnp.asarray(rng.standard_normal((n, k))))
    g = jax.grad(lambda a: loss(*linalg.eigsh(a, k, tol=1e-13)[:2]))(a)
    want = jax.grad(lambda a: loss(*_top_ref(a, k)))(a)
    assert_close(g, want, rtol=1e-8, name="grad")
    g_vals = jax.grad(lambda a: jnp.sum(linalg.eigsh(a, k, tol=1e-13).eigenvalues))(a)
    _, v = _top_ref(a, k)
    assert_close(g_vals, v @ v.T, rtol=1e-9, name="grad of the top-k sum")


@pytest.mark.x64
@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
def test_eigsh_matvec_grad_wrt_args_matches_eigh(rng, which):
    n, k = 60, 2  # n > 2 ncv: the Krylov–Schur path
    a = jnp.asarray(_spectrum_matrix(rng, n, [2.5, 3.0], low=(-1.9, 1.0)))
    if which == "SA":
        a = -a
    loss = _vector_loss(jnp.asarray(rng.standard_normal((n, k))))

    def ours(a):
        return loss(*linalg.eigsh(_matvec, k, (a,), n=n, which=which, tol=1e-13)[:2])

    def ref(a):
        w, v = jnp.linalg.eigh(a)
        idx = {"LA": jnp.arange(n - k, n), "SA": jnp.arange(k), "LM": jnp.arange(n - k, n)}
        return loss(w[idx[which]], v[:, idx[which]])

    assert_close(_sym(jax.grad(ours)(a)), jax.grad(ref)(a), rtol=1e-8, name=which)


@pytest.mark.x64
def test_eigsh_grad_matches_central_differences(rng):
    # A matvec with two args: diag(d) + u uᵀ; the loss uses eigenvalues and eigenvectors.
    n, k = 50, 2
    d = jnp.asarray(np.linspace(0.0, 1.0, n))
    u = jnp.asarray(rng.standard_normal(n))
    c = jnp.asarray(rng.standard_normal((n, k)))

    def matvec(v, d, u):
        return d * v + u * jnp.dot(u, v)

    def loss(d, u):
        w, v, _, _ = linalg.eigsh(matvec, k, (d, u), n=n, tol=1e-13)
        return jnp.sum(w) + jnp.sum(jnp.sum(c * v, axis=0) ** 2)

    gd, gu = jax.grad(loss, argnums=(0, 1))(d, u)
    dd, du = jnp.asarray(rng.standard_normal(n)), jnp.asarray(rng.standard_normal(n))
    fd_d = _central_difference(lambda t: loss(t, u), d, dd)
    fd_u = _central_difference(lambda t: loss(d, t), u, du)
    assert_close(jnp.dot(gd, dd), fd_d, rtol=1e-6, name="d")
    assert_close(jnp.dot(gu, du), fd_u, rtol=1e-6, name="u")


@pytest.mark.x64
def test_eigsh_nearly_degenerate_pair(rng):
    # Top pair 3 and 3 + 1e-7: the individual eigenvectors are ill-conditioned, but the
    # sum of the pair and its projector are smooth; their gradients are exact.
    n, k = 40, 2
    a = jnp.asarray(_spectrum_matrix(rng, n, [3.0, 3.0 + 1e-7]))
    g = jax.grad(lambda a: jnp.sum(linalg.eigsh(a, k, tol=1e-13).eigenvalues))(a)
    _, v = _top_ref(a, k)
    assert_close(g, v @ v.T, rtol=1e-8, name="grad of λ1 + λ2")
    b = jnp.asarray(rng.standard_normal((n, n)))

    def projector_loss(vecs):
        return jnp.sum((vecs @ vecs.T) * b)

    got = jax.grad(lambda a: projector_loss(linalg.eigsh(a, k, tol=1e-13).eigenvectors))(a)
    want = jax.grad(lambda a: projector_loss(_top_ref(a, k)[1]))(a)
    assert_close(_sym(got), want, rtol=1e-6, name="grad of the projector")


@pytest.mark.x64
def test_hessian_eigsh_grad_wrt_x_and_args(rng):
    X = jnp.asarray(rng.standard_normal((50, 8)))
    y = jnp.asarray(rng.standard_normal(50))
    x0 = jnp.asarray(rng.standard_normal(8))

    def fun(w, X, y):
        return 0.5 * jnp.mean((jnp.tanh(X @ w) - y) ** 2)

    def ours(x0, X, y):
        return jnp.sum(calculus.hessian_eigsh(fun, x0, 2, (X, y), tol=1e-12).eigenvalues)

    def ref(x0, X, y):
        return jnp.sum(jnp.linalg.eigvalsh(jax.hessian(fun)(x0, X, y))[-2:])

    got = jax.grad(ours, argnums=(0, 1, 2))(x0, X, y)
    want = jax.grad(ref, argnums=(0, 1, 2))(x0, X, y)
    for name, g, w in zip(("x", "X", "y"), got, want, strict=True):
        assert_close(g, w, rtol=1e-9, name=name)


def test_eigsh_grad_vmap_jit_and_compile_once(rng):
    n, k = 20, 2
    a = np.stack([_spectrum_matrix(rng, n, [2.0, 3.0], np.float32) for _ in range(3)])
    grad = jax.jit(jax.vmap(jax.grad(lambda a: jnp.sum(linalg.eigsh(a, k).eigenvalues))))
    got = grad(jnp.asarray(a))
    want = jax.vmap(jax.grad(lambda a: jnp.sum(jnp.linalg.eigvalsh(a)[-k:])))(jnp.asarray(a))
    assert_close(got, want, rtol=1e-4, name="vmap grad")
    assert compiles_on_repeat(grad, (jnp.asarray(a),), (jnp.asarray(a[::-1]),)) == 0


def test_eigsh_grad_float32_smoke(rng):
    n, k = 60, 2
    a = jnp.asarray(_spectrum_matrix(rng, n, [2.0, 3.0], np.float32))
    loss = _vector_loss(jnp.asarray(rng.standard_normal((n, k)), jnp.float32))
    got = jax.grad(lambda a: loss(*linalg.eigsh(_matvec, k, (a,), n=n)[:2]))(a)
    want = jax.grad(lambda a: loss(*_top_ref(a, k)))(a)
    assert got.dtype == jnp.float32
    assert_close(_sym(got), want, rtol=2e-3, name="float32 grad")


def test_eigsh_unconverged_pair_gives_nan_gradient(rng):
    a = jnp.asarray(_spectrum_matrix(rng, 60, [2.0, 2.0 + 1e-3], np.float32))
    # One restart with a tiny tolerance: not converged, NaN eigenvalues and gradients.
    result_grad = jax.grad(
        lambda a: jnp.sum(linalg.eigsh(_matvec, 2, (a,), n=60, max_steps=1, tol=1e-7)[0])
    )(a)
    assert np.all(np.isnan(result_grad))


# ----- power_iteration -----------------------------------------------------------------


@pytest.mark.x64
@pytest.mark.parametrize("dominant", [3.0, -3.0])
def test_power_iteration_grad_matches_eigh(rng, dominant):
    n = 30
    a = jnp.asarray(_spectrum_matrix(rng, n, [dominant], low=(-1.0, 1.0)))
    c = jnp.asarray(rng.standard_normal(n))
    index = -1 if dominant > 0 else 0

    def ref(a):
        w, v = jnp.linalg.eigh(a)
        return w[index] + jnp.dot(c, v[:, index]) ** 2

    want = jax.grad(ref)(a)
    for name, call in {
        "matrix": lambda a: linalg.power_iteration(a, tol=1e-13),
        "matvec": lambda a: linalg.power_iteration(_matvec, (a,), n=n, tol=1e-13),
    }.items():
        got = jax.grad(lambda a, call=call: ref_loss(call(a), c))(a)
        assert_close(_sym(got), want, rtol=1e-9, name=name)


def ref_loss(result, c):
    return result.eigenvalue + jnp.dot(c, result.eigenvector) ** 2


def test_power_iteration_grad_of_nonsymmetric_matrix_is_nan():
    a = jnp.array([[3.0, 1.0], [0.0, 1.0]])
    g = jax.grad(lambda a: linalg.power_iteration(a).eigenvalue)(a)
    assert np.all(np.isnan(g))


# ----- eig -----------------------------------------------------------------------------


@pytest.mark.x64
def test_eig_eigenvalue_grad_matches_central_differences(rng):
    a = jnp.asarray(rng.standard_normal((5, 5)))
    c = jnp.asarray(rng.standard_normal(5))

    def loss(a):  # order-independent and smooth for simple eigenvalues
        w = linalg.eig(a).eigenvalues
        return jnp.sum(jnp.real(w) ** 3) + jnp.sum(jnp.imag(w) ** 2) + jnp.dot(c, a[0])

    da = jnp.asarray(rng.standard_normal((5, 5)))
    g = jax.grad(loss)(a)
    assert_close(jnp.sum(g * da), _central_difference(loss, a, da), rtol=1e-7, name="rev")
    fwd = jax.jvp(loss, (a,), (da,))[1]
    assert_close(fwd, _central_difference(loss, a, da), rtol=1e-7, name="fwd")
    ref = jax.grad(lambda a: jnp.sum(jnp.real(jnp.linalg.eigvals(a)) ** 3))(a)
    ours = jax.grad(lambda a: jnp.sum(jnp.real(linalg.eig(a).eigenvalues) ** 3))(a)
    assert_close(ours, ref, rtol=1e-10, name="vs jnp.linalg.eigvals")


def test_eig_eigenvector_grad_is_nan():
    a = jnp.array([[2.0, 1.0], [0.5, -1.0]])
    g = jax.grad(lambda a: jnp.sum(jnp.abs(linalg.eig(a).eigenvectors)))(a)
    assert np.all(np.isnan(g))
    g_w = jax.grad(lambda a: jnp.sum(jnp.real(linalg.eig(a).eigenvalues)))(a)
    assert_close(g_w, jnp.eye(2), rtol=1e-5, name="grad of the trace")


# ----- eigh near and at repeated eigenvalues (issue 16) ---------------------------------


def _expm_loss(eigh, b):
    def loss(a):
        w, v = eigh(a)
        return jnp.sum((v * jnp.exp(w)) @ v.T * b)

    return loss


def _expm_truth(a, b, da):
    return _central_difference(
        lambda t: np.sum(jax.scipy.linalg.expm(jnp.asarray(t)) * b), a, da, h=1e-6
    )


@pytest.mark.x64
@pytest.mark.parametrize("gap", [2e-5, 1e-3])
def test_eigh_matrix_function_grad_at_near_degenerate_pair(gap):
    # Issue 16: forward mode was 25-60x off at a gap of 2e-5 (a fused multiply-add made the
    # inverse-gap matrix non-antisymmetric, so the large terms did not cancel).
    errors = {}
    for seed in range(5):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        a = (q * np.array([1.0, 1.0 + gap, 2.0])) @ q.T
        b = rng.standard_normal((3, 3))
        b = b + b.T
        da = rng.standard_normal((3, 3))
        da = da + da.T
        truth = _expm_truth(a, b, da)
        assert_close(
            jax.jvp(_expm_loss(linalg.eigh, b), (a,), (da,))[1], truth, rtol=1e-7, name="f64"
        )
        a32, da32 = jnp.asarray(a, jnp.float32), jnp.asarray(da, jnp.float32)
        for name, eigh in {"ours": linalg.eigh, "jnp": jnp.linalg.eigh}.items():
            fwd = jax.jvp(_expm_loss(eigh, b), (a32,), (da32,))[1]
            rev = jnp.sum(jax.grad(_expm_loss(eigh, b))(a32) * da32)
            errors.setdefault(name, []).append(
                max(abs(float(fwd) - truth), abs(float(rev) - truth)) / abs(truth)
            )
    # float32: no worse than jnp.linalg.eigh's (median over seeds, with slack for rounding).
    assert np.median(errors["ours"]) <= 3 * np.median(errors["jnp"]) + 1e-5, errors


@pytest.mark.x64
def test_eigh_grad_at_repeated_eigenvalues_exact_for_eigenvalues_and_projector():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    a = (q * np.array([1.0, 1.0, 2.0])) @ q.T
    da = rng.standard_normal((3, 3))
    da = da + da.T
    b = rng.standard_normal((3, 3))
    b = b + b.T

    def projector_loss(a):  # the projector onto the eigenvalue-2 eigenvector, and λ²
        w, v = linalg.eigh(a)
        return jnp.sum(jnp.outer(v[:, 2], v[:, 2]) * b) + jnp.sum(w**2)

    def projector_truth(t):
        w, v = np.linalg.eigh(t)
        return np.sum(np.outer(v[:, 2], v[:, 2]) * b) + np.sum(w**2)

    truth = _central_difference(projector_truth, a, da)
    assert_close(jnp.sum(jax.grad(projector_loss)(a) * da), truth, rtol=1e-7, name="rev")
    assert_close(jax.jvp(projector_loss, (a,), (da,))[1], truth, rtol=1e-7, name="fwd")
    # V f(Λ) Vᵀ is *not* exact there (the docstring says so): what is missing is
    # exp(1) times the off-diagonal part of V_Sᵀ dA V_S in the returned basis of the block.
    got = jax.jvp(_expm_loss(linalg.eigh, b), (a,), (da,))[1]
    vs = np.asarray(linalg.eigh(a).eigenvectors)[:, :2]
    missing = np.e * np.sum((vs @ (vs.T @ da @ vs) @ vs.T) * b) - np.e * np.sum(
        (vs @ np.diag(np.diag(vs.T @ da @ vs)) @ vs.T) * b
    )
    assert_close(got + missing, _expm_truth(a, b, da), rtol=1e-6, name="documented gap")
