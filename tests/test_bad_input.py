"""No silent answer from bad input (issue 16): every error names the argument.

One table of bad calls across the public API: ``None``, strings and objects for arrays,
string, negative and non-scalar tolerances, truthy strings for bool options, bad PRNG keys,
complex objectives, shape mismatches that only broadcasting would catch, empty and negative
input. Each must raise ``TypeError`` or ``ValueError`` whose message names the argument
(not an error from inside JAX). Almost every call raises before anything compiles.
"""

from __future__ import annotations

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import calculus, linalg, ml, optim, prob

A2 = np.eye(2) * 2.0
V2 = np.array([1.0, 2.0])
X42 = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.0], [3.0, 1.0]])
Y4 = np.array([1.0, 3.0, 5.0, 7.0])
YB = np.array([0, 1, 0, 1])
J22 = np.full((2, 2), 0.25)
NEG22 = np.array([[0.5, -0.25], [0.5, 0.25]])
KEY = jax.random.key(0)
GROUPS = np.array([0, 1])
BAD_KEYS = {"None": None, "float": 1.5, "uint32[3]": np.zeros(3, np.uint32), "str": "abc"}
JAX_INTERNAL = ("Error interpreting argument", "JAX encountered", "unexpected PRNG key type")


def sq(x, *args):
    return jnp.sum(x**2)


def complex_fun(x, *args):
    return jnp.sum(x**2) + 1j


def identity_prox(v, step):
    return v


_CASES: list = []


def bad(id_, name, fn, exc=(TypeError, ValueError)):
    """Register ``fn(ctx)``: it must raise ``exc`` with a message naming ``name``."""
    _CASES.append(pytest.param(fn, name, exc, id=id_))


def array_args(fname, call, names, *, none=True, objects=False):
    """``None`` and a string (and with ``objects`` an object) for each array argument."""
    for n in names:
        if none:
            bad(f"{fname}-{n}-None", n, lambda c, n=n: call(c, **{n: None}), TypeError)
        bad(f"{fname}-{n}-str", n, lambda c, n=n: call(c, **{n: "abc"}), TypeError)
        if objects:
            bad(f"{fname}-{n}-object", n, lambda c, n=n: call(c, **{n: object()}), TypeError)


def key_args(fname, call, name="key", kinds=tuple(BAD_KEYS)):
    for kid in kinds:
        k = BAD_KEYS[kid]
        bad(f"{fname}-{name}-{kid}", name, lambda c, k=k: call(c, **{name: k}), TypeError)


def tol_args(fname, call, name):
    bad(f"{fname}-{name}-str", name, lambda c: call(c, **{name: "abc"}), TypeError)
    bad(f"{fname}-{name}-negative", name, lambda c: call(c, **{name: -1.0}), ValueError)


def kw(fn, **good):
    """A caller ``(ctx, **override) -> fn(**good | override)``."""
    return lambda c, **o: fn(**{**good, **o})


# --- linalg ----------------------------------------------------------------------------
for _n in ("det", "inv", "eigh", "eig", "slogdet", "charpoly"):
    _f = getattr(linalg, _n)
    array_args(_n, lambda c, a, f=_f: f(a), ["a"], objects=_n == "det")
array_args("solve", kw(linalg.solve, a=A2, b=V2), ["a", "b"])
bad("solve-shape", "b", lambda c: linalg.solve(A2, np.ones(3)), ValueError)
array_args("matvec", kw(linalg.matvec, a=A2, x=V2), ["a", "x"])
bad("matvec-shape", "x", lambda c: linalg.matvec(A2, np.ones(3)), ValueError)
bad("inner-shape", "y", lambda c: linalg.inner(V2, np.ones(3)), ValueError)
for _n in ("rank", "pinv", "is_psd"):
    _f = getattr(linalg, _n)
    _call = kw(_f, a=A2)
    array_args(_n, _call, ["a"])
    tol_args(_n, _call, "rtol")
    bad(
        f"{_n}-rtol-batch-shape",
        "rtol",
        lambda c, f=_f: f(np.stack([A2, A2]), rtol=np.ones(3)),
        ValueError,
    )
