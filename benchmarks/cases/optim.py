"""optim cases: minimize steps/s (device loop vs Python loop), Newton, FISTA vs scikit-learn.

``optim.minimize_steps`` runs exactly ``steps`` steps (tol = 0), so steps per second is
``steps / median``. ``--quick`` keeps only SGD at n = 100 with 100 steps.

``optim.implicit_grad`` times one gradient of a validation loss through a solve, by the
solvers' implicit differentiation, against ``jax.grad`` through an unrolled loop (a fixed
number of plain FISTA or Newton steps in a ``lax.fori_loop``): lasso-like least squares
with an l1 penalty through ``proximal_gradient`` (gradient in ``alpha``) and l2-penalised
logistic regression through ``newton`` (gradient in the penalty), n = 1000, d = 100,
float32. The setup also times one forward solve (the fit) interleaved with both gradients
and records the medians and the ratios in the case's params: ``fit_ms``, ``grad_ms``,
``unrolled_ms``, ``grad_over_fit`` (goal of issue 17: at most 1.5) and
``unrolled_over_fit``.
"""

from __future__ import annotations

import functools
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mlmath_jax import optim

from ..harness import Case, Contender


def _quadratic_setup(n):
    def setup(rng):
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        a = (q * np.logspace(0, -1, n)) @ q.T  # condition number 10
        return a.astype(np.float32), rng.standard_normal(n).astype(np.float32)

    return setup


def _minimizer(a, b):
    a = np.asarray(a, np.float64)
    return -0.5 * np.linalg.solve(a, np.asarray(b, np.float64))


def _quadratic(x, a, b):
    """``xᵀAx + bᵀx``, the data passed as ``args`` (one compiled loop for every call)."""
    return x @ a @ x + b @ x


def _device_loop(a, b, *, optimizer, steps):
    # tol = 0: exactly `steps` steps, so the time per call gives the step rate.
    res = optim.minimize(
        _quadratic, jnp.zeros_like(b), (a, b), optimizer=optimizer, max_steps=steps, tol=0.0
    )
    return res.x


def _python_loop(a, b, *, optimizer, steps):
    """The usual optax tutorial loop: a jitted step called from Python, one dispatch a step."""
    a, b = jnp.asarray(a), jnp.asarray(b)

    @jax.jit
    def step(x, state):
        grad = jax.grad(_quadratic)(x, a, b)
        updates, state = optimizer.update(grad, state, x)
        return optax.apply_updates(x, updates), state

    x = jnp.zeros_like(b)
    state = optimizer.init(x)
    for _ in range(steps):
        x, state = step(x, state)
    return np.asarray(x)


def _minimize_cases(quick: bool) -> list[Case]:
    out = []
    steps = 100 if quick else 1000
    optimizers = [("sgd", optax.sgd(0.5))] + ([] if quick else [("adam", optax.adam(0.05))])
    for name, opt in optimizers:
        for n in [100] if quick else [100, 1000]:
            params = {"n": n, "steps": steps, "optimizer": name, "dtype": "float32"}
            kw = {"optimizer": opt, "steps": steps}
            out.append(
                Case(
                    "optim.minimize_steps",
                    params,
                    _quadratic_setup(n),
                    [
                        Contender("mlmath_jax", functools.partial(_device_loop, **kw)),
                        Contender(
                            "optax per-step jit, python loop",
                            functools.partial(_python_loop, **kw),
                            "host",
                        ),
                    ],
                    reference=_minimizer,
                    tol=1e-2,
                    quick=quick,
                )
            )
    return out


def _breast_cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(x).astype(np.float32), y.astype(np.float32)


def _logistic_loss(p, x, y):
    """scikit-learn's objective with C = 1, divided by n; the intercept is ``p[-1]``."""
    z = x @ p[:-1] + p[-1]
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z) + 0.5 * jnp.sum(p[:-1] ** 2) / x.shape[0]


def _newton_logistic(x, y):
    return optim.newton(_logistic_loss, jnp.zeros(x.shape[1] + 1), (x, y), tol=1e-5).x[:-1]


def _sklearn_logistic(x, y, tol=1e-6):
    """scikit-learn on float64 copies (its usual precision)."""
    from sklearn.linear_model import LogisticRegression

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return LogisticRegression(C=1.0, tol=tol, max_iter=10000).fit(x, y).coef_[0]


def _diabetes():
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    x, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(x).astype(np.float32), (y - y.mean()).astype(np.float32)


_ALPHA = 1.0


def _least_squares(w, x, y):
    return 0.5 * jnp.mean((y - x @ w) ** 2)


def _prox_alpha(v, s):
    return optim.prox_l1(v, _ALPHA * s)


def _fista_lasso(x, y):
    res = optim.proximal_gradient(
        _least_squares, jnp.zeros(x.shape[1]), (x, y), prox=_prox_alpha, max_steps=5000, tol=1e-4
    )
    return res.x


