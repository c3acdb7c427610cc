"""Distributions against scipy.stats: values, shapes, sampling moments, grads, pytrees, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

from mlmath_jax.prob import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Dirichlet,
    Exponential,
    Gamma,
    MultivariateNormal,
    Normal,
    Poisson,
    Uniform,
)
from tests.conftest import X64, assert_close

KEYS = ["threefry2x32", "rbg"]
B = 4  # batch size of the seeded parameter sets


def f32(x):
    """Round to float32 (what the distribution sees) and return float64 for SciPy."""
    return np.asarray(np.asarray(x, np.float32), np.float64)


def dtype():
    return np.float64 if X64 else np.float32


def params(name, rng):
    """Seeded parameters (batch of B), the distribution and the matching frozen SciPy rv."""
    d = dtype()
    if name == "Normal":
        loc, scale = rng.normal(size=B), rng.uniform(0.5, 3, B)
        return Normal(loc.astype(d), scale.astype(d)), st.norm(f32(loc), f32(scale))
    if name == "Uniform":
        low = rng.normal(size=B)
        high = low + rng.uniform(0.5, 3, B)
        return Uniform(low.astype(d), high.astype(d)), st.uniform(f32(low), f32(high) - f32(low))
    if name == "Exponential":
        rate = rng.uniform(0.2, 5, B)
        return Exponential(rate.astype(d)), st.expon(scale=1 / f32(rate))
    if name == "Gamma":
        a, rate = np.array([0.3, 1.0, 4.5, 40.0]), rng.uniform(0.2, 5, B)
        return Gamma(a.astype(d), rate.astype(d)), st.gamma(f32(a), scale=1 / f32(rate))
    if name == "Beta":
        a, b = np.array([0.4, 1.0, 2.5, 30.0]), np.array([3.0, 0.7, 2.5, 12.0])
        return Beta(a.astype(d), b.astype(d)), st.beta(f32(a), f32(b))
    raise AssertionError(name)


CONTINUOUS = ["Normal", "Uniform", "Exponential", "Gamma", "Beta"]
Q = np.array([1e-6, 1e-3, 0.1, 0.5, 0.9, 0.999, 1 - 1e-6])


@pytest.mark.parametrize("name", CONTINUOUS)
def test_continuous_against_scipy(name, rng):
    dist, ref = params(name, rng)
    rtol = 1e-10 if X64 else 2e-4
    q = f32(Q)[:, None]
    x = ref.ppf(q)  # [7, B] points spanning both tails
    x = f32(x)
    assert dist.batch_shape == (B,) and dist.event_shape == ()
    np.testing.assert_allclose(dist.log_prob(x), ref.logpdf(x), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dist.prob(x), ref.pdf(x), rtol=rtol * 10)
    np.testing.assert_allclose(dist.cdf(x), ref.cdf(x), rtol=rtol * 10, atol=1e-30)
    np.testing.assert_allclose(dist.icdf(q), ref.ppf(q), rtol=rtol * 10, atol=1e-30)
    for method, expected in [
        ("mean", ref.mean()),
        ("variance", ref.var()),
        ("stddev", ref.std()),
        ("median", ref.median()),
        ("entropy", ref.entropy()),
    ]:
        got = getattr(dist, method)()
        assert got.shape == (B,) and got.dtype == dtype(), method
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol, err_msg=method)
    # Outside the support, and q outside [0, 1].
    low, high = ref.support()
    outside = np.where(np.isfinite(low), low - 1, np.nan)
    lp = np.asarray(dist.log_prob(outside))
    assert np.all(np.isneginf(lp[np.isfinite(low)]))
    assert np.all(np.isnan(np.asarray(dist.icdf(1.5))))
    assert np.all(np.isnan(np.asarray(dist.icdf(-0.1))))
    np.testing.assert_allclose(dist.icdf(0.0), low, rtol=1e-6)
    np.testing.assert_allclose(dist.icdf(1.0), high, rtol=1e-6)


def test_normal_extreme_tails():
    d = Normal(0.0, 1.0)
    x = np.array([-30.0, -10.0, -5.0, 5.0, 10.0])
    rtol = 1e-10 if X64 else 1e-5
    # cdf(-30) ~ 5e-198 underflows float32 to 0.
    atol = 0 if X64 else 1e-38
    np.testing.assert_allclose(d.cdf(x), st.norm.cdf(x), rtol=rtol * 100, atol=atol)
    np.testing.assert_allclose(d.log_prob(x), st.norm.logpdf(x), rtol=rtol)


DISCRETE = ["Bernoulli", "Binomial", "Poisson"]


def discrete_params(name, rng):
    d = dtype()
    if name == "Bernoulli":
        p = np.array([0.0, 0.23, 0.6, 1.0])
        return Bernoulli(p.astype(d)), st.bernoulli(f32(p))
    if name == "Binomial":
        n, p = np.array([1.0, 7.0, 20.0, 60.0]), np.array([0.35, 0.9, 0.13, 0.41])
        return Binomial(n.astype(d), p.astype(d)), st.binom(n, f32(p))
    if name == "Poisson":
        rate = np.array([0.3, 2.7, 15.4, 48.0])
        return Poisson(rate.astype(d)), st.poisson(f32(rate))
    raise AssertionError(name)


@pytest.mark.parametrize("name", DISCRETE)
def test_discrete_against_scipy(name, rng):
    dist, ref = discrete_params(name, rng)
    rtol = 1e-9 if X64 else 1e-4
    k = np.arange(-1, 70, dtype=np.float64)[:, None]
    for pts in (k, k + 0.5):  # integers (and out of support) and non-integers
        lp, ref_lp = np.asarray(dist.log_prob(pts), np.float64), ref.logpmf(pts)
        finite = np.isfinite(ref_lp) & (ref_lp > -50)
        np.testing.assert_allclose(lp[finite], ref_lp[finite], rtol=rtol, atol=rtol)
        assert np.all(np.isneginf(lp[np.isneginf(ref_lp)]))
        np.testing.assert_allclose(dist.prob(pts), ref.pmf(pts), rtol=rtol, atol=1e-7)
        np.testing.assert_allclose(dist.cdf(pts), ref.cdf(pts), rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(dist.log_prob(np.array([[1.5], [-2.0]])), -np.inf)
    for method, expected in [
        ("mean", ref.mean()),
        ("variance", ref.var()),
        ("stddev", ref.std()),
        ("median", ref.median()),
        ("entropy", ref.entropy()),
    ]:
        got = getattr(dist, method)()
        assert got.shape == (B,), method
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol, err_msg=method)


@pytest.mark.parametrize(
    "rate", [np.array([1e-3, 0.69, 9.9, 10.0, 200.0, 3000.0]), np.array([1.0, 1.5, 2.5, 99.5])]
)
def test_poisson_median_entropy_wide_range(rate):
    dist, ref = Poisson(rate.astype(dtype())), st.poisson(f32(rate))
    np.testing.assert_allclose(dist.median(), ref.median())
    np.testing.assert_allclose(dist.entropy(), ref.entropy(), rtol=1e-9 if X64 else 2e-4)


def test_binomial_large_count_entropy_x64_accuracy_note():
    # float32 loses ~1e-7 * log(n!) in log_prob/entropy; the continuous-sum branch is used
    # for sd > 10 and is checked here at a size where float32 still has 1e-3.
    n, p = np.array([400.0, 5000.0]), np.array([0.3, 0.5])
    rtol = 1e-9 if X64 else 1e-3
    d = Binomial(n.astype(dtype()), p.astype(dtype()))
    np.testing.assert_allclose(d.entropy(), st.binom(n, p).entropy(), rtol=rtol)
    np.testing.assert_allclose(d.median(), st.binom(n, p).median())


def test_categorical_against_rv_discrete(rng):
    k = 6
    p = rng.dirichlet(np.ones(k), size=3)
    p[1, 2] = 0.0
    p[1] /= p[1].sum()
    p32 = p.astype(dtype())
    dist = Categorical(p32)
    assert dist.batch_shape == (3,) and dist.event_shape == ()
    rtol = 1e-10 if X64 else 1e-5
    pts = np.array([-1.0, 0.0, 1.0, 2.0, 2.5, 5.0, 6.0])[:, None]
    for i in range(3):
        ref = st.rv_discrete(values=(np.arange(k), p32[i].astype(np.float64)))
        with np.errstate(divide="ignore"):
            ref_lp = ref.logpmf(pts[:, 0])
        np.testing.assert_allclose(dist.log_prob(pts)[:, i], ref_lp, rtol=rtol)
        np.testing.assert_allclose(dist.prob(pts)[:, i], ref.pmf(pts[:, 0]), rtol=rtol)
        np.testing.assert_allclose(dist.cdf(pts)[:, i], ref.cdf(pts[:, 0]), rtol=rtol, atol=rtol)
        for method, expected in [
            ("mean", ref.mean()),
            ("variance", ref.var()),
            ("stddev", ref.std()),
            ("median", ref.median()),
            ("entropy", ref.entropy()),
        ]:
            got = getattr(dist, method)()[i]
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol, err_msg=method)


def test_dirichlet_against_scipy(rng):
    a = np.array([[0.7, 2.0, 3.5], [5.0, 1.0, 12.0]])
    dist = Dirichlet(a.astype(dtype()))
    assert dist.batch_shape == (2,) and dist.event_shape == (3,)
    rtol = 1e-10 if X64 else 1e-5
    x = f32(rng.dirichlet(np.ones(3), size=(5, 2)))
    x = x / x.sum(-1, keepdims=True)  # float64 on the simplex, as SciPy demands
    for i in range(2):
        ref = st.dirichlet(f32(a[i]))
        np.testing.assert_allclose(
            dist.log_prob(x.astype(dtype()))[:, i],
            [ref.logpdf(v) for v in x[:, i]],
            rtol=rtol * 10,
        )
        np.testing.assert_allclose(dist.mean()[i], ref.mean(), rtol=rtol)
        np.testing.assert_allclose(dist.variance()[i], ref.var(), rtol=rtol)
        np.testing.assert_allclose(dist.stddev()[i], np.sqrt(ref.var()), rtol=rtol)
        np.testing.assert_allclose(dist.entropy()[i], ref.entropy(), rtol=rtol, atol=rtol)
    off = np.array([[0.5, 0.6, 0.1], [-0.1, 0.6, 0.5]], dtype())
    assert np.all(np.isneginf(np.asarray(dist.log_prob(off))))


@pytest.mark.parametrize("form", ["covariance", "scale_tril", "precision"])
def test_mvn_against_scipy(form, rng):
    d = 3
    a = rng.standard_normal((2, d, d))
    cov = a @ np.swapaxes(a, -1, -2) + 0.5 * np.eye(d)
    cov = f32(cov)
    loc = f32(rng.standard_normal((2, d)))
    mat = {
        "covariance": cov,
        "scale_tril": np.linalg.cholesky(cov),
        "precision": np.linalg.inv(cov),
    }[form]
    dist = MultivariateNormal(loc.astype(dtype()), **{form: mat.astype(dtype())})
    assert dist.batch_shape == (2,) and dist.event_shape == (d,)
    x = rng.standard_normal((5, 2, d))
    rtol = 1e-9 if X64 else 2e-5
    for i in range(2):
        ref = st.multivariate_normal(loc[i], cov[i])
        assert_close(dist.log_prob(x.astype(dtype()))[:, i], ref.logpdf(x[:, i]), rtol=rtol)
        assert_close(dist.prob(x.astype(dtype()))[:, i], ref.pdf(x[:, i]), rtol=rtol * 10)
        assert_close(dist.entropy()[i], ref.entropy(), rtol=rtol)
        assert_close(dist.covariance()[i], cov[i], rtol=rtol * 10)
        assert_close(dist.variance()[i], np.diag(cov[i]), rtol=rtol * 10)
        assert_close(dist.stddev()[i], np.sqrt(np.diag(cov[i])), rtol=rtol * 10)
        assert_close(dist.mean()[i], loc[i], rtol=0)


def test_mvn_broadcasts_shared_covariance(rng):
    cov = np.array([[2.0, 0.3], [0.3, 1.0]], dtype())
    loc = rng.standard_normal((4, 2)).astype(dtype())
    dist = MultivariateNormal(loc, cov)
    assert dist.batch_shape == (4,) and dist.scale_tril.shape == (2, 2)
    assert dist.sample(jax.random.key(0), (3, 5)).shape == (3, 5, 4, 2)
    x = rng.standard_normal((7, 1, 2)).astype(dtype())
    ref = np.stack([st.multivariate_normal(loc[i], cov).logpdf(x[:, 0]) for i in range(4)], -1)
    assert_close(dist.log_prob(x), ref, rtol=1e-5)
    assert dist.covariance().shape == (4, 2, 2)


def _whitened_maha(samples, loc, cov64):
    low = np.linalg.cholesky(cov64)
    z = np.linalg.solve(low, (np.asarray(samples, np.float64) - loc).T)
    return np.sum(z * z, axis=0)


@pytest.mark.parametrize("form", ["covariance", "precision", "scale_tril"])
def test_mvn_500_dims_cond_1e6_float32(form):
    # 500 dimensions, condition number 1e6, float32. The reference is float64 SciPy on the
    # float32-rounded matrix. Bounds: the squared Mahalanobis distance of samples (which
    # weighs the 1e-6 directions by 1e6) has mean d within 5 standard errors
    # sqrt(2 d / n); log_prob within 1e-3 relative (cond * eps limits float32 to ~1e-2 on the
    # small-eigenvalue terms of the ~1e3-sized value).
    rng = np.random.default_rng(0)
    n = 500
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.logspace(0, -6, n)
    cov = (q * w) @ q.T
    if form == "precision":
        prec = np.linalg.inv(cov)
        prec = f32(0.5 * (prec + prec.T))
        cov64 = np.linalg.inv(prec)
        cov64 = 0.5 * (cov64 + cov64.T)
        mat = prec
    elif form == "scale_tril":
        mat = f32(np.linalg.cholesky(cov))
        cov64 = mat @ mat.T
    else:
        mat = f32(0.5 * (cov + cov.T))
        cov64 = mat
    loc = f32(rng.standard_normal(n))
    dist = MultivariateNormal(loc.astype(np.float32), **{form: mat.astype(np.float32)})
    num = 2000
    x = np.asarray(dist.sample(jax.random.key(1), (num,)))
    assert x.dtype == np.float32 and np.all(np.isfinite(x))
    maha = _whitened_maha(x, loc, cov64)
    assert abs(maha.mean() - n) < 5 * np.sqrt(2 * n / num), maha.mean()
    ref = st.multivariate_normal(loc, cov64)
    lp = np.asarray(dist.log_prob(x[:20]), np.float64)
    assert np.all(np.isfinite(lp))
    assert_close(lp, ref.logpdf(x[:20].astype(np.float64)), rtol=1e-3, name="log_prob")
    assert_close(dist.entropy(), ref.entropy(), rtol=1e-4, name="entropy")
    assert np.all(np.isfinite(np.asarray(dist.covariance())))


def test_mvn_fallback_where_float32_cholesky_fails():
    # An RBF kernel (cond ~3e8 in float64) on which float32 Cholesky returns NaN: the
    # eigh+QR fallback gives a finite factor whose covariance reproduces the matrix to the
    # float32 rounding of its entries, and finite samples and log_prob.
    rng = np.random.default_rng(1)
    n = 300
    t = np.sort(rng.uniform(0, 1, n))
    k = np.exp(-0.5 * (t[:, None] - t[None, :]) ** 2 / 0.3**2) + 1e-6 * np.eye(n)
    k32 = k.astype(np.float32)
    naive = jnp.linalg.cholesky(k32 / np.sqrt(np.outer(np.diag(k32), np.diag(k32))))
    assert np.any(np.isnan(np.asarray(naive)))
    dist = MultivariateNormal(np.zeros(n, np.float32), k32)
    low = np.asarray(dist.scale_tril, np.float64)
    assert np.all(np.isfinite(low)) and np.allclose(low, np.tril(low))
    # Backward error of order eps * ||K||_2 (||K||_2 ~ 100 here), as for any float32 factor.
    assert_close(low @ low.T, k32, rtol=1e-4, name="L L^T")
    x = dist.sample(jax.random.key(0), (4000,))
    assert np.all(np.isfinite(np.asarray(x)))
    assert np.all(np.isfinite(np.asarray(dist.log_prob(x[:10]))))
    emp = np.cov(np.asarray(x, np.float64).T)
    assert_close(emp, k32, rtol=6 / np.sqrt(4000), name="sample covariance")


# --- sampling: shapes, keys, moments -------------------------------------------------

ALL = {
    "Normal": lambda: Normal(jnp.array([0.0, 2.0, -1.0]), jnp.array([1.0, 0.5, 3.0])),
    "Uniform": lambda: Uniform(jnp.array([0.0, -2.0, 1.0]), jnp.array([1.0, 3.0, 1.5])),
    "Exponential": lambda: Exponential(jnp.array([0.5, 1.0, 4.0])),
    "Gamma": lambda: Gamma(jnp.array([0.3, 2.0, 9.0]), jnp.array([1.0, 3.0, 0.5])),
    "Beta": lambda: Beta(jnp.array([0.5, 2.0, 8.0]), jnp.array([0.5, 5.0, 2.0])),
    "Bernoulli": lambda: Bernoulli(jnp.array([0.1, 0.5, 0.95])),
    "Binomial": lambda: Binomial(jnp.array([5.0, 30.0, 200.0]), jnp.array([0.2, 0.5, 0.9])),
    "Poisson": lambda: Poisson(jnp.array([0.7, 8.0, 120.0])),
    "Categorical": lambda: Categorical(
        jnp.array([[0.2, 0.3, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    ),
    "Dirichlet": lambda: Dirichlet(jnp.array([[1.0, 2.0, 0.5], [4.0, 4.0, 4.0], [0.3, 0.3, 9.0]])),
    "MultivariateNormal": lambda: MultivariateNormal(
        jnp.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]]),
        jnp.array([[2.0, 0.6], [0.6, 0.5]]),
    ),
}


@pytest.mark.parametrize("impl", KEYS)
@pytest.mark.parametrize("name", sorted(ALL))
def test_sample_moments_and_shapes(name, impl):
    dist = ALL[name]()
    key = jax.random.key(7, impl=impl)
    n = 20_000
    x = dist.sample(key, n)
    assert x.shape == (n,) + dist.batch_shape + dist.event_shape
    discrete = name in ("Bernoulli", "Binomial", "Poisson", "Categorical")
    assert jnp.issubdtype(x.dtype, jnp.integer) if discrete else x.dtype == dist.dtype
    x = np.asarray(x, np.float64)
    mean, var = np.asarray(dist.mean(), np.float64), np.asarray(dist.variance(), np.float64)
    # Sample mean within 5 standard errors; sample variance within 5 of its standard errors
    # (from the sample fourth central moment).
    se = np.sqrt(var / n)
    assert np.all(np.abs(x.mean(0) - mean) <= 5 * se + 1e-12), (x.mean(0), mean)
    m4 = np.mean((x - mean) ** 4, axis=0)
    se_var = np.sqrt(np.maximum(m4 - var**2, 0) / n)
    # x.var uses the sample mean: its error enters the variance squared.
    bound = 5 * se_var + (x.mean(0) - mean) ** 2 + 1e-12
    assert np.all(np.abs(x.var(0) - var) <= bound), (x.var(0), var)
    if impl == "rbg":
        return
    assert dist.sample(key).shape == dist.batch_shape + dist.event_shape
    assert dist.sample(key, (2, 3)).shape == (2, 3) + dist.batch_shape + dist.event_shape
    # Raw uint32 keys work too, and the same key gives the same draw.
    raw = jax.random.PRNGKey(3)
    np.testing.assert_array_equal(dist.sample(raw, 4), dist.sample(raw, 4))


def test_categorical_never_draws_zero_probability_and_many_categories():
    p = np.zeros(100)
    p[[3, 50, 99]] = [0.2, 0.3, 0.5]
    for probs in (p, np.stack([p, np.roll(p, 1)])):
        dist = Categorical(probs.astype(np.float32))
        x = np.asarray(dist.sample(jax.random.key(0), 20_000))
        x = x.reshape(20_000, -1)
        for j in range(x.shape[1]):
            row = probs if probs.ndim == 1 else probs[j]
            counts = np.bincount(x[:, j], minlength=100) / len(x)
            assert set(np.nonzero(counts)[0]) <= set(np.nonzero(row)[0])
            np.testing.assert_allclose(counts, row, atol=5 * np.sqrt(0.25 / len(x)))


@pytest.mark.parametrize("impl", KEYS)
def test_poisson_sampler_both_regimes(impl):
    rate = jnp.array([0.0, 0.05, 3.0, 9.99, 10.0, 37.5, 1e4])
    x = np.asarray(Poisson(rate).sample(jax.random.key(11, impl=impl), 40_000), np.float64)
    r = np.asarray(rate, np.float64)
    se = np.sqrt(np.maximum(r, 1e-12) / len(x))
    assert np.all(np.abs(x.mean(0) - r) <= 5 * se)
    assert np.all(x[:, 0] == 0)
    # Distribution check for a mid-size rate: histogram against the pmf (chi-square).
    k = np.arange(20, 60)
    obs = np.array([(x[:, 5] == v).sum() for v in k])
    exp = st.poisson(37.5).pmf(k) * len(x)
    chi2 = np.sum((obs - exp) ** 2 / exp)
    assert chi2 < st.chi2(len(k)).ppf(0.9999)


# --- gradients --------------------------------------------------------------------------


def test_reparameterised_normal_gradients():
    key = jax.random.key(0)

    def f(loc, scale):
        return jnp.mean(Normal(loc, scale).sample(key, 1000))

    gloc, gscale = jax.grad(f, argnums=(0, 1))(1.0, 2.0)
    z = jax.random.normal(key, (1000,))
    np.testing.assert_allclose(gloc, 1.0, rtol=1e-6)
    np.testing.assert_allclose(gscale, jnp.mean(z), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("impl", KEYS)
def test_reparameterised_gamma_beta_dirichlet_gradients(impl):
    key = jax.random.key(5, impl=impl)
    n = 40_000

    def gamma_mean(a, rate):
        return jnp.mean(Gamma(a, rate).sample(key, n))

    ga, grate = jax.grad(gamma_mean, argnums=(0, 1))(3.0, 2.0)
    # E[X] = a / rate: d/da = 1/rate, d/drate = -a/rate^2; pathwise estimates have
    # standard error sd(dX/dtheta)/sqrt(n) <~ 0.01 here.
    np.testing.assert_allclose(ga, 0.5, atol=0.02)
    np.testing.assert_allclose(grate, -0.75, atol=0.03)
    if impl == "rbg":
        return  # the other families' samplers are key-agnostic jax.random calls

    def beta_mean(a):
        return jnp.mean(Beta(a, 3.0).sample(key, n))

    # E = a/(a+b): derivative b/(a+b)^2 = 3/25.
    np.testing.assert_allclose(jax.grad(beta_mean)(2.0), 3 / 25, atol=0.01)

    def dir_first(a):
        return jnp.mean(Dirichlet(a).sample(key, n)[:, 0])

    g = jax.grad(dir_first)(jnp.array([1.0, 2.0, 3.0]))
    # E[x0] = a0 / sum(a): gradient (sum - a0, -a0, -a0) / sum^2.
    np.testing.assert_allclose(g, np.array([5.0, -1.0, -1.0]) / 36, atol=0.01)

    def unif_mean(high):
        return jnp.mean(Uniform(0.0, high).sample(key, n))

    np.testing.assert_allclose(jax.grad(unif_mean)(2.0), 0.5, atol=0.01)

    def exp_mean(rate):
        return jnp.mean(Exponential(rate).sample(key, n))

    np.testing.assert_allclose(jax.grad(exp_mean)(2.0), -0.25, atol=0.01)


def test_mvn_reparameterised_gradient():
    key = jax.random.key(0)

    def f(loc, low):
        return jnp.mean(MultivariateNormal(loc, scale_tril=low).sample(key, 100).sum(-1))

    gloc = jax.grad(f)(jnp.zeros(3), jnp.eye(3))
    np.testing.assert_allclose(gloc, np.ones(3), rtol=1e-6)

    def g(loc, prec):
        return jnp.mean(MultivariateNormal(loc, precision=prec).sample(key, 100).sum(-1))

    np.testing.assert_allclose(jax.grad(g)(jnp.zeros(3), 2 * jnp.eye(3)), np.ones(3), rtol=1e-6)


def test_log_prob_gradients_analytic():
    x = 1.7
    g = jax.grad(lambda loc, s: Normal(loc, s).log_prob(x), argnums=(0, 1))(0.5, 2.0)
    np.testing.assert_allclose(g[0], (x - 0.5) / 4, rtol=1e-6)
    np.testing.assert_allclose(g[1], -1 / 2 + (x - 0.5) ** 2 / 8, rtol=1e-6)
    ga = jax.grad(lambda a: Gamma(a, 2.0).log_prob(x))(3.0)
    np.testing.assert_allclose(
        ga,
        np.log(2.0) + np.log(x) - st.gamma(3).stats("m") * 0 - jax.scipy.special.digamma(3.0),
        rtol=1e-5,
    )
    gp = jax.grad(lambda p: Bernoulli(p).log_prob(1))(0.25)
    np.testing.assert_allclose(gp, 4.0, rtol=1e-6)
    gl = jax.grad(lambda r: Poisson(r).log_prob(3))(2.0)
    np.testing.assert_allclose(gl, 3 / 2 - 1, rtol=1e-6)


def test_icdf_gradients_implicit():
    # d icdf / dq = 1 / pdf(icdf(q)); d icdf / d concentration by the implicit function.
    for dist, ref in [
        (Gamma(2.5, 1.5), st.gamma(2.5, scale=1 / 1.5)),
        (Beta(2.0, 3.0), st.beta(2, 3)),
    ]:
        g = jax.grad(dist.icdf)(0.3)
        np.testing.assert_allclose(g, 1 / ref.pdf(ref.ppf(0.3)), rtol=1e-4)
    ga = jax.grad(lambda a: Gamma(a, 1.5).icdf(0.3))(2.5)
    h = 1e-4
    fd = st.gamma(2.5 + h, scale=1 / 1.5).ppf(0.3) - st.gamma(2.5 - h, scale=1 / 1.5).ppf(0.3)
    np.testing.assert_allclose(ga, fd / (2 * h), rtol=1e-3)
    gn = jax.grad(lambda s: Normal(0.0, s).icdf(0.9))(2.0)
    np.testing.assert_allclose(gn, st.norm.ppf(0.9), rtol=1e-5)


@pytest.mark.x64
def test_check_grads_x64():
    from jax.test_util import check_grads

    x = jnp.array([0.3, 1.2])
    check_grads(lambda a, b: Gamma(a, b).log_prob(x), (2.0, 1.5), order=2)
    check_grads(lambda a, b: Beta(a, b).log_prob(jnp.array([0.2, 0.7])), (2.0, 1.5), order=2)
    check_grads(lambda a: Gamma(a, 1.0).icdf(jnp.array([0.1, 0.8])), (2.0,), order=1)
    check_grads(lambda a: Dirichlet(a).entropy(), (jnp.array([1.0, 2.0, 3.0]),), order=1)
    check_grads(
        lambda loc, low: MultivariateNormal(loc, scale_tril=low).log_prob(jnp.array([0.1, 2.0])),
        (jnp.array([0.0, 1.0]), jnp.array([[1.0, 0.0], [0.5, 2.0]])),
        order=1,
    )
    # Finite differences perturb single entries; a non-symmetric covariance is rejected (as
    # SciPy), so differentiate through its symmetric part.
    check_grads(
        lambda c: MultivariateNormal(jnp.zeros(2), (c + c.T) / 2).log_prob(jnp.array([0.1, 2.0])),
        (jnp.array([[2.0, 0.5], [0.5, 1.0]]),),
        order=1,
    )


# --- pytrees ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL))
def test_pytree_jit_vmap_tree_utilities(name):
    dist = ALL[name]()
    leaves, treedef = jax.tree.flatten(dist)
    rebuilt = jax.tree.unflatten(treedef, leaves)
    assert type(rebuilt) is type(dist)
    # Tree utilities may put anything in the leaves, including values that would be
    # invalid parameters (zeros, negative cotangents), None and shape tuples.
    assert jax.tree.map(lambda x: x.shape, dist) is not None
    zeros = jax.tree.map(jnp.zeros_like, dist)
    assert all(np.all(np.asarray(v) == 0) for v in jax.tree.leaves(zeros))
    assert jax.tree.map(lambda x: None, dist) is not None
    assert jax.tree.map(lambda x: object(), dist) is not None
    shapes = jax.eval_shape(lambda d: d, dist)
    assert type(shapes) is type(dist)
    # jit: in, out, and built inside.
    out = jax.jit(lambda d: d)(dist)
    assert type(out) is type(dist)
    np.testing.assert_allclose(jax.jit(lambda d: d.mean())(dist), dist.mean(), rtol=1e-6)
    rebuilt_in_jit = jax.jit(lambda leaves: jax.tree.unflatten(treedef, leaves))(leaves)
    np.testing.assert_allclose(rebuilt_in_jit.variance(), dist.variance(), rtol=1e-6)
    # vmap over the batch of distributions; in_axes built by a tree map (a shared
    # MultivariateNormal factor is not batched).
    axes = jax.tree.map(lambda leaf: 0 if leaf.shape[:1] == dist.batch_shape else None, dist)
    means = jax.vmap(lambda d: d.mean(), in_axes=(axes,))(dist)
    np.testing.assert_allclose(means, dist.mean(), rtol=1e-6)
    x = dist.sample(jax.random.key(0))
    lp = jax.vmap(lambda d, v: d.log_prob(v), in_axes=(axes, 0))(dist, x)
    np.testing.assert_allclose(lp, dist.log_prob(x), rtol=1e-5)


def test_jit_returns_distribution_and_grad_wrt_distribution():
    make = jax.jit(lambda loc, scale: Normal(loc, scale))
    d = make(jnp.zeros(3), 2.0)
    assert isinstance(d, Normal) and d.batch_shape == (3,)
    # A gradient with respect to a distribution is a Normal-shaped cotangent whose "scale"
    # is negative here: building it must not raise.
    g = jax.grad(lambda d: d.log_prob(0.5))(Normal(0.0, 2.0))
    assert isinstance(g, Normal)
    np.testing.assert_allclose(g.scale, -1 / 2 + 0.25 / 8, rtol=1e-6)
    # in_axes as a distribution-shaped prefix with None.
    d2 = Normal(jnp.arange(3.0), 1.0)
    out = jax.vmap(lambda d: d.log_prob(0.0), in_axes=(jax.tree.map(lambda _: 0, d2),))(d2)
    np.testing.assert_allclose(out, st.norm.logpdf(0.0, np.arange(3.0)), rtol=1e-6)
    mvn = jax.jit(lambda c: MultivariateNormal(jnp.zeros(2), c))(jnp.eye(2))
    assert isinstance(mvn, MultivariateNormal) and mvn.scale_tril.shape == (2, 2)


def test_vmap_builds_distributions_per_example():
    locs, scales = jnp.arange(4.0), jnp.linspace(1.0, 2.0, 4)
    out = jax.vmap(lambda m, s: Normal(m, s).entropy())(locs, scales)
    np.testing.assert_allclose(out, st.norm(0, np.asarray(scales)).entropy(), rtol=1e-6)
    covs = jnp.stack([jnp.eye(2) * (i + 1) for i in range(3)])
    ent = jax.vmap(lambda c: MultivariateNormal(jnp.zeros(2), c).entropy())(covs)
    ref = [st.multivariate_normal(np.zeros(2), np.eye(2) * (i + 1)).entropy() for i in range(3)]
    np.testing.assert_allclose(ent, ref, rtol=1e-5)


def test_broadcasting_parameters():
    d = Normal(jnp.zeros((2, 1)), jnp.ones(3))
    assert d.batch_shape == (2, 3) and d.loc.shape == (2, 3)
    assert d.sample(jax.random.key(0), (5,)).shape == (5, 2, 3)
    assert d.log_prob(jnp.zeros((7, 1, 1))).shape == (7, 2, 3)
    g = Gamma(2, 3)  # Python ints become the default float
    assert g.dtype == jnp.zeros(()).dtype


# --- bad input --------------------------------------------------------------------------

BAD = [
    (lambda: Normal(0.0, -1.0), "scale must be > 0"),
    (lambda: Normal(jnp.zeros(3), jnp.ones(4)), "do not broadcast"),
    (lambda: Uniform(1.0, 1.0), "high must be > low"),
    (lambda: Exponential(jnp.array([1.0, 0.0])), "rate must be > 0"),
    (lambda: Gamma(-1.0, 1.0), "concentration must be > 0"),
    (lambda: Gamma(1.0, -1.0), "rate must be > 0"),
    (lambda: Beta(0.0, 1.0), "alpha must be > 0"),
    (lambda: Beta(1.0, jnp.nan), "beta must be > 0"),
    (lambda: Bernoulli(1.2), r"probs must be in \[0, 1\]"),
    (lambda: Binomial(-1.0, 0.5), "total_count must be a non-negative integer"),
    (lambda: Binomial(2.5, 0.5), "total_count must be a non-negative integer"),
    (lambda: Binomial(3, -0.5), r"probs must be in \[0, 1\]"),
    (lambda: Poisson(-0.1), "rate must be >= 0"),
    (lambda: Categorical(jnp.array([0.5, 0.6])), "summing to 1"),
    (lambda: Categorical(jnp.array([-0.5, 1.5])), r"probs must be in \[0, 1\]"),
    (lambda: Categorical(0.5), r"probs must be a \[..., K\] array"),
    (lambda: Dirichlet(jnp.array([1.0, -1.0])), "concentration must be > 0"),
    (lambda: Dirichlet(jnp.array([1.0])), "at least 2 entries"),
    (lambda: MultivariateNormal(jnp.zeros(2)), "exactly one of"),
    (lambda: MultivariateNormal(jnp.zeros(2), jnp.eye(2), precision=jnp.eye(2)), "exactly one"),
    (lambda: MultivariateNormal(jnp.zeros(2), jnp.eye(3)), "loc and covariance"),
    (lambda: MultivariateNormal(jnp.zeros(2), jnp.ones((2, 3))), "covariance must be square"),
    (lambda: MultivariateNormal(jnp.zeros(2), jnp.ones(2)), "covariance must be a"),
    (lambda: MultivariateNormal(jnp.zeros(2), -jnp.eye(2)), "positive definite"),
    (lambda: MultivariateNormal(jnp.zeros(2), jnp.array([[1.0, 2.0], [2.0, 1.0]])), "positive"),
    (lambda: MultivariateNormal(jnp.zeros(2), scale_tril=-jnp.eye(2)), "positive diagonal"),
    (lambda: MultivariateNormal(jnp.zeros(2), jnp.array([[2.0, 1.0], [0.0, 2.0]])), "symmetric"),
    (
        lambda: MultivariateNormal(jnp.zeros(2), precision=jnp.array([[2.0, 0.5], [0.0, 2.0]])),
        "precision must be symmetric",
    ),  # SciPy raises on a non-symmetric matrix too
    (
        lambda: MultivariateNormal(jnp.zeros(2), jnp.array([[1.0, jnp.nan], [jnp.nan, 1.0]])),
        "positive definite",
    ),
    (lambda: MultivariateNormal(jnp.zeros(2), precision=jnp.zeros((2, 2))), "precision must"),
    (lambda: MultivariateNormal(jnp.zeros((3, 2)), jnp.stack([jnp.eye(2)] * 4)), "broadcast"),
]


@pytest.mark.parametrize(("build", "match"), BAD)
def test_bad_parameters_raise(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_concrete_parameters_checked_inside_jit():
    @jax.jit
    def f(x):
        return Normal(x, -1.0).log_prob(x)

    with pytest.raises(ValueError, match="scale must be > 0"):
        f(0.0)


def test_bad_sample_shape():
    with pytest.raises(TypeError, match="sample_shape"):
        Normal(0.0, 1.0).sample(jax.random.key(0), 2.5)
    with pytest.raises(ValueError, match="sample_shape"):
        Normal(0.0, 1.0).sample(jax.random.key(0), (-1,))


TRACED_INVALID = [
    (lambda v: Normal(0.0, v), -1.0),
    (lambda v: Uniform(v, 0.0), 1.0),
    (lambda v: Exponential(v), -2.0),
    (lambda v: Gamma(v, 1.0), -2.0),
    (lambda v: Beta(1.0, v), 0.0),
    (lambda v: Bernoulli(v), 1.5),
    (lambda v: Binomial(v, 0.5), 2.5),
    (lambda v: Poisson(v), -1.0),
    (lambda v: Categorical(jnp.array([0.5, v])), 0.9),
    (lambda v: Dirichlet(jnp.array([1.0, v])), -1.0),
    (lambda v: MultivariateNormal(jnp.zeros(2), jnp.array([[1.0, v], [v, 1.0]])), 2.0),
]


@pytest.mark.parametrize(("build", "bad"), TRACED_INVALID)
def test_traced_invalid_parameters_give_nan(build, bad):
    # Under jit the values are unknown when the distribution is built: every method returns
    # NaN (integer samples -1), as jax.scipy.stats does, instead of a silent number.
    @jax.jit
    def run(v):
        d = build(v)
        x = d.sample(jax.random.key(0), 3)
        return d.log_prob(d.mean()), d.mean(), d.variance(), d.entropy(), x

    lp, mean, var, ent, x = run(bad)
    for name, v in [("log_prob", lp), ("mean", mean), ("variance", var), ("entropy", ent)]:
        assert np.all(np.isnan(np.asarray(v))), name
    if jnp.issubdtype(x.dtype, jnp.integer):
        assert np.all(np.asarray(x) == -1)
    else:
        assert np.all(np.isnan(np.asarray(x)))


@pytest.mark.x64
def test_x64_dtypes_and_tight_values():
    assert Normal(0.0, 1.0).dtype == jnp.float64
    d = Gamma(jnp.array([0.5, 7.0]), 2.0)
    q = np.array([1e-12, 0.3, 1 - 1e-12])[:, None]
    ref = st.gamma(np.array([0.5, 7.0]), scale=0.5)
    np.testing.assert_allclose(d.icdf(q), ref.ppf(q), rtol=1e-9)
    assert d.sample(jax.random.key(0), 3).dtype == jnp.float64
    m = MultivariateNormal(jnp.zeros(3), jnp.eye(3) * 2)
    np.testing.assert_allclose(
        m.entropy(), st.multivariate_normal(np.zeros(3), 2 * np.eye(3)).entropy(), rtol=1e-12
    )


def test_one_jit_over_families_with_equal_leaf_shapes():
    # JAX compares dataclass treedefs by static fields only; ours carry the class name, so a
    # shared compiled function never mixes families up.
    f = jax.jit(lambda d: d.mean())
    b = Binomial(jnp.array([5.0, 30.0]), jnp.array([0.2, 0.5]))
    u = Uniform(jnp.array([0.0, -2.0]), jnp.array([1.0, 3.0]))
    assert jax.tree.structure(b) != jax.tree.structure(u)
    np.testing.assert_allclose(f(b), [1.0, 15.0], rtol=1e-6)
    np.testing.assert_allclose(f(u), [0.5, 0.5], rtol=1e-6)


# --- parity at large parameters, NaN in, integer range (issue 16) ------------------------


@pytest.mark.x64
def test_betaln_float64_matches_scipy():
    # scipy.special.betaln on a grid of small to large arguments; (8, 4) and (1, 10) are
    # the examples (jax.scipy.special.betaln is off by ~1e-6 relative there).
    from mlmath_jax.prob._special import betaln

    vals = np.array([1e-3, 0.5, 1.0, 2.5, 4.0, 8.0, 9.99, 10.0, 12.0, 50.0, 1e3, 1e4])
    a, b = np.meshgrid(vals, vals)
    ref = sp.betaln(a, b)
    got = np.asarray(betaln(jnp.asarray(a), jnp.asarray(b)))
    # SciPy's own betaln is off by up to ~1e-12 relative on this grid (betaln(1e4, 1) is
    # -9.2103403719811 where -log(1e4) = -9.2103403719762): exact values are checked below.
    np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(betaln(1e4, 1.0), -np.log(1e4), rtol=1e-15)
    np.testing.assert_allclose(betaln(2.0, 3e4), -np.log(3e4 * (3e4 + 1)), rtol=1e-15)
    np.testing.assert_allclose(betaln(8.0, 4.0), sp.betaln(8.0, 4.0), rtol=1e-14)
    np.testing.assert_allclose(betaln(1.0, 10.0), -np.log(10.0), rtol=1e-14)
    # Far into the asymptotic range: log B(a, b) ~ gammaln(a) - a log b - a(a - 1)/(2b).
    a, b = 0.5, 1e12
    series = sp.gammaln(a) - a * np.log(b) - a * (a - 1) / (2 * b)
    np.testing.assert_allclose(betaln(a, b), series, rtol=1e-14)
    np.testing.assert_allclose(betaln(1e20, 1e20), sp.betaln(1e20, 1e20), rtol=1e-13)
    assert np.isnan(betaln(jnp.nan, 1.0)) and np.isnan(betaln(-1.0, 2.0))


@pytest.mark.parametrize(
    ("dist", "ref"),
    [
        (lambda: Gamma(1e18, 1.0), lambda: st.gamma(1e18).entropy()),
        (lambda: Gamma(jnp.array([0.5, 9.0, 11.0, 1e6]), 2.0),
         lambda: st.gamma(np.array([0.5, 9.0, 11.0, 1e6]), scale=0.5).entropy()),
        (lambda: Beta(2.0, 1e20), lambda: st.beta(2.0, 1e20).entropy()),
        (lambda: Beta(jnp.array([1.0, 0.5, 12.0, 3e4]), jnp.array([10.0, 30.0, 15.0, 2.0])),
         lambda: st.beta(np.array([1.0, 0.5, 12.0, 3e4]), np.array([10.0, 30.0, 15.0, 2.0]))
         .entropy()),
    ],
)  # fmt: skip
def test_entropy_at_large_parameters_matches_scipy(dist, ref):
    got = dist().entropy()
    # SciPy's Beta(3e4, 2) entropy is itself off by 4.5e-12 relative (exact form below).
    rtol = 1e-10 if got.dtype == jnp.float64 else 2e-6
    np.testing.assert_allclose(got, ref(), rtol=rtol, atol=rtol)


@pytest.mark.x64
def test_binomial_log_prob_float64_matches_scipy():
    n, p = np.array([12.0, 100.0, 1e4]), np.array([0.3, 0.5, 0.01])
    k = np.array([4.0, 50.0, 90.0])
    # SciPy is off by ~3e-12 relative at (90; 1e4, 0.01); the exact value (40 digits, from
    # log C(10000, 90) in decimal arithmetic) is -3.6878513900382350 and is checked tightly.
    np.testing.assert_allclose(Binomial(n, p).log_prob(k), st.binom.logpmf(k, n, p), rtol=1e-10)
    np.testing.assert_allclose(Binomial(1e4, 0.01).log_prob(90.0), -3.687851390038235, rtol=1e-13)
    np.testing.assert_allclose(Beta(1.0, 10.0).entropy(), st.beta(1, 10).entropy(), rtol=1e-14)
    a = 3e4  # closed form: betaln(a, 2) = -log(a (a + 1)), digamma(a + 2) - digamma(a) exact
    exact = -np.log(a * (a + 1)) + (a - 1) * (1 / a + 1 / (a + 1))
    exact += sp.digamma(a + 2) - sp.digamma(2)
    np.testing.assert_allclose(Beta(a, 2.0).entropy(), exact, rtol=1e-14)


NAN_FAMILIES = [
    Normal(0.0, 1.0), Uniform(0.0, 1.0), Exponential(1.0), Gamma(2.0, 1.0), Beta(2.0, 2.0),
    Bernoulli(0.3), Binomial(5, 0.3), Poisson(2.0), Categorical(jnp.array([0.5, 0.5])),
]  # fmt: skip


@pytest.mark.parametrize("dist", NAN_FAMILIES, ids=lambda d: type(d).__name__)
def test_nan_in_nan_out(dist):
    # scipy.stats gives nan for pdf/pmf, logpdf and cdf at nan (issue 16: was 0 and 1.0).
    for method in (dist.prob, dist.log_prob, dist.cdf):
        out = np.asarray(method(jnp.array([jnp.nan, 0.0])))
        assert np.isnan(out[0]) and not np.isnan(out[1]), method.__name__
    m = MultivariateNormal(jnp.zeros(2), jnp.eye(2))
    out = m.log_prob(jnp.array([[jnp.nan, 0.0], [0.0, 0.0]]))
    assert np.isnan(out[0]) and np.isfinite(out[1])


def test_integer_samplers_do_not_overflow_int32():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="rate must be <= 2e\\+09"):
        Poisson(3e9).sample(key, 3)
    with pytest.raises(ValueError, match="rate must be"):
        Poisson(jnp.inf).sample(key, 3)
    with pytest.raises(ValueError, match="total_count must be"):
        Binomial(1e10, 0.5).sample(key, 3)
    # Traced parameters beyond the range give -1 (as invalid ones), never 2147483647.
    out = jax.jit(lambda r: Poisson(r).sample(key, 2))(3e9)
    np.testing.assert_array_equal(out, [-1, -1])
    big = Poisson(1e9).sample(key, 1000)
    assert np.all(np.abs(np.asarray(big, np.float64) - 1e9) < 10 * np.sqrt(1e9))


def test_poisson_log_prob_at_large_rate():
    # issue 16: Poisson(1e6).log_prob(1e6) was -7.0 in float32 (SciPy -7.83).
    k = jnp.array([1e6 - 3e3, 1e6, 1e6 + 1e3])
    np.testing.assert_allclose(
        Poisson(1e6).log_prob(k), st.poisson.logpmf(np.asarray(k, np.float64), 1e6), rtol=2e-5
    )
    small = np.array([0.0, 3.0, 9.0, 10.0, 25.0])
    np.testing.assert_allclose(
        Poisson(jnp.array([0.5, 4.0, 12.0, 12.0, 20.0])).log_prob(small),
        st.poisson.logpmf(small, np.array([0.5, 4.0, 12.0, 12.0, 20.0])),
        rtol=2e-6,
    )
    np.testing.assert_allclose(Poisson(0.0).log_prob(0.0), 0.0, atol=1e-6)
    g = jax.grad(lambda r: Poisson(r).log_prob(30.0))(25.0)
    np.testing.assert_allclose(g, 30.0 / 25.0 - 1, rtol=1e-4)