tol_args("is_linearly_independent", kw(linalg.is_linearly_independent, vectors=A2), "rtol")
bad("vector_norm-ord", "ord", lambda c: linalg.vector_norm(V2, "abc"), ValueError)
bad("matrix_norm-ord", "ord", lambda c: linalg.matrix_norm(A2, "abc"), ValueError)
bad("cond-p", "p", lambda c: linalg.cond(A2, "abc"), ValueError)
for _n, _good in (("power_iteration", {}), ("eigsh", {"k": 1})):
    _f = getattr(linalg, _n)
    _call = kw(_f, a_or_matvec=np.eye(4), **_good)
    array_args(_n, _call, ["a_or_matvec"])
    array_args(_n, _call, ["v0"], none=False)
    tol_args(_n, _call, "tol")
    bad(f"{_n}-v0-shape", "v0", lambda c, call=_call: call(c, v0=np.ones(3)), ValueError)
bad("eigsh-which", "which", lambda c: linalg.eigsh(np.eye(4), 1, which="XX"), ValueError)
bad("eigsh-k-str", "k", lambda c: linalg.eigsh(np.eye(4), "1"), TypeError)

# --- prob: distributions ---------------------------------------------------------------
DISTS = {
    "Normal": (prob.Normal, {"loc": 0.0, "scale": 1.0}),
    "Uniform": (prob.Uniform, {"low": 0.0, "high": 1.0}),
    "Exponential": (prob.Exponential, {"rate": 1.0}),
    "Gamma": (prob.Gamma, {"concentration": 2.0, "rate": 1.0}),
    "Beta": (prob.Beta, {"alpha": 2.0, "beta": 2.0}),
    "Bernoulli": (prob.Bernoulli, {"probs": 0.3}),
    "Binomial": (prob.Binomial, {"total_count": 5.0, "probs": 0.3}),
    "Categorical": (prob.Categorical, {"probs": np.array([0.3, 0.7])}),
    "Poisson": (prob.Poisson, {"rate": 2.0}),
    "Dirichlet": (prob.Dirichlet, {"concentration": np.array([1.0, 2.0])}),
    "MultivariateNormal": (prob.MultivariateNormal, {"loc": V2, "covariance": A2}),
}
for _dn, (_cls, _good) in DISTS.items():
    for _p in _good:
        # A string parameter is refused by the constructor, not at the first method call.
        bad(f"{_dn}-{_p}-str", _p, lambda c, cls=_cls, g=_good, p=_p: cls(**{**g, p: "abc"}))
        if _dn == "Normal":
            bad(f"{_dn}-{_p}-None", _p, lambda c, cls=_cls, g=_good, p=_p: cls(**{**g, p: None}))
    _d = lambda c, cls=_cls, g=_good: cls(**g)  # noqa: E731
    if _dn == "MultivariateNormal":
        continue  # (its constructor alone compiles a factorisation: keep this file fast)
    _kinds = tuple(BAD_KEYS) if _dn in ("Normal", "Poisson") else ("uint32[3]",)
    key_args(f"{_dn}.sample", lambda c, key, d=_d: d(c).sample(key), kinds=_kinds)
    bad(f"{_dn}.sample-shape-str", "sample_shape", lambda c, d=_d: d(c).sample(KEY, "3"))
    bad(f"{_dn}.log_prob-None", "x", lambda c, d=_d: d(c).log_prob(None), TypeError)
for _dn in ("Normal", "Gamma", "Beta"):
    _cls, _good = DISTS[_dn]
    bad(f"{_dn}.icdf-str", "q", lambda c, cls=_cls, g=_good: cls(**g).icdf("abc"), TypeError)
    bad(f"{_dn}.cdf-None", "x", lambda c, cls=_cls, g=_good: cls(**g).cdf(None), TypeError)