def _sklearn_lasso(x, y, tol=1e-6):
    """scikit-learn on float64 copies (its usual precision)."""
    from sklearn.linear_model import Lasso

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    lasso = Lasso(alpha=_ALPHA, fit_intercept=False, tol=tol, max_iter=100000)
    return lasso.fit(x, y).coef_


def _model_cases(quick: bool) -> list[Case]:
    return [
        Case(
            "optim.newton_logistic",
            {"n": 569, "d": 30, "dataset": "breast_cancer"},
            lambda rng: _breast_cancer(),
            [
                Contender("mlmath_jax", _newton_logistic),
                Contender("sklearn LogisticRegression (lbfgs)", _sklearn_logistic, "host"),
            ],
            reference=functools.partial(_sklearn_logistic, tol=1e-12),
            tol=1e-3,
            quick=False,
        ),
        Case(
            "optim.fista_lasso",
            {"n": 442, "d": 10, "dataset": "diabetes", "alpha": _ALPHA},
            lambda rng: _diabetes(),
            [
                Contender("mlmath_jax", _fista_lasso),
                Contender("sklearn Lasso (coordinate descent)", _sklearn_lasso, "host"),
            ],
            reference=functools.partial(_sklearn_lasso, tol=1e-12),
            tol=1e-3,
            quick=False,
        ),
    ]


# --- implicit_grad -----------------------------------------------------------------------
_IMPLICIT_N, _IMPLICIT_D, _IMPLICIT_ALPHA, _IMPLICIT_LAM = 1000, 100, 0.05, 0.01


def _implicit_data(classify: bool):
    def setup(rng):
        n, d = _IMPLICIT_N, _IMPLICIT_D
        x = rng.standard_normal((n + 200, d)).astype(np.float32)
        w = (rng.standard_normal(d) * (rng.random(d) < 0.3)).astype(np.float32)
        z = x @ w
        if classify:
            y = (z + rng.logistic(size=n + 200) > 0).astype(np.float32)
        else:
            y = (z + 0.5 * rng.standard_normal(n + 200)).astype(np.float32)
        return x[:n], y[:n], x[n:], y[n:]

    return setup


def _prox_l1_alpha(v, s, alpha):
    return optim.prox_l1(v, alpha * s)


def _lasso_fit(x, y, alpha):
    res = optim.proximal_gradient(
        _least_squares,
        jnp.zeros(x.shape[1], x.dtype),
        (x, y),
        prox=_prox_l1_alpha,
        prox_args=(alpha,),
        max_steps=5000,
        tol=1e-5,
    )
    return res.x


def _lasso_unrolled(x, y, alpha, steps):
    """FISTA with the fixed step ``1/L``, ``L`` the top eigenvalue of ``XᵀX/n``.

    ``L`` by 50 power-iteration steps, times 1.01 (a dense ``eigvalsh`` would cost more
    than the whole fit on CPU).
    """
    xs = jax.lax.stop_gradient(x)

    def power(_, v):
        u = xs.T @ (xs @ v)
        return u / jnp.linalg.norm(u)

    v = jax.lax.fori_loop(0, 50, power, jnp.ones(x.shape[1], x.dtype))
    lip = 1.01 * jnp.linalg.norm(xs @ v) ** 2 / x.shape[0]

    def body(_, carry):
        w, v, t = carry
        w_new = _prox_l1_alpha(v - jax.grad(_least_squares)(v, x, y) / lip, 1.0 / lip, alpha)
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        return w_new, w_new + (t - 1.0) / t_new * (w_new - w), t_new

    w0 = jnp.zeros(x.shape[1], x.dtype)
    return jax.lax.fori_loop(0, steps, body, (w0, w0, jnp.ones((), x.dtype)))[0]


def _val_mse(w, xv, yv):
    return _least_squares(w, xv, yv)


def _logistic_penalised(w, x, y, lam):
    z = x @ w
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z) + 0.5 * lam * jnp.sum(w**2)


def _logistic_fit(x, y, lam):
    return optim.newton(
        _logistic_penalised, jnp.zeros(x.shape[1], x.dtype), (x, y, lam), tol=1e-5
    ).x


def _logistic_unrolled(x, y, lam, steps):
    """Pure Newton steps (dense Hessian, no line search) from zero."""

    def body(_, w):
        g = jax.grad(_logistic_penalised)(w, x, y, lam)
        return w - jnp.linalg.solve(jax.hessian(_logistic_penalised)(w, x, y, lam), g)

    return jax.lax.fori_loop(0, steps, body, jnp.zeros(x.shape[1], x.dtype))


def _val_logloss(w, xv, yv):
    return _logistic_penalised(w, xv, yv, 0.0)


def _grad_fn(fit, val, hyper):
    """``(x, y, xv, yv) -> (coef, d val / d hyper)`` through ``fit(x, y, hyper)``."""

    def run(x, y, xv, yv):
        def loss(h):
            w = fit(x, y, h)
            return val(w, xv, yv), w

        g, w = jax.grad(loss, has_aux=True)(jnp.asarray(hyper, x.dtype))
        return w, g

    return run


