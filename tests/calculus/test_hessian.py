import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from jax.test_util import check_grads

from mlmath_jax import calculus
from tests.conftest import assert_close, random_spd


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def mlp_loss(p):
    xs = jnp.linspace(-1.0, 1.0, 12).reshape(6, 2)
    h = jnp.tanh(xs @ p["w1"] + p["b1"])
    out = h @ p["w2"]
    return jnp.mean((out[:, 0] - jnp.sin(3 * xs[:, 0])) ** 2)


def _mlp_params(key, dtype=jnp.float32):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "w1": jax.random.normal(k1, (2, 5), dtype),
        "b1": jax.random.normal(k2, (5,), dtype),
        "w2": jax.random.normal(k3, (5, 1), dtype),
    }


def _dense_hvp(f, x, v):
    x_flat, unravel = ravel_pytree(x)
    h = jax.jit(jax.hessian(lambda z: f(unravel(z))))(x_flat)
    return np.asarray(h, np.float64) @ np.asarray(ravel_pytree(v)[0], np.float64)


CASES = [
    ("rosenbrock", rosenbrock, lambda k: jax.random.normal(k, (7,))),
    ("logsumexp", jax.nn.logsumexp, lambda k: jax.random.normal(k, (9,))),
    ("matrix", lambda a: jnp.sum(jnp.tanh(a @ a.T)), lambda k: jax.random.normal(k, (3, 4))),
    ("mlp-pytree", mlp_loss, _mlp_params),
]


@pytest.mark.parametrize(("name", "f", "make"), CASES, ids=[c[0] for c in CASES])
def test_hvp_matches_dense_hessian(name, f, make):
    kx, kv = jax.random.split(jax.random.key(1))
    x, v = make(kx), make(kv)
    out = calculus.hvp(f, x, v)
    assert jax.tree.structure(out) == jax.tree.structure(x)
    assert_close(ravel_pytree(out)[0], _dense_hvp(f, x, v), rtol=1e-4, name=name)


def test_hvp_jit_vmap_and_grad():
    x = jnp.linspace(0.1, 1.0, 6)
    vs = jax.random.normal(jax.random.key(2), (3, 6))
    batched = jax.jit(jax.vmap(lambda v: calculus.hvp(rosenbrock, x, v)))(vs)
    h = np.asarray(jax.jit(jax.hessian(rosenbrock))(x), np.float64)
    assert_close(batched, np.asarray(vs, np.float64) @ h, rtol=1e-5)
    # differentiable in x (third derivatives): d/dx of v·Hv for f = sum(x^4) is 24 x v^2
    v = vs[0]
    g = jax.grad(lambda z: jnp.vdot(v, calculus.hvp(lambda y: jnp.sum(y**4), z, v)))(x)
    assert_close(g, 24 * np.asarray(x) * np.asarray(v) ** 2, rtol=1e-5)


def test_hvp_bad_input():
    x = {"a": jnp.ones(2), "b": jnp.ones(3)}
    with pytest.raises(ValueError, match="x and v must have the same pytree structure"):
        calculus.hvp(lambda p: jnp.sum(p["a"]), x, {"a": jnp.ones(2)})
    with pytest.raises(ValueError, match="x and v must have the same leaf shapes"):
        calculus.hvp(lambda p: jnp.sum(p["a"]), x, {"a": jnp.ones(2), "b": jnp.ones(4)})
    with pytest.raises(TypeError, match="fun must be callable"):
        calculus.hvp("f", jnp.ones(2), jnp.ones(2))
    with pytest.raises(ValueError, match="fun must return a scalar"):
        calculus.hvp(lambda z: z, jnp.ones(2), jnp.ones(2))


def _coupled(a):
    """f(x) = xᵀAx/2 + Σ log cosh x: a Hessian that depends on x and is dense."""
    a = jnp.asarray(a)

    def f(x):
        return 0.5 * x @ a @ x + jnp.sum(jnp.log(jnp.cosh(x)))

    return f