_N2 = lambda: prob.Normal(jnp.array([0.0, 1.0]), 2.0)  # noqa: E731
bad(
    "Normal.log_prob-shape",
    r"x must broadcast.*\(2,\).*\(3,\)",
    lambda c: _N2().log_prob(jnp.zeros(3)),
    ValueError,
)
bad("Normal.cdf-shape", "x", lambda c: _N2().cdf(jnp.zeros(3)), ValueError)
bad("Normal.icdf-shape", "q", lambda c: _N2().icdf(jnp.full(3, 0.5)), ValueError)
bad("Normal-batch", "scale", lambda c: prob.Normal(np.zeros(2), np.ones(3)), ValueError)
bad("Normal-loc-complex", "loc", lambda c: prob.Normal(1 + 1j, 1.0), TypeError)
bad("MVN-dims", "covariance", lambda c: prob.MultivariateNormal(np.zeros(3), A2), ValueError)
bad(
    "Dirichlet.log_prob-event",
    r"x must broadcast.*event_shape \(2,\)",
    lambda c: prob.Dirichlet(np.array([1.0, 2.0])).log_prob(np.full(3, 1 / 3)),
    ValueError,
)
bad("Categorical-empty", "probs", lambda c: prob.Categorical(np.zeros(0)), ValueError)
bad("Dirichlet-empty", "concentration", lambda c: prob.Dirichlet(np.zeros(0)), ValueError)
bad(
    "Normal-scale-echo",
    r"scale must be > 0, got -0\.1$",
    lambda c: prob.Normal(0.0, -0.1),
    ValueError,
)
bad(
    "Normal-scale-f32-echo", r"got -0\.1$", lambda c: prob.Normal(0.0, np.float32(-0.1)), ValueError
)

# --- prob: statistics and tables -------------------------------------------------------
for _n in ("mean", "var", "std", "median"):
    _f = getattr(prob, _n)
    array_args(_n, lambda c, x, f=_f: f(x), ["x"])
    bad(f"{_n}-axis-str", "axis", lambda c, f=_f: f(V2, "0"), TypeError)
    bad(f"{_n}-axis-range", "axis", lambda c, f=_f: f(V2, 5), ValueError)
array_args("quantile", kw(prob.quantile, x=V2, q=0.5), ["x", "q"])
bad("quantile-q-range", "q", lambda c: prob.quantile(V2, 1.5), ValueError)
bad("quantile-method", "method", lambda c: prob.quantile(V2, 0.5, method="xx"), ValueError)
bad("quantile-keepdims", "keepdims", lambda c: prob.quantile(V2, 0.5, keepdims="no"))
bad(
    "quantile-weights-shape",
    "weights",
    lambda c: prob.quantile(V2, 0.5, method="inverted_cdf", weights=np.ones(3)),
)
for _n in ("covariance", "correlation"):
    _f = getattr(prob, _n)
    array_args(_n, lambda c, x, f=_f: f(x), ["x"])
    bad(f"{_n}-1d", "x", lambda c, f=_f: f(V2), ValueError)
bad("covariance-ddof", "ddof", lambda c: prob.covariance(X42, "1"), TypeError)
array_args("Moments.from_data", lambda c, x: prob.Moments.from_data(x), ["x"])
bad("Moments.merge-shape", r"other.*\(3,\).*\(2,\)", lambda c: c.mom2.merge(c.mom3), ValueError)
bad("Moments.merge-None", "other", lambda c: c.mom2.merge(None), TypeError)
bad("Moments.variance-ddof", "ddof", lambda c: c.mom2.variance("1"), TypeError)
_expect = kw(prob.expectation, fun=lambda x: x, dist=prob.Normal(0.0, 1.0), key=KEY, num_samples=4)
key_args("expectation", _expect)
bad("expectation-num_samples", "num_samples", lambda c: _expect(c, num_samples="4"), TypeError)
bad("expectation-fun-str", "fun", lambda c: _expect(c, fun="abc"), TypeError)
bad("expectation-fun-complex", "fun", lambda c: _expect(c, fun=lambda x: x + 1j), TypeError)
bad("expectation-dist-None", "dist", lambda c: _expect(c, dist=None), TypeError)
for _n, _arg in (
    ("mutual_information", "joint"),
    ("are_independent", "joint"),
    ("chi2_independence", "counts"),
):
    _f = getattr(prob, _n)
    array_args(_n, lambda c, f=_f, **o: f(*o.values()), [_arg])
    bad(f"{_n}-negative", _arg, lambda c, f=_f: f(NEG22), ValueError)
    if _n != "chi2_independence":  # an all-zero count table gives NaN (no expected counts)
        bad(f"{_n}-zeros", _arg, lambda c, f=_f: f(np.zeros((2, 2))), ValueError)
