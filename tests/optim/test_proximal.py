import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import optim
from tests.conftest import assert_close


def test_prox_l1_matches_numpy_and_is_argmin(rng):
    x = rng.standard_normal((3, 7)) * 2
    thr = np.abs(rng.standard_normal((3, 1)))
    out = optim.prox_l1(x, thr)
    assert_close(out, np.sign(x) * np.maximum(np.abs(x) - thr, 0), rtol=1e-6)
    # The prox minimises thr|z| + (z - x)^2 / 2 coordinate-wise: compare on a fine grid.
    z = np.linspace(-6, 6, 120001)
    obj = thr[0, 0] * np.abs(z[:, None]) + 0.5 * (z[:, None] - x[0]) ** 2
    assert_close(out[0], z[np.argmin(obj, axis=0)], rtol=0, atol=2e-4)


def test_prox_elastic_net_matches_formula(rng):
    x = rng.standard_normal(9) * 3
    out = optim.prox_elastic_net(x, 0.5, 2.0)
    assert_close(out, np.sign(x) * np.maximum(np.abs(x) - 0.5, 0) / 3.0, rtol=1e-6)
    assert_close(optim.prox_elastic_net(x, 0.5, 0.0), optim.prox_l1(x, 0.5), rtol=0)


def test_prox_group_lasso_matches_numpy(rng):
    x = rng.standard_normal((2, 8))
    groups = np.array([2, 0, 0, 1, 2, 1, 1, 0])
    thr = 0.9
    out = optim.prox_group_lasso(x, thr, groups)
    expected = np.zeros_like(x)
    for g in range(3):
        idx = groups == g
        norm = np.linalg.norm(x[:, idx], axis=1, keepdims=True)
        expected[:, idx] = x[:, idx] * np.maximum(1 - thr / norm, 0)
    assert_close(out, expected, rtol=1e-6)
    jitted = jax.jit(lambda v, g: optim.prox_group_lasso(v, thr, g, num_groups=3))
    assert_close(jitted(x, groups), expected, rtol=1e-6)
    # zero groups: value 0 and a finite gradient
    zero = jnp.zeros(4).at[0].set(5.0)
    grad = jax.grad(lambda v: jnp.sum(optim.prox_group_lasso(v, 1.0, jnp.array([0, 1, 1, 1]))))(
        zero
    )
    assert np.all(np.isfinite(grad))


def test_prox_nuclear_matches_numpy_svd(rng):
    a = rng.standard_normal((3, 5, 4))
    out = optim.prox_nuclear(a, 1.0)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    expected = (u * np.maximum(s - 1.0, 0)[:, None, :]) @ vt
    assert_close(out, expected, rtol=1e-5)
    assert np.all(np.linalg.matrix_rank(np.asarray(out)) <= np.sum(s > 1.0, axis=-1))


def test_prox_bad_input():
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        optim.prox_l1(jnp.ones(3), -1.0)
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        jax.jit(lambda x: optim.prox_l1(x, -0.5))(jnp.ones(3))
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        optim.prox_elastic_net(jnp.ones(3), 1.0, -1.0)
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        optim.prox_nuclear(jnp.eye(3), -1.0)
    with pytest.raises(ValueError, match="a must be"):
        optim.prox_nuclear(jnp.ones(3), 1.0)
    with pytest.raises(ValueError, match="groups must be \\[n\\]"):
        optim.prox_group_lasso(jnp.ones(3), 1.0, jnp.array([0, 1]))
    with pytest.raises(ValueError, match="groups must hold ids"):
        optim.prox_group_lasso(jnp.ones(2), 1.0, jnp.array([0, -1]))
    with pytest.raises(TypeError, match="groups must be integer"):
        optim.prox_group_lasso(jnp.ones(2), 1.0, jnp.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="num_groups must be given"):
        jax.jit(lambda g: optim.prox_group_lasso(jnp.ones(2), 1.0, g))(jnp.array([0, 1]))