@pytest.mark.parametrize("which", ["LA", "SA"])
def test_hessian_eigsh_matches_eigvalsh(which):
    n = 100  # large enough for eigsh's Krylov path, not its dense fallback
    a = random_spd(np.random.default_rng(0), (n, n), cond=1e3).astype(np.float32) * 10
    f = _coupled(a)
    x = jax.random.normal(jax.random.key(0), (n,))
    vals, vecs, converged, steps = calculus.hessian_eigsh(f, x, 3, v0=jnp.ones(n), which=which)
    assert bool(np.all(converged)) and int(steps) >= 1
    h = np.asarray(jax.jit(jax.hessian(f))(x), np.float64)
    ref = np.linalg.eigvalsh(h)
    expected = ref[-3:] if which == "LA" else ref[:3]
    assert vecs.shape == (n, 3)
    assert_close(vals, expected, rtol=1e-4)
    resid = h @ np.asarray(vecs, np.float64) - np.asarray(vecs, np.float64) * np.asarray(vals)
    assert np.max(np.linalg.norm(resid, axis=0)) < 1e-3 * np.max(np.abs(ref))


def test_hessian_eigsh_pytree_and_v0_forms():
    p = _mlp_params(jax.random.key(3))
    x_flat, unravel = ravel_pytree(p)
    h = np.asarray(jax.jit(jax.hessian(lambda z: mlp_loss(unravel(z))))(x_flat), np.float64)
    ref = np.linalg.eigvalsh(h)[-2:]
    ones = jax.tree.map(jnp.ones_like, p)
    vals_tree = calculus.hessian_eigsh(mlp_loss, p, 2, v0=ones).eigenvalues
    vals_flat, vecs, _, _ = calculus.hessian_eigsh(mlp_loss, p, 2, v0=jnp.ones(x_flat.size))
    assert_close(vals_tree, ref, rtol=1e-4)
    assert_close(vals_flat, ref, rtol=1e-4)
    assert jax.tree.structure(unravel(vecs[:, 0])) == jax.tree.structure(p)
    with pytest.raises(ValueError, match="v0 must be \\[n\\]"):
        calculus.hessian_eigsh(mlp_loss, p, 2, v0=jnp.ones(3))
    with pytest.raises(ValueError, match="k must be <= n"):
        calculus.hessian_eigsh(rosenbrock, jnp.ones(4), 5, v0=jnp.ones(4))


def test_hessian_trace_within_four_standard_errors():
    n = 50
    a = random_spd(np.random.default_rng(1), (n, n), cond=10.0).astype(np.float32)
    a = a + 0.3 * np.ones((n, n), np.float32)  # off-diagonal mass: Hutchinson has variance
    f = _coupled(a)
    x = jax.random.normal(jax.random.key(4), (n,))
    true = float(np.trace(np.asarray(jax.jit(jax.hessian(f))(x), np.float64)))
    est, se = calculus.hessian_trace(f, x, jax.random.key(5), 200)
    assert float(se) > 0
    assert abs(float(est) - true) <= 4 * float(se), (float(est), true, float(se))
    # a diagonal Hessian has zero variance under Rademacher probes
    est, se = jax.jit(lambda x, k: calculus.hessian_trace(lambda z: jnp.sum(z**4), x, k, 4))(
        x, jax.random.key(0)
    )
    assert_close(est, np.sum(12 * np.asarray(x, np.float64) ** 2), rtol=1e-5)
    assert float(se) < 1e-4 * float(est)
    with pytest.raises(ValueError, match="num_samples must be >= 2"):
        calculus.hessian_trace(f, x, jax.random.key(0), 1)


def _quadratic_loss(x, a, b):
    """xᵀAx/2 + Σ log cosh x − bᵀx with the data A, b passed as args."""
    return 0.5 * x @ a @ x + jnp.sum(jnp.log(jnp.cosh(x))) - b @ x