tol_args("are_independent", kw(prob.are_independent, joint=J22), "atol")
bad("chi2-correction", "correction", lambda c: prob.chi2_independence(J22 * 8, correction="no"))
for _n, _arg in (("marginal", "axes"), ("conditional", "given")):
    _f = getattr(prob, _n)
    array_args(_n, lambda c, joint, f=_f: f(joint, 0), ["joint"])
    bad(f"{_n}-{_arg}-str", _arg, lambda c, f=_f: f(J22, "0"), TypeError)
    bad(f"{_n}-{_arg}-range", _arg, lambda c, f=_f: f(J22, 5), ValueError)
    bad(f"{_n}-negative", "joint", lambda c, f=_f: f(NEG22, 0), ValueError)
bad("joint_table-None", "columns", lambda c: prob.joint_table(None, num_categories=2), TypeError)
bad("joint_table-k", "num_categories", lambda c: prob.joint_table(YB, num_categories="2"))
bad(
    "joint_table-normalize",
    "normalize",
    lambda c: prob.joint_table(YB, num_categories=2, normalize="no"),
)
bad("joint_table-lengths", "columns", lambda c: prob.joint_table(YB, YB[:3], num_categories=2))

# --- calculus --------------------------------------------------------------------------
X2 = jnp.ones(2)
GRID = jnp.linspace(0.0, 3.0, 5)
_hvp = kw(calculus.hvp, fun=sq, x=X2, v=X2)
array_args("hvp", _hvp, ["x", "v"], none=False, objects=True)
bad("hvp-fun-str", "fun", lambda c: _hvp(c, fun="abc"), TypeError)
bad("hvp-fun-complex", "fun", lambda c: _hvp(c, fun=complex_fun), TypeError)
bad("hvp-v-shape", "v", lambda c: _hvp(c, v=jnp.ones(3)), ValueError)
_cg = kw(calculus.check_grad, fun=sq, x=X2)
array_args("check_grad", _cg, ["x"], none=False, objects=True)
tol_args("check_grad", _cg, "eps")
bad("check_grad-eps-list", "eps", lambda c: _cg(c, eps=[1.0, 2.0]), ValueError)
for _kid in ("float", "uint32[3]", "str"):  # key=None means the default key
    bad(f"check_grad-key-{_kid}", "key", lambda c, k=BAD_KEYS[_kid]: _cg(c, key=k), TypeError)
bad("check_grad-fun-complex", "fun", lambda c: _cg(c, fun=complex_fun), TypeError)
_he = kw(calculus.hessian_eigsh, fun=sq, x=jnp.ones(4), k=1)
array_args("hessian_eigsh", _he, ["x", "v0"], none=False, objects=True)
tol_args("hessian_eigsh", _he, "tol")
bad("hessian_eigsh-tol-list", "tol", lambda c: _he(c, tol=[1.0, 2.0]), ValueError)
bad("hessian_eigsh-v0-shape", "v0", lambda c: _he(c, v0=jnp.ones(3)), ValueError)
bad("hessian_eigsh-fun-complex", "fun", lambda c: _he(c, fun=complex_fun), TypeError)
_ht = kw(calculus.hessian_trace, fun=sq, x=X2, key=KEY, num_samples=2)
array_args("hessian_trace", _ht, ["x"], none=False)
key_args("hessian_trace", _ht)
bad("hessian_trace-fun-complex", "fun", lambda c: _ht(c, fun=complex_fun), TypeError)
_hsd = kw(
    calculus.hessian_spectral_density, fun=sq, x=X2, key=KEY, num_probes=1, num_iters=2, grid=GRID
)
array_args("hessian_spectral_density", _hsd, ["grid"])
key_args("hessian_spectral_density", _hsd)
tol_args("hessian_spectral_density", _hsd, "sigma")
bad("hsd-sigma-list", "sigma", lambda c: _hsd(c, sigma=[1.0, 2.0]), ValueError)
bad(
    "hsd-grid-decreasing",
    "grid must be strictly increasing",
    lambda c: _hsd(c, grid=GRID[::-1]),
    ValueError,
)
bad("hsd-num_iters", "num_iters", lambda c: _hsd(c, num_iters=2.5), TypeError)

