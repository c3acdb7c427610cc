"""Issue 16: numerical traps of the distributions at extreme parameters, against SciPy.

Ports of SciPy's own tests name the peer test in a comment and keep its inputs and
tolerances; float64 checks are marked ``x64``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

from mlmath_jax import prob
from mlmath_jax.prob import Beta, Binomial, Categorical, Dirichlet, MultivariateNormal, Poisson
from mlmath_jax.prob._special import gammaincc, lgamma1p

# --- the incomplete beta at large parameters (Binomial.cdf, Beta.cdf) ---------------------


def _half_plus(a):
    """Exact ``I_{1/2}(a, a + 1) = 1/2 + Gamma(a + 1/2) / (2 a sqrt(pi) Gamma(a))``.

    ``Gamma(a + 1/2) / Gamma(a) = sqrt(a) (1 - 1/(8a) + 1/(128 a^2) + ...)``; for ``a >=
    5e7`` the truncation is below 1e-23 relative.
    """
    return 0.5 + (1 - 1 / (8 * a) + 1 / (128 * a * a)) / (2 * np.sqrt(np.pi * a))


# Every Binomial case of the float64 tests below, (n, p, k) each: they are evaluated in one
# batch, so each method compiles once (the incomplete beta's Temme expansion and gamma limit
# dominate this file's run time) instead of once per test and shape.
_HUGE_N = np.array([1e8, 1e9, 2e14])
_BINOMIAL_CASES = {
    "half": (_HUGE_N, np.full(3, 0.5), _HUGE_N / 2),
    "corner": (np.array([25.0 * 10**21]), np.array([1.0 * 10**-21]), np.array([0.0])),
    "poisson": (np.full(3, 1541096362225563.0), np.full(3, 1.0477878413173978e-18), np.arange(3.0)),
    "small": (np.full(12, 11.0), np.full(12, 0.3), np.arange(12.0)),
}


@functools.cache
def _binomial_batch() -> dict[str, dict[str, np.ndarray]]:
    """``cdf``, ``prob`` and ``log_prob`` of every case above, split back by case."""
    n, p, k = (np.concatenate(v) for v in zip(*_BINOMIAL_CASES.values(), strict=True))
    d = Binomial(jnp.asarray(n), jnp.asarray(p))
    k = jnp.asarray(k)
    values = {"cdf": d.cdf(k), "prob": d.prob(k), "log_prob": d.log_prob(k)}
    ends = np.cumsum([len(c[0]) for c in _BINOMIAL_CASES.values()])
    return {
        name: {m: np.asarray(v[end - len(case[0]) : end]) for m, v in values.items()}
        for (name, case), end in zip(_BINOMIAL_CASES.items(), ends, strict=True)
    }


@pytest.mark.x64
def test_binomial_cdf_at_half_for_huge_n():
    # Issue 16: 0.417 at n = 1e8, -0.298 at n = 1e9, -1012 at n = 2e14 before. The reference
    # is the exact identity above; SciPy itself is 6e-14 off at n = 2e14, hence its rtol.
    n = _HUGE_N
    got = _binomial_batch()["half"]["cdf"]
    np.testing.assert_allclose(got, _half_plus(n / 2), rtol=1e-15, atol=0)
    np.testing.assert_allclose(got, st.binom.cdf(n / 2, n, 0.5), rtol=2e-13, atol=0)


@pytest.mark.x64
def test_binomial_pmf_cdf_poisson_corner():
    # Port of scipy TestBinom.test_pmf_cdf (gh-17809): binom.pmf(0) ~ binom.cdf(0).
    n, p, r = 25.0 * 10**21, 1.0 * 10**-21, 0
    got = _binomial_batch()["corner"]
    res, ref = float(got["prob"][0]), float(got["cdf"][0])
    np.testing.assert_allclose(res, ref, atol=1e-16)
    # Issue 16: cdf was 1.0; exactly (1 - p)^n.
    np.testing.assert_allclose(ref, np.exp(n * np.log1p(-p)), rtol=1e-14)
    np.testing.assert_allclose(ref, st.binom.cdf(r, n, p), rtol=1e-13)


@pytest.mark.x64
def test_binomial_pmf_poisson_limit():
    # Port of scipy TestBinom.test_pmf_poisson (gh-17146): binom -> poisson.
    n = 1541096362225563.0
    p = 1.0477878413173978e-18
    x = np.arange(3)
    res = _binomial_batch()["poisson"]["prob"]
    ref = st.poisson.pmf(x, n * p)
    np.testing.assert_allclose(res, ref, atol=1e-16)


@pytest.mark.x64
def test_binomial_float64_accuracy_small_n():
    # Issue 16: log_prob and cdf reached only 6.5e-7 relative in float64 (betaln(8, 4)).
    k = np.arange(12.0)
    got = _binomial_batch()["small"]
    np.testing.assert_allclose(got["log_prob"], st.binom.logpmf(k, 11, 0.3), rtol=1e-13)
    np.testing.assert_allclose(got["cdf"], st.binom.cdf(k, 11, 0.3), rtol=1e-13)


# (a, b, x): moderate and huge shapes, centre and tails.
BETA_CASES = [
    (30.0, 30.0, 0.3),
    (50.0, 50.0, 0.3),
    (200.0, 300.0, 0.38),
    (1e3, 2e3, 0.31),
    (1e6, 2e6, 0.3334),
    (1e9, 1e9, 0.49999),
    (4e6, 4e6 + 20, 0.5),
    (35.0, 1e5, 3e-4),
]


@pytest.mark.x64
def test_beta_cdf_large_shapes_float64():
    # Issue 16: jax.scipy.special.betainc loses accuracy for large a, b (SciPy: Boost).
    a, b, x = (np.array(c) for c in zip(*BETA_CASES, strict=True))
    got = np.asarray(Beta(jnp.asarray(a), jnp.asarray(b)).cdf(jnp.asarray(x)))
    ref = sp.betainc(a, b, x)
    # Plus the conditioning in x: 1 - x is rounded (density ~ 3.6e4 at a = b = 1e9).
    tol = 1e-13 * ref + 4 * np.finfo(np.float64).eps * x * st.beta.pdf(x, a, b)
    assert np.all(np.abs(got - ref) <= tol), (got - ref) / ref


def test_beta_cdf_large_shapes_float32_and_grad_in_x():
    # Values and d cdf / dx in one compiled call; the last case is ordinary (a, b) = (50, 60).
    cases = [*BETA_CASES[:5], (50.0, 60.0, 0.45)]
    a, b, x = (np.array(c, np.float32) for c in zip(*cases, strict=True))
    d = Beta(jnp.asarray(a), jnp.asarray(b))

    def total(t):
        cdf = d.cdf(t)
        return jnp.sum(cdf), cdf

    grad, got = jax.jit(jax.grad(total, has_aux=True))(jnp.asarray(x))
    a64, b64, x64 = (v.astype(np.float64) for v in (a, b, x))
    np.testing.assert_allclose(np.asarray(got), sp.betainc(a64, b64, x64), rtol=2e-4, atol=2e-6)
    # d cdf / dx = density (finite through the branch selection).
    np.testing.assert_allclose(np.asarray(grad), st.beta.pdf(x64, a64, b64), rtol=1e-4)


def test_beta_cdf_has_no_parameter_gradient():
    # Documented in Beta's docstring: betainc has no derivative in alpha/beta.
    with pytest.raises(ValueError, match="a and b"):
        jax.grad(lambda a: Beta(a, 2.0).cdf(0.3))(jnp.float32(1.5))


# --- Poisson, Dirichlet, Categorical ------------------------------------------------------


def test_poisson_log_prob_at_large_rate_float32():
    # Issue 16: Poisson(1e6).log_prob(1e6) was -7.0 in float32 (SciPy -7.8267).
    got = float(Poisson(1e6).log_prob(1e6))
    np.testing.assert_allclose(got, st.poisson.logpmf(1e6, 1e6), rtol=1e-6)


def test_dirichlet_log_prob_large_concentration_float32():
    # Issue 16: off by 0.026 (float32 terms of 3e4 cancelling to 10.1). What remains is
    # float32's rounding of (a_i - 1) log x_i itself, a few a_i eps.
    a = jnp.full(3, 1e4, jnp.float32)
    x = jnp.full(3, 1 / 3, jnp.float32)
    ref = st.dirichlet.logpdf(np.full(3, 1 / 3), np.full(3, 1e4))
    assert abs(float(Dirichlet(a).log_prob(x)) - ref) < 2e-3


@pytest.mark.x64
def test_dirichlet_log_prob_large_concentration_float64():
    rng = np.random.default_rng(1)
    for a in ([1e4] * 3, [30.0, 50.0, 1e6], [1e4, 2.0, 0.5]):
        a = np.array(a)
        x = rng.dirichlet(a)
        got = float(Dirichlet(jnp.asarray(a)).log_prob(jnp.asarray(x)))
        ref = st.dirichlet.logpdf(x, a)
        # SciPy's own gammaln sums carry ~eps * sum_i a_i |log x_i| of rounding.
        scale = np.sum(a * np.abs(np.log(x))) + np.sum(a)
        assert abs(got - ref) <= 2e-15 * scale, (a, got, ref)


def test_categorical_subnormal_probability_float32():
    # Issue 16: a float32 probability of 1e-40 (subnormal) gave -inf log_prob.
    p = jnp.array([1e-40, 1.0], jnp.float32)
    got = np.asarray(Categorical(p).log_prob(jnp.array([0, 1])))
    np.testing.assert_allclose(got, [np.log(np.float64(np.float32(1e-40))), 0.0], rtol=1e-6)


# --- subnormals in float64 ----------------------------------------------------------------


@pytest.mark.x64
def test_beta_subnormal_shape_is_accepted():
    # Issue 16 (SciPy gh-17444 exercises the same parameters in
    # TestBeta.test_beta_ppf_with_subnormal_a_b): Beta(1e-310, 12.5) was rejected.
    # SciPy's logpdf (and betaln) overflow here; the reference is the formula itself with
    # -log B(a, b) = log a + O(a).
    a, b = 1e-310, 12.5
    d = Beta(a, b)
    x = np.array([0.3, 0.5, 0.7])  # the shape of the next test's points: one compilation
    ref = sp.xlogy(a - 1, x) + sp.xlog1py(b - 1, -x) + np.log(a)
    np.testing.assert_allclose(np.asarray(d.log_prob(jnp.asarray(x))), ref, rtol=1e-14)
    with pytest.raises(ValueError, match="alpha"):
        Beta(-1e-310, b)


@pytest.mark.x64
def test_beta_logpdf_ticket_1866_and_subnormal_pdf():
    # Port of scipy TestBeta.test_logpdf_ticket_1866.
    alpha, beta = 267, 1472
    x = np.array([0.2, 0.5, 0.6])
    b = Beta(float(alpha), float(beta))
    logpdf = np.asarray(b.log_prob(jnp.asarray(x)))
    np.testing.assert_allclose(logpdf.sum(), -1201.699061824062)
    pdf = np.asarray(b.prob(jnp.asarray(x)))
    np.testing.assert_allclose(pdf, np.exp(logpdf))
    # Issue 16: prob(0.6) was 0 where exp(log_prob) is the subnormal 1.7e-320.
    np.testing.assert_allclose(pdf[2], st.beta.pdf(0.6, alpha, beta), rtol=1e-3)
    assert pdf[2] > 0


# --- chi-squared p-values in log space ----------------------------------------------------


def test_chi2_log_p_value_below_float32_range():
    # Issue 16: float32 p-values underflow to 0 (SciPy 5.8e-76 for this table).
    table = np.array([[200.0, 10.0], [10.0, 200.0]])
    res = prob.chi2_independence(jnp.asarray(table, jnp.float32))
    ref = st.chi2_contingency(table)
    assert float(res.p_value) == 0.0
    np.testing.assert_allclose(float(res.log_p_value), np.log(ref.pvalue), rtol=1e-5)
    stat, p, dof = res  # still a 3-tuple
    assert dof == 1


def test_chi2_log_p_value_batch_matches_scipy():
    rng = np.random.default_rng(0)
    tables = rng.integers(1, 40, size=(3, 3, 4)).astype(np.float32)
    tables[0] = [[300, 5, 5, 5], [5, 300, 5, 5], [5, 5, 300, 5]]
    res = prob.chi2_independence(jnp.asarray(tables), table_ndim=2)
    assert res.dof == 6
    # dof = 6: Q(3, x) = exp(-x) (1 + x + x^2 / 2) exactly (x = statistic / 2); SciPy's
    # chi2.logsf underflows to -inf on the first table (statistic ~1700).
    x = np.asarray(res.statistic, np.float64) / 2
    ref = -x + np.log1p(x + x * x / 2)
    np.testing.assert_allclose(ref[1:], st.chi2.logsf(2 * x[1:], 6), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(res.log_p_value), ref, rtol=1e-5)


@pytest.mark.x64
def test_chi2_log_p_value_float64():
    table = np.array([[200.0, 10.0], [10.0, 200.0]])
    res = prob.chi2_independence(jnp.asarray(table), correction=False)
    ref = st.chi2_contingency(table, correction=False)
    np.testing.assert_allclose(float(res.log_p_value), np.log(ref.pvalue), rtol=1e-12)
    np.testing.assert_allclose(float(res.p_value), ref.pvalue, rtol=1e-12)


# --- MultivariateNormal: singular covariance ----------------------------------------------


def test_mvn_singular_covariance_raises():
    # Issue 16: ones((5, 5)) was accepted (log_prob -1.18e16); SciPy raises "singular
    # matrix" (its _PSD test: an eigenvalue below 1e6 eps64 max|w|).
    with pytest.raises(np.linalg.LinAlgError):
        st.multivariate_normal(np.zeros(5), np.ones((5, 5)))
    with pytest.raises(ValueError, match="covariance.*singular"):
        MultivariateNormal(jnp.zeros(5), jnp.ones((5, 5)))
    # Not symmetric; the same shape as above, so the validation compiles once.
    asymmetric = 2 * jnp.eye(5).at[0, 1].set(0.5)
    with pytest.raises(ValueError, match="covariance must be symmetric"):
        MultivariateNormal(jnp.zeros(5), asymmetric)


# --- Gamma at small shapes: the upper incomplete gamma and the upper-tail quantile -------

# Q(a, x) for 0 < a < 1, 0 < x <= 1.5: the series region (x < 1) and JAX's continued
# fraction beyond it.
_Q_A = np.geomspace(1e-6, 0.999, 24)
_Q_X = np.concatenate([np.geomspace(1e-8, 0.01, 8), np.linspace(0.02, 1.5, 40)])


def _q_grid(dtype):
    a, x = (v.astype(dtype) for v in np.meshgrid(_Q_A, _Q_X, indexing="ij"))
    return a, x, sp.gammaincc(a.astype(np.float64), x.astype(np.float64))


def test_gammaincc_small_shape_float32_and_grad():
    # Issue 16: JAX's gammaincc is 1 - P for x < 1, 0.1% low at Q(1e-3, 0.2648) = 1e-3 and
    # wrong by 8x at Q(1.3e-6, 0.98) = 2.8e-7 in float32.
    a, x, ref = _q_grid(np.float32)

    def total(t):
        q = gammaincc(jnp.asarray(a), t)
        return jnp.sum(q), q

    grad, got = jax.jit(jax.grad(total, has_aux=True))(jnp.asarray(x))
    rel = np.abs(np.asarray(got, np.float64) / ref - 1)
    eps = np.finfo(np.float32).eps
    assert np.max(rel[x < 1]) <= 16 * eps, np.max(rel[x < 1])  # measured 12 eps (x near 1)
    assert np.max(rel) <= 32 * eps, np.max(rel)  # JAX's continued fraction: 26 eps
    # dQ/dx = -density, finite through the branch selection.
    pdf = st.gamma.pdf(x.astype(np.float64), a.astype(np.float64))
    np.testing.assert_allclose(-np.asarray(grad), pdf, rtol=2e-5)


@pytest.mark.x64
def test_gammaincc_small_shape_float64():
    a, x, ref = _q_grid(np.float64)
    xs = _Q_X[_Q_X < 1]
    # The grid, a = 1/2 (Q = erfc(sqrt(x))) and NaN / edge inputs in one compiled call.
    edge_a, edge_x = [np.nan, 0.5, 0.5, -1.0], [0.5, np.nan, 0.0, 0.5]
    all_a = np.concatenate([a.ravel(), np.full(xs.shape, 0.5), edge_a])
    all_x = np.concatenate([x.ravel(), xs, edge_x])
    got = np.asarray(jax.jit(gammaincc)(jnp.asarray(all_a), jnp.asarray(all_x)))
    grid, half, edge = np.split(got, [a.size, a.size + xs.size])
    # SciPy itself is 2.6e-14 off at a = 1/2 (against erfc(sqrt(x))); ours 1.1e-15 there.
    np.testing.assert_allclose(grid, ref.ravel(), rtol=5e-14, atol=0)
    np.testing.assert_allclose(half, sp.erfc(np.sqrt(xs)), rtol=4e-15, atol=0)
    np.testing.assert_array_equal(edge, [np.nan, np.nan, 1.0, np.nan])


def _lgamma1p_reference(a):
    # -euler a + sum_k (-1)^k zeta(k) a^k / k (SciPy's zeta), |a| <= 1/2: 80 terms converge.
    k = np.arange(2, 80)[:, None]
    series = -np.euler_gamma * a + np.sum((-1.0) ** k * sp.zeta(k) * a**k / k, axis=0)
    return np.where(np.abs(a) <= 0.5, series, sp.gammaln(1 + a))  # 1 + a exact enough there


@pytest.mark.parametrize("dtype", ["float32", pytest.param("float64", marks=pytest.mark.x64)])
def test_lgamma1p_near_zero(dtype):
    # gammaln(1 + a) is off by up to a itself near a = 0 in float32 (1e-6 absolute).
    a = np.concatenate([np.geomspace(1e-8, 0.999, 60), -np.geomspace(1e-8, 0.9, 20)])
    a = a.astype(dtype)
    got = np.asarray(jax.jit(lgamma1p)(jnp.asarray(a)), np.float64)
    err = np.abs(got - _lgamma1p_reference(a.astype(np.float64))) / np.abs(a)
    assert np.max(err) <= 4 * np.finfo(dtype).eps, np.max(err)  # measured 1 and 1.4 eps


_ICDF_A = np.array([1e-3, 1e-2, 0.1, 0.5])
_ICDF_Q = np.array([0.9, 0.99, 0.999, 0.9999])


@pytest.mark.parametrize("dtype", ["float32", pytest.param("float64", marks=pytest.mark.x64)])
def test_gamma_icdf_upper_tail_small_shape(dtype):
    # Issue 16: Gamma(1e-3).icdf(0.999) was 0.264456 in float32 (SciPy 0.264770).
    a, q = (v.astype(dtype) for v in np.meshgrid(_ICDF_A, _ICDF_Q, indexing="ij"))
    got = np.asarray(prob.Gamma(jnp.asarray(a), 1.0).icdf(jnp.asarray(q)), np.float64)
    a64, q64 = a.astype(np.float64), q.astype(np.float64)
    ref = st.gamma.ppf(q64, a64)
    # The quantile's condition number in Q = 1 - q: Q / (y f(y)) (111 at a = 1e-3, q = 0.9).
    # Measured up to 12.5 (float32) and 14.5 (float64) eps (1 + cond); in float64 that is
    # SciPy's own ppf (its Q(a, ppf) is 1.1e-14 off 1 - q there, ours 1.6e-15).
    cond = st.gamma.sf(ref, a64) / (ref * st.gamma.pdf(ref, a64))
    tol = 32 * np.finfo(dtype).eps * (1 + cond)
    # Below float32's normal range (ref 1e-46) XLA flushes to zero: the smallest normal.
    tiny = ref < np.finfo(dtype).tiny
    assert np.all(got[tiny] <= np.finfo(dtype).tiny)
    rel = np.abs(got / ref - 1)
    assert np.all(rel[~tiny] <= tol[~tiny]), rel
    if dtype == "float32":  # measured 1.4e-7 (1.5e-3 before)
        assert rel[0, 2] <= 1e-6