def test_args_equal_closure():
    n = 100
    rng = np.random.default_rng(6)
    a = jnp.asarray(random_spd(rng, (n, n), cond=1e2).astype(np.float32) * 5)
    b = jnp.asarray(rng.standard_normal(n).astype(np.float32))
    x = jnp.asarray(rng.standard_normal(n).astype(np.float32))
    v = jnp.asarray(rng.standard_normal(n).astype(np.float32))
    closure = lambda z: _quadratic_loss(z, a, b)  # noqa: E731
    args = (a, b)
    assert_close(calculus.hvp(_quadratic_loss, x, v, args), calculus.hvp(closure, x, v), rtol=1e-6)
    assert_close(
        calculus.check_grad(_quadratic_loss, x, args, num_directions=4),
        calculus.check_grad(closure, x, num_directions=4),
        rtol=1e-3,
        atol=1e-6,
    )
    got, ref = (
        calculus.hessian_eigsh(_quadratic_loss, x, 2, args),
        calculus.hessian_eigsh(closure, x, 2),
    )
    assert_close(got.eigenvalues, ref.eigenvalues, rtol=1e-5)
    assert bool(np.all(got.converged)) and int(got.num_steps) == int(ref.num_steps)
    key = jax.random.key(2)
    t_args = calculus.hessian_trace(_quadratic_loss, x, key, 6, args)
    t_closure = calculus.hessian_trace(closure, x, key, 6)
    assert isinstance(t_args, calculus.TraceResult)
    assert_close(t_args.estimate, t_closure.estimate, rtol=1e-5)
    assert_close(t_args.standard_error, t_closure.standard_error, rtol=1e-4, atol=1e-5)
    grid = jnp.linspace(0.0, 10.0, 50)
    d_args = calculus.hessian_spectral_density(
        _quadratic_loss, x, key, args, num_probes=2, num_iters=8, grid=grid
    )
    d_closure = calculus.hessian_spectral_density(
        closure, x, key, num_probes=2, num_iters=8, grid=grid
    )
    assert_close(d_args, d_closure, rtol=1e-4, atol=1e-6)


def test_hessian_eigsh_default_start_and_convergence_flags():
    n = 100
    a = random_spd(np.random.default_rng(7), (n, n), cond=1e3).astype(np.float32) * 10
    f = _coupled(a)
    x = jax.random.normal(jax.random.key(8), (n,))
    first, second = calculus.hessian_eigsh(f, x, 3), calculus.hessian_eigsh(f, x, 3)
    for u, w in zip(first, second, strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(w))
    # The documented default: jax.random.normal(jax.random.key(0), (n,)) in x's dtype.
    explicit = calculus.hessian_eigsh(f, x, 3, v0=jax.random.normal(jax.random.key(0), (n,)))
    np.testing.assert_array_equal(np.asarray(explicit.eigenvalues), np.asarray(first[0]))
    assert bool(np.all(first.converged)) and int(first.num_steps) >= 1
    capped = calculus.hessian_eigsh(f, x, 3, max_steps=1, ncv=6)
    assert int(capped.num_steps) == 1 and not bool(np.all(capped.converged))
    assert np.array_equal(np.isnan(np.asarray(capped.eigenvalues)), ~np.asarray(capped.converged))


def test_args_must_be_a_tuple():
    x = jnp.ones(3)
    f = lambda z, c: c * jnp.sum(z**2)  # noqa: E731
    key = jax.random.key(0)
    grid = jnp.linspace(0.0, 1.0, 5)
    calls = [
        lambda: calculus.hvp(f, x, x, 2.0),
        lambda: calculus.check_grad(f, x, 2.0),
        lambda: calculus.hessian_eigsh(f, x, 1, 2.0),
        lambda: calculus.hessian_trace(f, x, key, 4, 2.0),
        lambda: calculus.hessian_spectral_density(
            f, x, key, 2.0, num_probes=1, num_iters=2, grid=grid
        ),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="args must be a tuple"):
            call()
    with pytest.raises(TypeError, match="fun must be callable"):
        calculus.hessian_trace(None, x, key, 4)
    with pytest.raises(ValueError, match="fun must return a scalar"):
        calculus.hessian_eigsh(lambda z: z, x, 1)
    with pytest.raises(ValueError, match="tol must be > 0"):
        calculus.hessian_eigsh(jnp.sum, x, 1, tol=0.0)