# --- optim -----------------------------------------------------------------------------
_qm = kw(optim.quadratic_minimizer, a=A2, b=V2)
array_args("quadratic_minimizer", _qm, ["a", "b"], objects=True)
bad("quadratic_minimizer-a-complex", "a", lambda c: _qm(c, a=A2 + 0j), TypeError)
bad("quadratic_minimizer-b-complex", "b", lambda c: _qm(c, b=V2 + 1j), TypeError)
bad("quadratic_minimizer-b-shape", "b", lambda c: _qm(c, b=np.ones(3)), ValueError)
bad(
    "quadratic_minimizer-not-pd", "a must be positive definite", lambda c: _qm(c, a=-A2), ValueError
)
array_args("quadratic", kw(optim.quadratic, a=A2, b=V2), ["a", "b", "c"])
_cc = kw(optim.convexity_check, fun=sq, points=jnp.ones((3, 2)), key=KEY)
array_args("convexity_check", _cc, ["points"], none=False, objects=True)
key_args("convexity_check", _cc)
bad("convexity_check-fun-complex", "fun", lambda c: _cc(c, fun=complex_fun), TypeError)
for _n, _extra in (
    ("minimize", {}),
    ("newton", {}),
    ("proximal_gradient", {"prox": identity_prox}),
):
    _call = kw(getattr(optim, _n), fun=sq, x0=X2, **_extra)
    array_args(_n, _call, ["x0"], none=False, objects=True)
    tol_args(_n, _call, "tol")
    bad(f"{_n}-tol-list", "tol", lambda c, call=_call: call(c, tol=[1.0, 2.0]), ValueError)
    bad(f"{_n}-max_steps", "max_steps", lambda c, call=_call: call(c, max_steps="9"), TypeError)
    bad(f"{_n}-fun-complex", "fun", lambda c, call=_call: call(c, fun=complex_fun), TypeError)
    bad(f"{_n}-fun-str", "fun", lambda c, call=_call: call(c, fun="abc"), TypeError)
_pg = kw(optim.proximal_gradient, fun=sq, x0=X2, prox=identity_prox)
bad(
    "proximal_gradient-step_size-list",
    "step_size",
    lambda c: _pg(c, step_size=[1.0, 2.0]),
    ValueError,
)
bad("proximal_gradient-step_size-neg", "step_size", lambda c: _pg(c, step_size=-1.0), ValueError)
bad("proximal_gradient-accelerate", "accelerate", lambda c: _pg(c, accelerate="no"), TypeError)
bad(
    "minimize-optimizer", "optimizer", lambda c: optim.minimize(sq, X2, optimizer="adam"), TypeError
)
bad("newton-solver", "solver", lambda c: optim.newton(sq, X2, solver="xx"), ValueError)
for _n, _good in (
    ("prox_l1", {"x": V2, "threshold": 1.0}),
    ("prox_elastic_net", {"x": V2, "l1": 1.0, "l2": 1.0}),
    ("prox_nuclear", {"a": A2, "threshold": 1.0}),
    ("prox_group_lasso", {"x": V2, "threshold": 1.0, "groups": GROUPS}),
):
    _call = kw(getattr(optim, _n), **_good)
    array_args(_n, _call, list(_good)[:2], objects=_n == "prox_l1")
    _t = "l2" if _n == "prox_elastic_net" else "threshold"
    bad(f"{_n}-{_t}-negative", _t, lambda c, call=_call, t=_t: call(c, **{t: -1.0}), ValueError)
bad("prox_l1-threshold-shape", "threshold", lambda c: optim.prox_l1(V2, np.ones(3)), ValueError)
bad(
    "prox_elastic_net-l1-shape",
    "l1",
    lambda c: optim.prox_elastic_net(V2, np.ones(3), 1.0),
    ValueError,
)
bad(
    "prox_group_lasso-complex",
    "x",
    lambda c: optim.prox_group_lasso(V2 + 1j, 1.0, GROUPS),
    TypeError,
)
bad(
    "prox_group_lasso-groups-shape",
    "groups",
    lambda c: optim.prox_group_lasso(V2, 1.0, np.array([0, 1, 1])),
    ValueError,
)

