"""ml cases: linear models and Gaussian naive Bayes against scikit-learn.

Fit time of ``least_squares``, ``ridge``, ``lasso`` and ``logistic_regression`` against
the scikit-learn estimator with the same objective, on diabetes and breast_cancer
(standardised) and on synthetic data (quick: n = 1e4, d = 50; full: n = 1e5, d = 100 and
n = 1e6, d = 256); a ridge path of 100 alphas in one ``vmap`` call against a scikit-learn
loop; ``GaussianNB`` fit + ``predict_proba``; and ``ml.eager``, the cost of a small eager
call (n = 200, d = 5) against the same function wrapped in ``jax.jit`` by hand (issue 12:
a repeated eager call compiles nothing and costs what the compiled call costs); and
``ml.lasso_grad``, one ``jax.grad`` of a loss of the lasso fit in ``alpha`` (implicit
differentiation, issue 17) against the float64 closed form on the active set, with the
time of one gradient over one fit in its params (goal <= 1.5); ``ml.logistic_grad``, the
same for ``logistic_regression`` in ``C`` against central differences of tight float64
scikit-learn fits, with ``jax.grad`` through 25 unrolled Newton steps as the peer. Inputs
are float32 for every contender (scikit-learn keeps float32 for these estimators);
references are scikit-learn in float64 with tight tolerances. Errors compare coefficients
(and intercepts) relative to their largest entry.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from mlmath_jax import ml

from ..harness import Case, Contender, interleaved

_ALPHA_RIDGE = 1.0
_LASSO = {"diabetes": 0.1, "breast_cancer": 0.01, "synthetic": 0.05}
_C = 1.0
_PATH = np.logspace(-3, 3, 100)


# --- data --------------------------------------------------------------------------------
def _diabetes(rng):
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    return x.astype(np.float32), y.astype(np.float32)


def _breast_cancer(rng):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(x).astype(np.float32), y.astype(np.float32)


def _synthetic(n, d, *, classify=False):
    def setup(rng):
        x = rng.standard_normal((n, d), dtype=np.float32)
        w = (rng.standard_normal(d) * (rng.random(d) < 0.3)).astype(np.float32)
        z = x @ w + 0.5
        if classify:
            return x, (z + rng.logistic(size=n).astype(np.float32) > 0).astype(np.float32)
        return x, z + 0.5 * rng.standard_normal(n, dtype=np.float32)

    return setup


# --- scikit-learn contenders and float64 references --------------------------------------
def _fit(est, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(x, y)
    return np.ravel(est.coef_), np.ravel(est.intercept_)[0]


def _sk(kind, x, y, *, precise=False):
    from sklearn import linear_model as lm

    if precise:
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if kind == "least_squares":
        return _fit(lm.LinearRegression(), x, y)
    if kind == "ridge":
        return _fit(lm.Ridge(_ALPHA_RIDGE), x, y)
    if kind.startswith("lasso"):
        alpha = float(kind.split(":")[1])
        tol = dict(tol=1e-10, max_iter=100_000) if precise else {}
        return _fit(lm.Lasso(alpha, **tol), x, y)
    if kind == "logistic":
        tol = dict(solver="newton-cholesky", tol=1e-10) if precise else {}
        return _fit(lm.LogisticRegression(C=_C, **tol), x, y.astype(np.int64))
    raise KeyError(kind)


def _ours(kind, x, y):
    if kind == "least_squares":
        m = ml.least_squares(x, y)
    elif kind == "ridge":
        m = ml.ridge(x, y, _ALPHA_RIDGE)
    elif kind.startswith("lasso"):
        m = ml.lasso(x, y, float(kind.split(":")[1]))
    else:
        m = ml.logistic_regression(x, y, C=_C)
    return m.coef, m.intercept


def _coef_error(out, ref):
    """Relative error of coefficients and of the intercept (on the coefficients' scale)."""
    coef, b = (np.asarray(v, np.float64) for v in out)
    rcoef, rb = (np.asarray(v, np.float64) for v in ref)
    scale = max(float(np.max(np.abs(rcoef))), abs(float(rb)), 1e-30)
    return max(float(np.max(np.abs(coef - rcoef))), abs(float(b - rb))) / scale


def _fit_case(kind, label, data_name, setup, n, d, quick, tol):
    flops = {"least_squares": 4.0 * n * d * d, "ridge": 2.0 * n * d * d}.get(label)
    params = {"n": n, "d": d, "data": data_name, "dtype": "float32"}
    if label == "lasso":
        params["alpha"] = float(kind.split(":")[1])
    peer = {
        "least_squares": "LinearRegression",
        "ridge": "Ridge(cholesky)",
        "lasso": "Lasso(cd)",
        "logistic": "LogisticRegression(lbfgs)",
    }[label]
    return Case(
        f"ml.{label}",
        params,
        setup,
        [
            Contender("mlmath_jax", functools.partial(_ours, kind)),
            Contender(f"sklearn {peer}", functools.partial(_sk, kind), "host"),
        ],
        # At n = 1e6 a float64 reference fit costs minutes on CPU: compare with
        # scikit-learn's own answer instead.
        reference=functools.partial(_sk, kind, precise=True) if n < 1_000_000 else None,
        error=_coef_error,
        tol=tol,
        flops=flops,
        quick=quick,
    )


def _fit_cases(quick: bool) -> list[Case]:
    out = []
    sizes = [("diabetes", _diabetes, 442, 10), ("breast_cancer", _breast_cancer, 569, 30)]
    sizes += (
        [("synthetic", None, 10_000, 50)]
        if quick
        else [
            ("synthetic", None, 100_000, 100),
            ("synthetic", None, 1_000_000, 256),
        ]
    )
    for data_name, setup, n, d in sizes:
        for label in ("least_squares", "ridge", "lasso", "logistic"):
            if label == "logistic" and data_name == "diabetes":
                continue
            if label != "logistic" and data_name == "breast_cancer":
                continue
            if quick and label == "logistic" and data_name == "synthetic":
                continue  # keeps --quick short: breast_cancer already covers logistic
            kind = f"lasso:{_LASSO[data_name]}" if label == "lasso" else label
            data = setup or _synthetic(n, d, classify=label == "logistic")
            # float32 vs a float64 reference; scikit-learn's own default tol for lasso and
            # logistic leaves ~1e-3 relative differences in the coefficients.
            tol = 2e-3 if label in ("least_squares", "ridge") else 2e-2
            out.append(_fit_case(kind, label, data_name, data, n, d, n <= 10_000, tol))
    return out


# --- ridge path ----------------------------------------------------------------------------
def _ours_path(x, y, alphas):
    import jax

    m = jax.vmap(ml.ridge, in_axes=(None, None, 0))(x, y, alphas)
    return m.coef


def _sk_path(x, y, alphas, *, precise=False):
    from sklearn.linear_model import Ridge

    if precise:
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.stack([Ridge(float(a)).fit(x, y).coef_ for a in alphas])


def _path_cases(quick: bool) -> list[Case]:
    sizes = [("diabetes", _diabetes, 442, 10)]
    sizes += [] if quick else [("synthetic", _synthetic(100_000, 100), 100_000, 100)]
    out = []
    for data_name, setup, n, d in sizes:

        def with_alphas(rng, setup=setup):
            return (*setup(rng), _PATH.astype(np.float32))

        out.append(
            Case(
                "ml.ridge_path",
                {"n": n, "d": d, "alphas": len(_PATH), "data": data_name, "dtype": "float32"},
                with_alphas,
                [
                    Contender("mlmath_jax", _ours_path),
                    Contender("sklearn Ridge loop", _sk_path, "host"),
                ],
                reference=functools.partial(_sk_path, precise=True),
                tol=2e-3,
                flops=2.0 * n * d * d + len(_PATH) * d**3 / 3,
                quick=n <= 10_000,
            )
        )
    return out


# --- Gaussian naive Bayes ------------------------------------------------------------------
def _gnb_setup(n, d, k):
    def setup(rng):
        y = rng.integers(0, k, n)
        centers = rng.standard_normal((k, d)).astype(np.float32)
        x = centers[y] + rng.standard_normal((n, d), dtype=np.float32)
        return x, y.astype(np.int32)

    return setup


def _wine(rng):
    from sklearn.datasets import load_wine

    x, y = load_wine(return_X_y=True)
    return x.astype(np.float32), y.astype(np.int32)


def _ours_gnb(x, y, *, k):
    return ml.GaussianNB.fit(x, y, k).predict_proba(x)


def _sk_gnb(x, y, *, precise=False):
    from sklearn.naive_bayes import GaussianNB

    if precise:
        x = np.asarray(x, np.float64)
    return GaussianNB().fit(x, y).predict_proba(x)


def _gnb_cases(quick: bool) -> list[Case]:
    sizes = [("wine", _wine, 178, 13, 3)]
    sizes += (
        [("synthetic", _gnb_setup(10_000, 50, 5), 10_000, 50, 5)]
        if quick
        else [("synthetic", _gnb_setup(100_000, 100, 10), 100_000, 100, 10)]
    )
    return [
        Case(
            "ml.gnb",
            {"n": n, "d": d, "classes": k, "data": name, "dtype": "float32", "work": "fit+proba"},
            setup,
            [
                Contender("mlmath_jax", functools.partial(_ours_gnb, k=k)),
                Contender("sklearn GaussianNB", _sk_gnb, "host"),
            ],
            reference=functools.partial(_sk_gnb, precise=True),
            error=lambda out, ref: float(np.max(np.abs(np.asarray(out) - ref))),
            tol=1e-3,
            bytes=4.0 * n * d * (2 + k),
            quick=n <= 10_000,
        )
        for name, setup, n, d, k in sizes
    ]


# --- eager cost of small calls ----------------------------------------------------------------
_interleaved = interleaved


def _eager_calls():
    """Case name -> (eager call of the public API, its inputs from ``(X, y, labels)``)."""
    return {
        "least_squares": (lambda X, y: ml.least_squares(X, y).coef, (0, 1)),
        "ridge": (lambda X, y: ml.ridge(X, y, 0.5).coef, (0, 1)),
        "lasso": (lambda X, y: ml.lasso(X, y, 0.01).coef, (0, 1)),
        "logistic_regression": (lambda X, labels: ml.logistic_regression(X, labels).coef, (0, 2)),
        "PCA.fit": (lambda X: ml.PCA.fit(X, 2).components, (0,)),
        "GaussianNB.fit+predict_proba": (
            lambda X, labels: ml.GaussianNB.fit(X, labels, 2).predict_proba(X),
            (0, 2),
        ),
    }


def _eager_case(name, fn, which, calls):
    import jax
    import jax.numpy as jnp

    params = {"n": 200, "d": 5, "dtype": "float32", "calls": calls}
    by_hand = jax.jit(fn)

    def setup(rng):
        X = rng.standard_normal((200, 5)).astype(np.float32)
        y = (X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(200)).astype(np.float32)
        labels = (y > np.median(y)).astype(np.int32)
        args = tuple(jnp.asarray((X, y, labels)[i]) for i in which)
        jax.block_until_ready(args)
        t_ours, t_jit = _interleaved(fn, by_hand, args, calls)
        params.update(
            ours_us=round(t_ours * 1e6, 1),
            jit_us=round(t_jit * 1e6, 1),
            ratio=round(t_ours / t_jit, 2),
        )
        return args

    return Case(
        f"ml.eager.{name}",
        params,
        setup,
        [Contender("mlmath_jax", fn, "host"), Contender("jax.jit by hand", by_hand, "host")],
        reference=lambda *args: jax.device_get(by_hand(*args)),
        tol=1e-4,
        quick=True,
    )


def _eager_cases(quick: bool) -> list[Case]:
    calls = 100 if quick else 500
    return [_eager_case(n, fn, which, calls) for n, (fn, which) in _eager_calls().items()]


# --- gradient through lasso ----------------------------------------------------------------------
def _lasso_loss(alpha, x, y):
    m = ml.lasso(x, y, alpha)
    r = m.predict(x) - y
    return 0.5 * (r @ r) / x.shape[0]


def _ours_lasso_grad(x, y, alpha):
    import jax

    return jax.grad(_lasso_loss)(alpha, x, y)


def _lasso_grad_reference(x, y, alpha):
    """The loss gradient in alpha from a tight float64 fit (closed form on the active set).

    ``d coef_A = -n (X_Aᵀ X_A)^{-1} sign(coef_A)``, 0 off the active set.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    coef, b = _sk(f"lasso:{float(alpha)}", x, y, precise=True)
    active = coef != 0
    xc = x - x.mean(0)
    xa = xc[:, active]
    dcoef = np.zeros_like(coef)
    dcoef[active] = -len(y) * np.linalg.solve(xa.T @ xa, np.sign(coef[active]))
    dpred = xc @ dcoef  # the intercept moves with -x_mean · d coef
    r = x @ coef + b - y
    return float(r @ dpred) / len(y)


def _lasso_grad_case(data_name, setup, n, d, alpha):
    import jax

    params = {"n": n, "d": d, "alpha": alpha, "data": data_name, "dtype": "float32"}
    grad = jax.jit(_ours_lasso_grad)
    fit = jax.jit(lambda x, y, a: ml.lasso(x, y, a).coef)

    def with_alpha(rng):
        x, y = setup(rng)
        args = (jax.device_put(x), jax.device_put(y), np.float32(alpha))
        t_grad, t_fit = _interleaved(grad, fit, args, 20)
        params.update(
            grad_ms=round(t_grad * 1e3, 3),
            fit_ms=round(t_fit * 1e3, 3),
            grad_over_fit=round(t_grad / t_fit, 2),
        )
        return x, y, np.float32(alpha)

    return Case(
        "ml.lasso_grad",
        params,
        with_alpha,
        [Contender("mlmath_jax", _ours_lasso_grad)],
        reference=_lasso_grad_reference,
        error=lambda out, ref: abs(float(out) - ref) / max(abs(ref), 1e-30),
        tol=2e-2,
        quick=n <= 10_000,
    )


def _lasso_grad_cases(quick: bool) -> list[Case]:
    sizes = [("diabetes", _diabetes, 442, 10)]
    sizes += [("synthetic", _synthetic(10_000, 50), 10_000, 50)]
    sizes += [] if quick else [("synthetic", _synthetic(100_000, 100), 100_000, 100)]
    return [_lasso_grad_case(name, setup, n, d, _LASSO[name]) for name, setup, n, d in sizes]


def _logistic_train_loss(c, x, y):
    import jax.numpy as jnp

    z = ml.logistic_regression(x, y, C=c).decision_function(x)
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z)


def _ours_logistic_grad(x, y, c):
    import jax

    return jax.grad(_logistic_train_loss)(c, x, y)


def _unrolled_logistic_grad(x, y, c, steps=25):
    """``jax.grad`` through ``steps`` plain Newton steps (the loop unrolled by autodiff)."""
    import jax
    import jax.numpy as jnp

    def loss(c):
        xt = jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)
        mask = jnp.ones(xt.shape[1], x.dtype).at[-1].set(0.0)

        def step(_, theta):
            z = xt @ theta
            p = jax.nn.sigmoid(z)
            g = c * (xt.T @ (p - y)) + mask * theta
            h = c * (xt.T * (p * (1 - p))) @ xt + jnp.diag(mask)
            return theta - jnp.linalg.solve(h, g)

        theta = jax.lax.fori_loop(0, steps, step, jnp.zeros(xt.shape[1], x.dtype))
        z = xt @ theta
        return jnp.mean(jnp.logaddexp(0.0, z) - y * z)

    return jax.grad(loss)(c)


def _logistic_grad_reference(x, y, c):
    """Central difference of the train loss over tight float64 scikit-learn fits."""
    from sklearn.linear_model import LogisticRegression

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)

    def loss(cc):
        m = LogisticRegression(C=cc, tol=1e-12, max_iter=10_000).fit(x, y)
        z = x @ m.coef_[0] + m.intercept_[0]
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    h = 1e-3 * float(c)
    return (loss(float(c) + h) - loss(float(c) - h)) / (2 * h)


def _logistic_grad_cases(quick: bool) -> list[Case]:
    import jax

    out = []
    sizes = [("breast_cancer", _breast_cancer, 569, 30)]
    sizes += [] if quick else [("synthetic", _synthetic(100_000, 100, classify=True), 100_000, 100)]
    for name, setup, n, d in sizes:
        params = {"n": n, "d": d, "C": _C, "data": name, "dtype": "float32"}
        grad = jax.jit(_ours_logistic_grad)
        fit = jax.jit(lambda x, y, c: ml.logistic_regression(x, y, C=c).coef)

        def with_c(rng, setup=setup, params=params, grad=grad, fit=fit):
            x, y = setup(rng)
            args = (jax.device_put(x), jax.device_put(y), np.float32(_C))
            t_grad, t_fit = _interleaved(grad, fit, args, 20)
            params.update(
                grad_ms=round(t_grad * 1e3, 3),
                fit_ms=round(t_fit * 1e3, 3),
                grad_over_fit=round(t_grad / t_fit, 2),
            )
            return x, y, np.float32(_C)

        out.append(
            Case(
                "ml.logistic_grad",
                params,
                with_c,
                [
                    Contender("mlmath_jax", _ours_logistic_grad),
                    Contender("jax.grad through 25 unrolled Newton steps", _unrolled_logistic_grad),
                ],
                reference=_logistic_grad_reference,
                error=lambda out, ref: abs(float(out) - ref) / max(abs(ref), 1e-30),
                tol=2e-2,
                quick=n <= 10_000,
            )
        )
    return out


def cases(quick: bool) -> list[Case]:
    return (
        _fit_cases(quick)
        + _path_cases(quick)
        + _gnb_cases(quick)
        + _eager_cases(quick)
        + _lasso_grad_cases(quick)
        + _logistic_grad_cases(quick)
    )