def test_spectral_density_matches_exact_smoothed_density():
    n = 60
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = np.concatenate([rng.uniform(0, 1, 40), rng.uniform(4, 5, 20)])
    a = ((q * eig) @ q.T).astype(np.float32)

    def f(x):
        return 0.5 * x @ jnp.asarray(a) @ x

    grid = jnp.linspace(-1.0, 6.0, 281)
    sigma = 0.15
    dens = calculus.hessian_spectral_density(
        f, jnp.zeros(n), jax.random.key(0), num_probes=64, num_iters=30, grid=grid, sigma=sigma
    )
    g = np.asarray(grid, np.float64)
    exact = np.mean(np.exp(-0.5 * ((g[:, None] - eig) / sigma) ** 2), axis=1)
    exact /= np.trapezoid(exact, g)
    assert dens.shape == grid.shape
    assert_close(np.trapezoid(np.asarray(dens, np.float64), g), 1.0, rtol=1e-5)
    l1 = np.trapezoid(np.abs(np.asarray(dens, np.float64) - exact), g)
    assert l1 < 0.15, l1
    mass_top = np.trapezoid(np.where(g > 3, np.asarray(dens), 0), g)
    assert abs(mass_top - 20 / 60) < 0.08, mass_top


def test_spectral_density_large_and_default_sigma():
    # 2e5 parameters, Hessian diag with eigenvalues 1 (3/4 of them) and 3 (1/4): Lanczos
    # needs only the basis (num_iters x n), never n x n.
    n = 200_000
    d = jnp.where(jnp.arange(n) % 4 == 0, 3.0, 1.0)

    def f(x):
        return 0.5 * jnp.sum(d * x**2) + 1e-3 * jnp.sum(x**4)

    grid = jnp.linspace(0.0, 4.0, 201)
    dens = calculus.hessian_spectral_density(
        f, jnp.zeros(n), jax.random.key(1), num_probes=2, num_iters=6, grid=grid
    )
    g = np.asarray(grid)
    assert_close(np.trapezoid(np.asarray(dens, np.float64), g), 1.0, rtol=1e-5)
    low = np.trapezoid(np.where(g < 2, np.asarray(dens), 0), g)
    assert abs(low - 0.75) < 0.02, low
    assert abs(g[np.argmax(np.asarray(dens))] - 1.0) < 0.05


def test_spectral_density_bad_input():
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    x = jnp.ones(5)
    with pytest.raises(ValueError, match="grid must be a 1-D array"):
        calculus.hessian_spectral_density(
            f, x, jax.random.key(0), num_probes=1, num_iters=2, grid=jnp.ones((2, 2))
        )
    with pytest.raises(ValueError, match="num_iters must be <= n"):
        calculus.hessian_spectral_density(
            f, x, jax.random.key(0), num_probes=1, num_iters=6, grid=jnp.linspace(0, 1, 5)
        )
    with pytest.raises(ValueError, match="sigma must be > 0"):
        calculus.hessian_spectral_density(
            f,
            x,
            jax.random.key(0),
            num_probes=1,
            num_iters=2,
            grid=jnp.linspace(0, 1, 5),
            sigma=-1.0,
        )
    with pytest.raises(ValueError, match="num_probes must be >= 1"):
        calculus.hessian_spectral_density(
            f, x, jax.random.key(0), num_probes=0, num_iters=2, grid=jnp.linspace(0, 1, 5)
        )


@pytest.mark.x64
def test_hvp_and_eigsh_x64():
    n = 80
    a = random_spd(np.random.default_rng(3), (n, n), cond=1e4)
    f = _coupled(a)
    x = jnp.asarray(np.random.default_rng(4).standard_normal(n))
    v = jnp.asarray(np.random.default_rng(5).standard_normal(n))
    h = np.asarray(jax.jit(jax.hessian(f))(x))
    out = calculus.hvp(f, x, v)
    assert out.dtype == jnp.float64
    assert_close(out, h @ np.asarray(v), rtol=1e-12)
    vals, _, converged, _ = calculus.hessian_eigsh(f, x, 2, v0=jnp.ones(n))
    assert vals.dtype == jnp.float64 and bool(np.all(converged))
    assert_close(vals, np.linalg.eigvalsh(h)[-2:], rtol=1e-9)
    check_grads(lambda z: calculus.hvp(f, z, v), (x,), order=1, modes=["rev"])