# --- ml --------------------------------------------------------------------------------
for _n, _good, _bools in (
    ("least_squares", {"X": X42, "y": Y4}, ["fit_intercept"]),
    ("ridge", {"X": X42, "y": Y4, "alpha": 1.0}, ["fit_intercept"]),
    ("lasso", {"X": X42, "y": Y4, "alpha": 0.1}, ["fit_intercept", "positive"]),
    ("logistic_regression", {"X": X42, "y": YB}, ["fit_intercept"]),
):
    _call = kw(getattr(ml, _n), **_good)
    array_args(_n, _call, list(_good), none=_n == "least_squares")
    array_args(_n, _call, ["sample_weight"], none=False)
    for _b in _bools:
        bad(
            f"{_n}-{_b}-truthy-str", _b, lambda c, call=_call, b=_b: call(c, **{b: "no"}), TypeError
        )
    bad(f"{_n}-y-shape", "y", lambda c, call=_call: call(c, y=np.ones(3)), ValueError)
    bad(
        f"{_n}-sw-shape",
        "sample_weight",
        lambda c, call=_call: call(c, sample_weight=np.ones(3)),
        ValueError,
    )
    bad(
        f"{_n}-X-empty",
        "X",
        lambda c, call=_call: call(c, X=np.zeros((0, 2)), y=np.zeros(0)),
        ValueError,
    )
for _n in ("lasso", "logistic_regression"):
    _call = kw(
        getattr(ml, _n),
        X=X42,
        y=Y4 if _n == "lasso" else YB,
        **({"alpha": 0.1} if _n == "lasso" else {}),
    )
    tol_args(_n, _call, "tol")
    bad(f"{_n}-max_iter", "max_iter", lambda c, call=_call: call(c, max_iter=2.5), TypeError)
bad("ridge-alpha-negative", "alpha", lambda c: ml.ridge(X42, Y4, -1.0), ValueError)
bad("lasso-alpha-negative", "alpha", lambda c: ml.lasso(X42, Y4, -1.0), ValueError)
bad(
    "logistic-C-echo",
    r"C must be > 0, got -0\.1$",
    lambda c: ml.logistic_regression(X42, YB, C=-0.1),
    ValueError,
)
bad(
    "logistic-C-zero",
    r"C must be > 0, got 0\.0$",
    lambda c: ml.logistic_regression(X42, YB, C=0.0),
    ValueError,
)
bad(
    "logistic-y-labels",
    "y",
    lambda c: ml.logistic_regression(X42, np.array([0, 1.5, 0, 1])),
    ValueError,
)
array_args("PCA.fit", lambda c, X: ml.PCA.fit(X, 1), ["X"])
bad("PCA.fit-k", "n_components", lambda c: ml.PCA.fit(X42, 5), ValueError)
bad("PCA.transform-shape", "X", lambda c: c.pca.transform(np.ones((2, 5))), ValueError)
bad(
    "PCA.inverse_transform-shape",
    "Z",
    lambda c: c.pca.inverse_transform(np.ones((2, 5))),
    ValueError,
)
array_args("GaussianNB.fit", kw(lambda X, y: ml.GaussianNB.fit(X, y, 2), X=X42, y=YB), ["X", "y"])
bad(
    "GaussianNB.fit-y-float",
    "y",
    lambda c: ml.GaussianNB.fit(X42, np.array([0, 1.5, 0, 1]), 2),
    ValueError,
)
for _m in ("predict", "predict_proba"):
    bad(f"GaussianNB.{_m}-None", "X", lambda c, m=_m: getattr(c.nb, m)(None), TypeError)
    bad(
        f"GaussianNB.{_m}-shape", "X", lambda c, m=_m: getattr(c.nb, m)(np.ones((2, 5))), ValueError
    )
for _m in ("predict", "decision_function"):
    bad(f"LinearModel.{_m}-str", "X", lambda c, m=_m: getattr(c.lm, m)("abc"), TypeError)
    bad(
        f"LinearModel.{_m}-shape",
        "X",
        lambda c, m=_m: getattr(c.lm, m)(np.ones((2, 5))),
        ValueError,
    )
