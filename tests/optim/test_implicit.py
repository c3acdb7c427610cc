"""Gradients through minimize, newton and proximal_gradient by implicit differentiation.

Each derivative is checked against central differences of the solver and against
differentiating an unrolled reference (a fixed number of plain Newton or ISTA steps in a
``lax.fori_loop``, differentiated by ordinary autodiff), in float64; float32 runs are smoke
tests. The lasso case has inactive coefficients: their derivative is exactly 0, the active
ones match the closed form ``-(X_Aᵀ X_A / n)⁻¹ sign(w_A)`` in ``alpha``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mlmath_jax import _implicit, optim
from tests.conftest import compiles_on_repeat

# --- problems (module level: one compiled solver per function) ---------------------------


def smooth(x, a, b):
    """Strongly convex, not quadratic: ``½ xᵀAx - bᵀx + 0.1 Σ cosh x``."""
    return 0.5 * x @ a @ x - b @ x + 0.1 * jnp.sum(jnp.cosh(x))


def logistic(w, x, y, lam):
    """Mean logistic loss plus ``lam/2 ‖w‖²``; labels 0/1."""
    z = x @ w
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z) + 0.5 * lam * jnp.sum(w**2)


def least_squares(w, x, y):
    return 0.5 * jnp.mean((x @ w - y) ** 2)


def prox_alpha(v, s, alpha):
    return optim.prox_l1(v, alpha * s)


GROUPS = np.array([0, 0, 1, 1, 2, 2, 3, 3])


def prox_group(v, s, alpha):
    return optim.prox_group_lasso(v, alpha * s, GROUPS, num_groups=4)


def spd(rng, n, dtype):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return jnp.asarray((q * np.linspace(1.0, 4.0, n)) @ q.T, dtype)


def classification(rng, n, d, dtype):
    x = rng.standard_normal((n, d))
    y = (x @ rng.standard_normal(d) + rng.logistic(size=n) > 0).astype(float)
    return jnp.asarray(x, dtype), jnp.asarray(y, dtype)


def regression(rng, n, dtype):
    x = rng.standard_normal((n, 8))
    w = np.array([2.0, -1.5, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    return jnp.asarray(x, dtype), jnp.asarray(x @ w + 0.3 * rng.standard_normal(n), dtype)


def tight(dtype):
    """A solver tolerance each precision reaches: float64 near rounding, float32 1e-5."""
    return 1e-12 if jnp.dtype(dtype) == jnp.float64 else 1e-5


def minimize_x(a, b, **kw):
    return optim.minimize(smooth, jnp.zeros(b.shape, b.dtype), (a, b), tol=tight(b.dtype), **kw).x


def newton_x(x, y, lam):
    x0 = jnp.zeros(x.shape[1], x.dtype)
    return optim.newton(logistic, x0, (x, y, lam), tol=tight(x.dtype)).x


def lasso_x(x, y, alpha, prox=prox_alpha):
    res = optim.proximal_gradient(
        least_squares,
        jnp.zeros(x.shape[1], x.dtype),
        (x, y),
        prox=prox,
        prox_args=(alpha,),
        tol=0.1 * tight(x.dtype),
        max_steps=20000,
    )
    return res.x


# --- unrolled references: plain autodiff through a fixed number of steps ------------------


def unrolled_newton(fun, x0, args, steps=30):
    def body(_, x):
        g = jax.grad(fun)(x, *args)
        return x - jnp.linalg.solve(jax.hessian(fun)(x, *args), g)

    return jax.lax.fori_loop(0, steps, body, x0)


def unrolled_ista(x, y, alpha, prox=prox_alpha, steps=3000):
    gram = jax.lax.stop_gradient(x.T @ x) / x.shape[0]
    step = 1.0 / jnp.linalg.eigvalsh(gram)[-1]

    def body(_, w):
        return prox(w - step * jax.grad(least_squares)(w, x, y), step, alpha)

    return jax.lax.fori_loop(0, steps, body, jnp.zeros(x.shape[1], x.dtype))


def central(fun, value, direction, h=1e-5):
    return (fun(value + h * direction) - fun(value - h * direction)) / (2 * h)


def close(actual, expected, rtol, atol=0.0):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


# --- float64: against central differences and unrolled references -------------------------


@pytest.mark.x64
def test_minimize_grad_matches_unrolled_and_central_differences(rng):
    a, b = spd(rng, 5, jnp.float64), jnp.asarray(rng.standard_normal(5))
    weights = jnp.asarray(rng.standard_normal(5))

    def loss(a, b):
        return weights @ minimize_x(a, b)

    def ref(a, b):
        return weights @ unrolled_newton(smooth, jnp.zeros(5), (a, b))

    ga, gb = jax.grad(loss, argnums=(0, 1))(a, b)
    ra, rb = jax.grad(ref, argnums=(0, 1))(a, b)
    close(ga, ra, rtol=1e-8, atol=1e-10)
    close(gb, rb, rtol=1e-8, atol=1e-10)
    db = jnp.asarray(rng.standard_normal(5))
    close(gb @ db, central(lambda t: loss(a, t), b, db), rtol=1e-6)
    da = jnp.asarray(rng.standard_normal((5, 5)))
    close(jnp.sum(ga * da), central(lambda t: loss(t, b), a, da), rtol=1e-6)


@pytest.mark.x64
def test_minimize_grad_with_optax_optimizer_and_pytree_x0(rng):
    a, b = spd(rng, 4, jnp.float64), jnp.asarray(rng.standard_normal(4))
    adam = optax.adam(0.05)

    def fun(p, a, b):
        return smooth(jnp.concatenate([p["u"], p["v"]]), a, b)

    def loss(b):
        x0 = {"u": jnp.zeros(2), "v": jnp.zeros(2)}
        p = optim.minimize(fun, x0, (a, b), optimizer=adam, max_steps=20000, tol=1e-11).x
        return jnp.sum(p["u"] ** 2) + jnp.sum(jnp.sin(p["v"]))

    def ref(b):
        x = unrolled_newton(smooth, jnp.zeros(4), (a, b))
        return jnp.sum(x[:2] ** 2) + jnp.sum(jnp.sin(x[2:]))

    close(jax.grad(loss)(b), jax.grad(ref)(b), rtol=1e-7, atol=1e-9)


@pytest.mark.x64
def test_newton_grad_in_data_and_penalty(rng):
    x, y = classification(rng, 40, 3, jnp.float64)
    lam = jnp.asarray(0.1)
    x_val = jnp.asarray(rng.standard_normal((10, 3)))

    def loss(x, y, lam):
        return jnp.sum(jax.nn.sigmoid(x_val @ newton_x(x, y, lam)))

    def ref(x, y, lam):
        w = unrolled_newton(logistic, jnp.zeros(3), (x, y, lam))
        return jnp.sum(jax.nn.sigmoid(x_val @ w))

    got = jax.grad(loss, argnums=(0, 1, 2))(x, y, lam)
    want = jax.grad(ref, argnums=(0, 1, 2))(x, y, lam)
    for g, r in zip(got, want, strict=True):
        close(g, r, rtol=1e-8, atol=1e-11)
    close(got[2], central(lambda t: loss(x, y, t), lam, 1.0), rtol=1e-6)
    dx = jnp.asarray(rng.standard_normal(x.shape))
    close(jnp.sum(got[0] * dx), central(lambda t: loss(t, y, lam), x, dx), rtol=1e-6)


@pytest.mark.x64
@pytest.mark.parametrize("solver", ["dense", "cg"])
def test_newton_grad_both_direction_solvers_and_pytree(rng, solver):
    x, y = classification(rng, 30, 4, jnp.float64)

    def fun(p, x, y):
        return logistic(jnp.concatenate([p["a"], p["b"]]), x, y, 0.05)

    def loss(y):
        x0 = {"a": jnp.zeros(1), "b": jnp.zeros(3)}
        p = optim.newton(fun, x0, (x, y), tol=1e-12, solver=solver).x
        return jnp.sum(p["a"]) - 2.0 * jnp.sum(p["b"])

    def ref(y):
        w = unrolled_newton(logistic, jnp.zeros(4), (x, y, 0.05))
        return jnp.sum(w[:1]) - 2.0 * jnp.sum(w[1:])

    close(jax.grad(loss)(y), jax.grad(ref)(y), rtol=1e-8, atol=1e-11)


@pytest.mark.x64
def test_lasso_grad_in_alpha_active_set_and_zeros(rng):
    x, y = regression(rng, 50, jnp.float64)
    alpha = jnp.asarray(0.1)
    w = lasso_x(x, y, alpha)
    active = np.abs(np.asarray(w)) > 0
    assert 0 < active.sum() < 8  # some coefficients inactive: the non-smooth case

    jac = jax.jacobian(lasso_x, argnums=2)(x, y, alpha)
    assert np.all(np.asarray(jac)[~active] == 0.0)
    xa = np.asarray(x)[:, active]
    exact = -np.linalg.solve(xa.T @ xa / 50, np.sign(np.asarray(w)[active]))
    close(np.asarray(jac)[active], exact, rtol=1e-8)
    fd = central(lambda t: lasso_x(x, y, t), alpha, 1.0, h=1e-6)
    close(jac, fd, rtol=1e-6, atol=1e-9)
    unrolled = jax.jacobian(unrolled_ista, argnums=2)(x, y, alpha)
    close(jac, unrolled, rtol=1e-7, atol=1e-10)


@pytest.mark.x64
def test_lasso_grad_in_data_matches_unrolled_and_central_differences(rng):
    x, y = regression(rng, 50, jnp.float64)
    x_val, y_val = regression(np.random.default_rng(7), 20, jnp.float64)

    def val_loss(x, y, solve):
        return jnp.mean((x_val @ solve(x, y, 0.1) - y_val) ** 2)

    got = jax.grad(val_loss, argnums=(0, 1))(x, y, lasso_x)
    want = jax.grad(val_loss, argnums=(0, 1))(x, y, unrolled_ista)
    close(got[0], want[0], rtol=1e-7, atol=1e-10)
    close(got[1], want[1], rtol=1e-7, atol=1e-10)
    dy = jnp.asarray(rng.standard_normal(50))
    fd = central(lambda t: val_loss(x, t, lasso_x), y, dy, h=1e-6)
    close(got[1] @ dy, fd, rtol=1e-6)


@pytest.mark.x64
def test_group_lasso_grad_non_diagonal_prox_jacobian(rng):
    x, y = regression(rng, 60, jnp.float64)
    alpha = jnp.asarray(0.15)
    w = lasso_x(x, y, alpha, prox_group)
    norms = np.linalg.norm(np.asarray(w).reshape(4, 2), axis=1)
    assert np.any(norms == 0) and np.any(norms > 0)
    jac = jax.jacobian(lasso_x, argnums=2)(x, y, alpha, prox_group)
    unrolled = jax.jacobian(unrolled_ista, argnums=2)(x, y, alpha, prox_group)
    close(jac, unrolled, rtol=1e-7, atol=1e-10)
    fd = central(lambda t: lasso_x(x, y, t, prox_group), alpha, 1.0, h=1e-6)
    close(jac, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.x64
def test_forward_mode_equals_reverse_mode(rng):
    a, b = spd(rng, 5, jnp.float64), jnp.asarray(rng.standard_normal(5))
    db = jnp.asarray(rng.standard_normal(5))
    close(
        jax.jvp(lambda t: minimize_x(a, t), (b,), (db,))[1],
        jax.jacobian(minimize_x, 1)(a, b) @ db,
        rtol=1e-9,
    )
    x, y = classification(rng, 30, 3, jnp.float64)
    tangent = jax.jvp(lambda t: newton_x(x, y, t), (0.1,), (1.0,))[1]
    close(tangent, jax.jacobian(newton_x, 2)(x, y, 0.1), rtol=1e-9)
    x, y = regression(rng, 50, jnp.float64)
    tangent = jax.jvp(lambda t: lasso_x(x, y, t), (0.1,), (1.0,))[1]
    close(tangent, jax.jacobian(lasso_x, 2)(x, y, 0.1), rtol=1e-9)


@pytest.mark.x64
def test_x0_gets_zero_gradient_and_value_follows_envelope_theorem(rng):
    a, b = spd(rng, 3, jnp.float64), jnp.asarray(rng.standard_normal(3))
    g_x0 = jax.grad(lambda x0: jnp.sum(optim.newton(smooth, x0, (a, b), tol=1e-12).x))(jnp.ones(3))
    assert np.all(np.asarray(g_x0) == 0.0)
    # d f(x*(b), b) / db = ∂f/∂b at x* = -x*
    res = optim.newton(smooth, jnp.zeros(3), (a, b), tol=1e-12)
    g = jax.grad(lambda t: optim.newton(smooth, jnp.zeros(3), (a, t), tol=1e-12).value)(b)
    close(g, -res.x, rtol=1e-10)
    # the diagnostics carry no derivative
    g = jax.grad(lambda t: optim.minimize(smooth, jnp.zeros(3), (a, t), tol=1e-12).grad_norm)(b)
    assert np.all(np.asarray(g) == 0.0)


@pytest.mark.x64
def test_vmap_of_gradients_equals_one_at_a_time(rng):
    x, y = regression(rng, 50, jnp.float64)
    alphas = jnp.asarray([0.05, 0.1, 0.2])

    def val(alpha):
        return jnp.sum(lasso_x(x, y, alpha) ** 2)

    batched = jax.vmap(jax.grad(val))(alphas)
    close(batched, [jax.grad(val)(t) for t in alphas], rtol=1e-9)
    xs, ys = classification(rng, 30, 3, jnp.float64)
    lams = jnp.asarray([0.01, 0.1, 1.0])
    fn = jax.grad(lambda t: jnp.sum(newton_x(xs, ys, t)))
    close(jax.vmap(fn)(lams), [fn(t) for t in lams], rtol=1e-9)


@pytest.mark.x64
def test_nan_data_gives_nan_gradient(rng):
    a, b = spd(rng, 3, jnp.float64), jnp.asarray(rng.standard_normal(3))
    g = jax.grad(lambda t: jnp.sum(minimize_x(a, t)))(b.at[0].set(jnp.nan))
    assert np.all(np.isnan(np.asarray(g)))
    x, y = regression(rng, 50, jnp.float64)
    g = jax.grad(lambda t: jnp.sum(lasso_x(x, y, t)))(jnp.nan)
    assert np.isnan(g)


# --- jit and compile once ------------------------------------------------------------------


@jax.jit
def lasso_alpha_grad(x, y, alpha):
    return jax.grad(lambda t: jnp.sum(lasso_x(x, y, t) ** 2))(alpha)


@jax.jit
def newton_data_grad(x, y, lam):
    return jax.grad(lambda t: jnp.sum(newton_x(t, y, lam)))(x)


@jax.jit
def minimize_grad(a, b):
    return jax.grad(lambda t: jnp.sum(minimize_x(a, t) ** 2))(b)


def test_jitted_gradients_compile_once(rng):
    regs = [regression(np.random.default_rng(i), 40, jnp.float32) for i in range(3)]
    lasso_calls = [(x, y, jnp.float32(0.1 + 0.05 * i)) for i, (x, y) in enumerate(regs)]
    assert compiles_on_repeat(lasso_alpha_grad, *lasso_calls) == 0
    cls = [classification(np.random.default_rng(i), 30, 3, jnp.float32) for i in range(3)]
    newton_calls = [(x, y, jnp.float32(0.1)) for x, y in cls]
    assert compiles_on_repeat(newton_data_grad, *newton_calls) == 0
    quads = [
        (spd(rng, 4, jnp.float32), jnp.asarray(rng.standard_normal(4), jnp.float32))
        for _ in range(3)
    ]
    assert compiles_on_repeat(minimize_grad, *quads) == 0


def lasso_val(alpha, x, y):
    return jnp.sum(lasso_x(x, y, alpha) ** 2)


LASSO_VAL_GRAD = jax.grad(lasso_val)


def test_eager_grad_and_jvp_compile_once():
    regs = [regression(np.random.default_rng(i), 40, jnp.float32) for i in range(3)]
    calls = [(jnp.float32(0.1 + 0.05 * i), x, y) for i, (x, y) in enumerate(regs)]
    assert compiles_on_repeat(LASSO_VAL_GRAD, *calls) == 0

    def tangent(a, x, y):
        return jax.jvp(lambda t: lasso_val(t, x, y), (a,), (jnp.float32(1.0),))

    assert compiles_on_repeat(tangent, *calls) == 0


# --- float32 smoke tests --------------------------------------------------------------------


def test_float32_gradients_are_finite_and_close(rng):
    x, y = regression(rng, 50, jnp.float32)
    g = lasso_alpha_grad(x, y, jnp.float32(0.1))
    assert g.dtype == jnp.float32
    w = lasso_x(x, y, jnp.float32(0.1))
    active = np.abs(np.asarray(w)) > 0
    xa = np.asarray(x, np.float64)[:, active]
    dw = -np.linalg.solve(xa.T @ xa / 50, np.sign(np.asarray(w)[active]))
    close(g, 2 * np.asarray(w, np.float64)[active] @ dw, rtol=1e-3)
    a, b = spd(rng, 4, jnp.float32), jnp.asarray(rng.standard_normal(4), jnp.float32)
    got = minimize_grad(a, b)
    a64 = np.asarray(a, np.float64)
    x64 = np.asarray(minimize_x(a, b), np.float64)
    # x* = A⁻¹(b - 0.1 sinh x*): dx/db = (A + 0.1 diag cosh x*)⁻¹
    hess = a64 + 0.1 * np.diag(np.cosh(x64))
    close(got, np.linalg.solve(hess, 2 * x64), rtol=1e-3)
    cx, cy = classification(rng, 30, 3, jnp.float32)
    assert np.all(np.isfinite(np.asarray(newton_data_grad(cx, cy, jnp.float32(0.1)))))


def test_implicit_max_steps_is_validated_and_used(rng):
    with pytest.raises(ValueError, match="implicit_max_steps"):
        optim.newton(smooth, jnp.zeros(2), (jnp.eye(2), jnp.ones(2)), implicit_max_steps=0)
    with pytest.raises(TypeError, match="prox_args"):
        optim.proximal_gradient(least_squares, jnp.zeros(2), prox=prox_alpha, prox_args=0.1)
    a, b = spd(rng, 6, jnp.float32), jnp.asarray(rng.standard_normal(6), jnp.float32)
    full = jax.grad(lambda t: jnp.sum(minimize_x(a, t)))(b)
    one = jax.grad(lambda t: jnp.sum(minimize_x(a, t, implicit_max_steps=1)))(b)
    assert not np.allclose(np.asarray(full), np.asarray(one), rtol=1e-3)


def test_default_backward_tolerance_by_dtype():
    assert 1e-5 < _implicit.default_tol(np.float32) < 1e-4
    assert 1e-11 < _implicit.default_tol(np.float64) < 1e-10