def _lasso_reference(x, y, xv, yv):
    """scikit-learn's Lasso in float64; the derivative on the active set, in closed form."""
    from sklearn.linear_model import Lasso

    x, y, xv, yv = (np.asarray(a, np.float64) for a in (x, y, xv, yv))
    w = Lasso(alpha=_IMPLICIT_ALPHA, fit_intercept=False, tol=1e-12, max_iter=100000).fit(x, y)
    w = w.coef_
    act = w != 0
    dw = np.zeros_like(w)
    dw[act] = -np.linalg.solve(x[:, act].T @ x[:, act] / len(y), np.sign(w[act]))
    return w, (xv @ w - yv) @ (xv @ dw) / len(yv)


def _logistic_reference(x, y, xv, yv):
    """Newton in float64 to rounding; ``dw/dlam = -H⁻¹ w``."""
    x, y, xv, yv = (np.asarray(a, np.float64) for a in (x, y, xv, yv))
    n, lam = len(y), _IMPLICIT_LAM
    w = np.zeros(x.shape[1])
    for _ in range(30):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        hess = (x.T * (p * (1 - p))) @ x / n + lam * np.eye(len(w))
        w = w - np.linalg.solve(hess, x.T @ (p - y) / n + lam * w)
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    hess = (x.T * (p * (1 - p))) @ x / n + lam * np.eye(len(w))
    pv = 1.0 / (1.0 + np.exp(-(xv @ w)))
    return w, (xv.T @ (pv - yv) / len(yv)) @ -np.linalg.solve(hess, w)


def _interleaved_ms(fns: list, args: tuple, calls: int) -> list[float]:
    """Medians (ms) of ``calls`` rounds, each calling every function once in turn."""
    for fn in fns:
        jax.block_until_ready(fn(*args))
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(calls):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            out.append(time.perf_counter() - t0)
    return [1e3 * statistics.median(t) for t in times]


def _implicit_case(solver: str, quick: bool) -> Case:
    lasso = solver == "proximal_gradient"
    fit = _lasso_fit if lasso else _logistic_fit
    unrolled = _lasso_unrolled if lasso else _logistic_unrolled
    val = _val_mse if lasso else _val_logloss
    hyper = _IMPLICIT_ALPHA if lasso else _IMPLICIT_LAM
    params: dict = {
        "solver": solver,
        "problem": "lasso" if lasso else "logistic_l2",
        "n": _IMPLICIT_N,
        "d": _IMPLICIT_D,
        "dtype": "float32",
        "wrt": "alpha" if lasso else "lam",
    }
    steps: dict = {}

    def unrolled_fit(x, y, h):
        return unrolled(x, y, h, steps["unrolled"])

    implicit_fn = _grad_fn(fit, val, hyper)
    unrolled_fn = _grad_fn(unrolled_fit, val, hyper)
    base_setup = _implicit_data(classify=not lasso)

    def setup(rng):
        data = tuple(jnp.asarray(a) for a in base_setup(rng))
        x, y = data[:2]
        if lasso:
            res = optim.proximal_gradient(
                _least_squares,
                jnp.zeros(x.shape[1]),
                (x, y),
                prox=_prox_l1_alpha,
                prox_args=(jnp.float32(hyper),),
                max_steps=5000,
                tol=1e-5,
            )
            # Fixed-step FISTA without restarts needs more steps than ours for the same
            # accuracy; twice as many is enough here.
            steps["unrolled"] = 2 * int(res.num_steps)
        else:
            res = optim.newton(_logistic_penalised, jnp.zeros(x.shape[1]), (x, y, hyper), tol=1e-5)
            steps["unrolled"] = int(res.num_steps) + 2
        fit_only = jax.jit(lambda x, y, xv, yv: fit(x, y, jnp.asarray(hyper, x.dtype)))
        fns = [fit_only, jax.jit(implicit_fn), jax.jit(unrolled_fn)]
        fit_ms, grad_ms, unrolled_ms = _interleaved_ms(fns, data, 5 if quick else 20)
        params.update(
            fit_steps=int(res.num_steps),
            unrolled_steps=steps["unrolled"],
            fit_ms=round(fit_ms, 3),
            grad_ms=round(grad_ms, 3),
            unrolled_ms=round(unrolled_ms, 3),
            grad_over_fit=round(grad_ms / fit_ms, 2),
            unrolled_over_fit=round(unrolled_ms / fit_ms, 2),
        )
        return tuple(np.asarray(a) for a in data)

    return Case(
        "optim.implicit_grad",
        params,
        setup,
        [
            Contender("mlmath_jax implicit grad", implicit_fn),
            Contender("jax.grad through unrolled loop", unrolled_fn),
        ],
        reference=_lasso_reference if lasso else _logistic_reference,
        tol=2e-2,
        quick=quick,
    )


def _implicit_cases(quick: bool) -> list[Case]:
    return [_implicit_case("proximal_gradient", quick), _implicit_case("newton", quick)]


def cases(quick: bool) -> list[Case]:
    return _minimize_cases(quick) + _implicit_cases(quick) + ([] if quick else _model_cases(quick))