def _lasso_problem(dtype):
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    x, y = load_diabetes(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    y = y - y.mean()
    return x.astype(dtype), y.astype(dtype)


def _lasso_objective(x, y, alpha, w):
    n = x.shape[0]
    return 0.5 / n * np.sum((y - x @ w) ** 2) + alpha * np.sum(np.abs(w))


@pytest.mark.x64
@pytest.mark.parametrize("accelerate", [True, False])
def test_fista_matches_sklearn_lasso_objective(accelerate):
    from sklearn.linear_model import Lasso

    x, y = _lasso_problem(np.float64)
    alpha = 1.0
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100000).fit(x, y)
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def smooth(w):
        return 0.5 * jnp.mean((yj - xj @ w) ** 2)

    res = optim.proximal_gradient(
        smooth,
        jnp.zeros(10),
        prox=lambda v, s: optim.prox_l1(v, alpha * s),
        accelerate=accelerate,
        max_steps=20000,
        tol=1e-10,
    )
    assert res.x.dtype == jnp.float64
    assert bool(res.converged)
    ours = _lasso_objective(x, y, alpha, np.asarray(res.x))
    theirs = _lasso_objective(x, y, alpha, ref.coef_)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs), (ours, theirs)
    assert_close(res.x, ref.coef_, rtol=1e-5)
    assert_close(res.value, 0.5 * np.mean((y - x @ np.asarray(res.x)) ** 2), rtol=1e-12)


def test_proximal_gradient_float32_fixed_step_and_pytree():
    x, y = _lasso_problem(np.float32)
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    lip = float(np.linalg.eigvalsh(x.T @ x / x.shape[0])[-1])

    def smooth(p):
        return 0.5 * jnp.mean((yj - xj @ p["w"]) ** 2)

    def prox(v, s):
        return {"w": optim.prox_l1(v["w"], 1.0 * s)}

    auto = optim.proximal_gradient(smooth, {"w": jnp.zeros(10)}, prox=prox, tol=1e-3)
    fixed = optim.proximal_gradient(
        smooth, {"w": jnp.zeros(10)}, prox=prox, step_size=1.0 / lip, tol=1e-3, max_steps=5000
    )
    assert bool(auto.converged) and bool(fixed.converged)
    assert_close(auto.x["w"], fixed.x["w"], rtol=1e-3)
    # sparse: alpha = 1 zeroes some coefficients exactly
    assert np.sum(np.asarray(auto.x["w"]) == 0) >= 1


def test_proximal_gradient_vmap_jit():
    target = jnp.array([[3.0, 0.2], [-1.0, 4.0]])

    def run(t):
        f = lambda x: 0.5 * jnp.sum((x - t) ** 2)  # noqa: E731
        return optim.proximal_gradient(f, jnp.zeros(2), prox=lambda v, s: optim.prox_l1(v, s))

    res = jax.jit(jax.vmap(run))(target)
    assert_close(res.x, np.array([[2.0, 0.0], [0.0, 3.0]]), rtol=1e-5)
    assert np.all(np.asarray(res.converged))


def test_proximal_gradient_bad_input():
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    with pytest.raises(TypeError, match="prox must be callable"):
        optim.proximal_gradient(f, jnp.zeros(2), prox=None)
    with pytest.raises(TypeError, match="fun must be callable"):
        optim.proximal_gradient(1.0, jnp.zeros(2), prox=lambda v, s: v)
    with pytest.raises(ValueError, match="step_size must be > 0"):
        optim.proximal_gradient(f, jnp.zeros(2), prox=lambda v, s: v, step_size=-1.0)
    with pytest.raises(ValueError, match="fun must return a scalar"):
        optim.proximal_gradient(lambda x: x, jnp.zeros(2), prox=lambda v, s: v)


