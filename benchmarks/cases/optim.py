"""optim cases: minimize steps/s (device loop vs Python loop), Newton, FISTA vs scikit-learn.

``optim.minimize_steps`` runs exactly ``steps`` steps (tol = 0), so steps per second is
``steps / median``. ``--quick`` keeps only SGD at n = 100 with 100 steps.
"""

from __future__ import annotations

import functools

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


def cases(quick: bool) -> list[Case]:
    return _minimize_cases(quick) + ([] if quick else _model_cases(quick))