_sc = kw(ml.spectral_clustering, X=X42, n_clusters=2, key=KEY)
array_args("spectral_clustering", _sc, ["X"])
key_args("spectral_clustering", _sc)
tol_args("spectral_clustering", _sc, "gamma")
bad("spectral_clustering-k", "n_clusters", lambda c: _sc(c, n_clusters=9), ValueError)
array_args("fit_mle", lambda c, data: ml.fit_mle(prob.Normal, data), ["data"])
bad("fit_mle-family", "family", lambda c: ml.fit_mle("abc", V2), ValueError)
bad("fit_mle-empty", "data", lambda c: ml.fit_mle(prob.Normal, np.zeros(0)), ValueError)


class _Fitted:
    """Fitted models and moments the method cases call, each built on first use only."""

    # Hand-built models: their methods' checks are what is tested, not a fit.
    @functools.cached_property
    def nb(self):
        two = jnp.ones((2, 2))
        return ml.GaussianNB(jnp.ones(2), jnp.full(2, 0.5), two, two, jnp.array(1e-9))

    @functools.cached_property
    def pca(self):
        return ml.PCA(jnp.array([[1.0, 0.0]]), jnp.ones(1), jnp.ones(1), jnp.zeros(2))

    @functools.cached_property
    def lm(self):
        return ml.LinearModel(coef=jnp.array([1.0, 2.0]), intercept=jnp.array(0.5))

    @functools.cached_property
    def mom2(self):
        return prob.Moments.from_data(np.ones((3, 2)))

    @functools.cached_property
    def mom3(self):
        return prob.Moments.from_data(np.ones((3, 3)))


@pytest.fixture(scope="module")
def ctx():
    return _Fitted()


def _names(pattern: str) -> str:
    """A bare argument name must appear as a word; anything else is a regex as given."""
    if re.fullmatch(r"\w+", pattern):
        return rf"(?<![\w.]){pattern}(?!\w)"
    return pattern


@pytest.mark.parametrize(("fn", "name", "exc"), _CASES)
def test_bad_input_names_the_argument(ctx, fn, name, exc):
    with pytest.raises(exc) as info:
        fn(ctx)
    message = str(info.value)
    assert re.search(_names(name), message), f"{name!r} not named in: {message}"
    assert not any(s in message for s in JAX_INTERNAL), message


def test_the_table_is_large():
    # The sweep's representative set: every area, each bad-input class.
    assert len(_CASES) >= 150


# --- valid input around the checks still passes -----------------------------------------


def test_legacy_and_typed_keys_are_accepted():
    d = prob.Normal(0.0, 1.0)
    assert d.sample(jax.random.PRNGKey(0), (2,)).shape == (2,)
    jitted = jax.jit(lambda k: d.sample(k, (3,)))  # a traced key passes the shape check
    assert jitted(KEY).shape == (3,)


def test_traced_tolerances_skip_value_checks():
    # Under jit a traced threshold cannot be checked: a negative one gives what the
    # formula gives (documented), and no error is raised at trace time.
    out = jax.jit(lambda t: optim.prox_l1(jnp.array([2.0, -3.0]), t))(1.0)
    np.testing.assert_allclose(out, np.array([1.0, -2.0]))
    r = jax.jit(lambda t: linalg.rank(jnp.eye(3), rtol=t))(0.5)
    assert int(r) == 3


def test_array_rtol_broadcasts_like_numpy():
    a = np.stack([np.eye(2), np.diag([1.0, 1e-3])])
    got = linalg.rank(a, rtol=[0.5, 0.5])
    np.testing.assert_array_equal(got, np.linalg.matrix_rank(a, rtol=np.array([0.5, 0.5])))


def test_documented_nan_instead_of_error():
    # icdf outside [0, 1] is NaN, as scipy.stats' ppf; a traced q outside [0, 1] in quantile is NaN.
    assert np.isnan(prob.Normal(0.0, 1.0).icdf(1.5))
    assert np.isnan(jax.jit(lambda q: prob.quantile(jnp.array([1.0, 2.0]), q))(1.5))