@pytest.mark.parametrize("which", ["nuclear", "group"])
def test_proximal_gradient_denoising_equals_prox(rng, which):
    # min ½‖x - m‖² + g(x) is solved exactly by prox_g(m): FISTA must land there.
    if which == "nuclear":
        m = jnp.asarray(rng.standard_normal((6, 4)), jnp.float32)
        prox = lambda v, s: optim.prox_nuclear(v, 1.5 * s)  # noqa: E731
        expected = optim.prox_nuclear(m, 1.5)
    else:
        m = jnp.asarray(rng.standard_normal(9), jnp.float32)
        groups = jnp.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
        prox = lambda v, s: optim.prox_group_lasso(v, 1.5 * s, groups, num_groups=3)  # noqa: E731
        expected = optim.prox_group_lasso(m, 1.5, groups)
    res = optim.proximal_gradient(
        lambda x: 0.5 * jnp.sum((x - m) ** 2), jnp.zeros_like(m), prox=prox, tol=1e-5
    )
    assert bool(res.converged)
    assert_close(res.x, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.x64
def test_prox_gradients_x64(rng):
    from jax.test_util import check_grads

    x = jnp.asarray(rng.standard_normal(6) * 2)
    check_grads(lambda v: optim.prox_l1(v, 0.3), (x,), order=1, modes=["fwd", "rev"])
    check_grads(lambda v: optim.prox_elastic_net(v, 0.3, 0.5), (x,), order=1, modes=["rev"])
    groups = jnp.array([0, 0, 1, 1, 2, 2])
    check_grads(
        lambda v: optim.prox_group_lasso(v, 0.3, groups), (x,), order=1, modes=["fwd", "rev"]
    )
    a = jnp.asarray(rng.standard_normal((4, 3)))
    check_grads(lambda m: optim.prox_nuclear(m, 0.2), (a,), order=1, modes=["rev"])


def _lasso_smooth(w, x, y):
    return 0.5 * jnp.mean((y - x @ w) ** 2)


def _prox_alpha_one(v, s):
    return optim.prox_l1(v, s)


def test_proximal_gradient_args_equal_closure():
    x, y = _lasso_problem(np.float32)
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    with_args = optim.proximal_gradient(
        _lasso_smooth, jnp.zeros(10), (xj, yj), prox=_prox_alpha_one, tol=1e-3
    )
    closure = optim.proximal_gradient(
        lambda w: _lasso_smooth(w, xj, yj), jnp.zeros(10), prox=_prox_alpha_one, tol=1e-3
    )
    assert bool(with_args.converged)
    assert int(with_args.num_steps) == int(closure.num_steps)
    assert_close(with_args.x, closure.x, rtol=1e-6)


@pytest.mark.parametrize("accelerate", [True, False])
def test_proximal_step_piece_is_a_forward_backward_step(rng, accelerate):
    from mlmath_jax.optim import _proximal

    m = jnp.asarray(rng.standard_normal(5), jnp.float32)

    def f(x, m):
        return 0.5 * jnp.sum((x - m) ** 2)

    x0 = jnp.asarray(rng.standard_normal(5), jnp.float32)
    state = _proximal.proximal_init(f, x0, (m,), 0.5)
    assert float(state.lipschitz) == 2.0
    new = _proximal.proximal_step(
        f, _prox_alpha_one, state, (m,), accelerate=accelerate, backtrack=False
    )
    v = np.asarray(x0) - 0.5 * (np.asarray(x0) - np.asarray(m))
    expected = np.sign(v) * np.maximum(np.abs(v) - 0.5, 0.0)
    assert_close(new.x, expected, rtol=1e-6)
    assert_close(new.grad_map_norm, 2.0 * np.linalg.norm(np.asarray(x0) - expected), rtol=1e-5)
    assert int(new.num_steps) == 1
    # The first FISTA step has momentum (t0 - 1)/t1 = 0: y equals x either way.
    assert_close(new.y, expected, rtol=1e-6)


def test_backtrack_lipschitz_grows_until_the_model_bounds_f(rng):
    from mlmath_jax.optim import _proximal

    def f(x):  # L = 8
        return 4.0 * jnp.sum(x**2)

    y = jnp.asarray(rng.standard_normal(4), jnp.float32)
    fy, gy = jax.value_and_grad(f)(y)
    x_new, lip = _proximal.backtrack_lipschitz(
        f, lambda v, s: v, y, fy, gy, jnp.asarray(0.5, jnp.float32), ()
    )
    assert float(lip) == 8.0  # 0.5 doubled until L >= 8
    assert_close(x_new, np.zeros(4), rtol=0, atol=1e-6)  # the exact gradient step at L = 8


def test_proximal_gradient_args_must_be_a_tuple():
    with pytest.raises(TypeError, match="args must be a tuple"):
        optim.proximal_gradient(_lasso_smooth, jnp.zeros(2), jnp.ones(2), prox=_prox_alpha_one)
    with pytest.raises(TypeError, match="accelerate must be a bool"):
        optim.proximal_gradient(
            lambda x: jnp.sum(x**2), jnp.zeros(2), prox=_prox_alpha_one, accelerate=1
        )
    with pytest.raises(ValueError, match="tol must be >= 0"):
        optim.proximal_gradient(
            lambda x: jnp.sum(x**2), jnp.zeros(2), prox=_prox_alpha_one, tol=-1.0
        )
