import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, special, stats

from mlmath_jax import ml, prob
from tests.conftest import assert_close


def _rng():
    return np.random.default_rng(3)


def test_normal_uniform_exponential_match_scipy():
    rng = _rng()
    x = rng.normal(2.0, 3.0, 500)
    d = ml.fit_mle(prob.Normal, x.astype(np.float32))
    loc, scale = stats.norm.fit(x)
    assert isinstance(d, prob.Normal)
    assert_close(d.loc, loc, rtol=1e-5, name="loc")
    assert_close(d.scale, scale, rtol=1e-5, name="scale")
    u = rng.uniform(-1.0, 4.0, 300)
    d = ml.fit_mle(prob.Uniform, u.astype(np.float32))
    loc, scale = stats.uniform.fit(u)
    assert_close(d.low, loc, rtol=1e-6, name="low")
    assert_close(d.high, loc + scale, rtol=1e-6, name="high")
    e = rng.exponential(0.5, 400)
    d = ml.fit_mle(prob.Exponential, e.astype(np.float32))
    _, scale = stats.expon.fit(e, floc=0)
    assert_close(d.rate, 1.0 / scale, rtol=1e-5, name="rate")


def test_discrete_closed_forms():
    rng = _rng()
    b = rng.integers(0, 2, 200)
    assert_close(ml.fit_mle(prob.Bernoulli, b).probs, b.mean(), rtol=1e-6, name="bernoulli")
    p = rng.poisson(3.5, 300)
    assert_close(ml.fit_mle(prob.Poisson, p).rate, p.mean(), rtol=1e-6, name="poisson")
    k = rng.binomial(12, 0.3, 250)
    d = ml.fit_mle(prob.Binomial, k, total_count=12)
    assert_close(d.probs, k.mean() / 12, rtol=1e-6, name="binomial")
    assert_close(d.total_count, 12.0, rtol=0, name="total_count")
    c = rng.integers(0, 4, 400)
    d = ml.fit_mle(prob.Categorical, c)
    assert_close(d.probs, np.bincount(c, minlength=4) / 400, rtol=1e-6, name="categorical")
    d = ml.fit_mle(prob.Categorical, c, num_categories=6)
    assert d.probs.shape == (6,) and float(d.probs[5]) == 0.0


def test_multivariate_normal_matches_scipy():
    rng = _rng()
    cov = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    x = rng.multivariate_normal([1.0, -2.0, 0.5], cov, size=400)
    d = ml.fit_mle(prob.MultivariateNormal, x.astype(np.float32))
    mean, cov_hat = stats.multivariate_normal.fit(x)
    assert_close(d.loc, mean, rtol=1e-5, name="loc")
    assert_close(d.covariance(), cov_hat, rtol=1e-4, name="covariance")


@pytest.mark.parametrize("shape", [0.3, 2.5, 40.0])
def test_gamma_matches_scipy(shape):
    x = _rng().gamma(shape, 1.7, 600)
    d = ml.fit_mle(prob.Gamma, x.astype(np.float32))
    a, _, scale = stats.gamma.fit(x, floc=0)
    assert_close(d.concentration, a, rtol=1e-4, name="concentration")
    assert_close(d.rate, 1.0 / scale, rtol=1e-4, name="rate")


@pytest.mark.parametrize("ab", [(0.5, 0.8), (2.0, 5.0), (30.0, 10.0)])
def test_beta_matches_scipy(ab):
    x = _rng().beta(*ab, 500)
    d = ml.fit_mle(prob.Beta, x.astype(np.float32))
    a, b, _, _ = stats.beta.fit(x, floc=0, fscale=1)
    assert_close(d.alpha, a, rtol=2e-4, name="alpha")
    assert_close(d.beta, b, rtol=2e-4, name="beta")


def _dirichlet_reference(x):
    mean_log = np.log(x).mean(0)

    def nll(log_a):
        a = np.exp(log_a)
        return -(special.gammaln(a.sum()) - special.gammaln(a).sum() + (a - 1) @ mean_log)

    res = optimize.minimize(nll, np.zeros(x.shape[1]), method="BFGS", options={"gtol": 1e-12})
    return np.exp(res.x)


def test_dirichlet_maximises_likelihood():
    x = _rng().dirichlet([0.7, 2.0, 5.0, 1.2], 800)
    d = ml.fit_mle(prob.Dirichlet, x.astype(np.float32))
    assert_close(d.concentration, _dirichlet_reference(x), rtol=1e-3, name="concentration")


@pytest.mark.x64
def test_numerical_fits_x64():
    rng = _rng()
    x = rng.gamma(3.0, 2.0, 500)
    d = ml.fit_mle(prob.Gamma, x)
    a, _, scale = stats.gamma.fit(x, floc=0)
    assert_close(d.concentration, a, rtol=1e-6, name="gamma a")
    # the MLE's stationarity condition, to machine precision
    s = np.log(x.mean()) - np.log(x).mean()
    assert abs(np.log(float(d.concentration)) - special.digamma(float(d.concentration)) - s) < 1e-13
    x = rng.beta(2.0, 3.0, 500)
    d = ml.fit_mle(prob.Beta, x)
    a, b, _, _ = stats.beta.fit(x, floc=0, fscale=1)
    assert_close(jnp.stack([d.alpha, d.beta]), np.array([a, b]), rtol=1e-6, name="beta")
    x = rng.dirichlet([0.7, 2.0, 5.0], 500)
    d = ml.fit_mle(prob.Dirichlet, x)
    assert_close(d.concentration, _dirichlet_reference(x), rtol=1e-6, name="dirichlet")
    x = rng.normal(1.0, 2.0, 100)
    d = ml.fit_mle(prob.Normal, x)
    assert_close(d.scale, x.std(), rtol=1e-12, name="normal scale")


def test_batch_axes_and_jit_and_vmap():
    rng = _rng()
    x = rng.gamma(np.array([0.5, 2.0, 9.0]), 1.0, size=(400, 3)).astype(np.float32)
    batched = ml.fit_mle(prob.Gamma, x)
    assert batched.concentration.shape == (3,)
    jitted = jax.jit(lambda v: ml.fit_mle(prob.Gamma, v))(x)
    mapped = jax.vmap(lambda v: ml.fit_mle(prob.Gamma, v), in_axes=1)(x)
    for j in range(3):
        one = ml.fit_mle(prob.Gamma, x[:, j])
        assert_close(batched.concentration[j], one.concentration, rtol=1e-5, name="batch")
        assert_close(jitted.concentration[j], one.concentration, rtol=1e-5, name="jit")
        assert_close(mapped.concentration[j], one.concentration, rtol=1e-5, name="vmap")
    c = rng.integers(0, 3, 50)
    d = jax.jit(lambda v: ml.fit_mle(prob.Categorical, v, num_categories=3))(c)
    assert_close(d.probs, np.bincount(c, minlength=3) / 50, rtol=1e-6, name="categorical")


def test_bad_input():
    with pytest.raises(ValueError, match="unsupported family"):
        ml.fit_mle(int, np.ones(3))
    with pytest.raises(ValueError, match="at least one sample"):
        ml.fit_mle(prob.Normal, np.ones(0))
    with pytest.raises(ValueError, match="data must be"):
        ml.fit_mle(prob.MultivariateNormal, np.ones(5))
    with pytest.raises(ValueError, match="data must be > 0 for Gamma"):
        ml.fit_mle(prob.Gamma, np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match=r"data must be in \(0, 1\) for Beta"):
        ml.fit_mle(prob.Beta, np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="data must be >= 0 for Exponential"):
        ml.fit_mle(prob.Exponential, np.array([-1.0, 2.0]))
    with pytest.raises(ValueError, match="data must be integers >= 0 for Poisson"):
        ml.fit_mle(prob.Poisson, np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="data must be 0 or 1 for Bernoulli"):
        ml.fit_mle(prob.Bernoulli, np.array([0, 2]))
    with pytest.raises(ValueError, match="needs the known total_count"):
        ml.fit_mle(prob.Binomial, np.array([1, 2]))
    with pytest.raises(ValueError, match="for Binomial"):
        ml.fit_mle(prob.Binomial, np.array([1, 5]), total_count=4)
    with pytest.raises(ValueError, match="for Categorical"):
        ml.fit_mle(prob.Categorical, np.array([0, 3]), num_categories=3)
    with pytest.raises(ValueError, match="for Dirichlet"):
        ml.fit_mle(prob.Dirichlet, np.array([[0.5, 0.6], [0.2, 0.8]]))
    with pytest.raises(ValueError, match="needs the num_categories"):
        jax.jit(lambda v: ml.fit_mle(prob.Categorical, v))(np.array([0, 1]))


@pytest.mark.x64
@pytest.mark.parametrize(
    "family",
    ["Normal", "Uniform", "Exponential", "Gamma", "Beta", "Dirichlet", "MultivariateNormal"],
)
def test_fit_mle_grad_in_the_data_x64(family):
    """Gradients of fitted parameters in the data (implicit for Gamma/Beta/Dirichlet)."""
    import jax

    from mlmath_jax import prob

    rng = np.random.default_rng(0)
    data = {
        "Normal": rng.normal(size=20),
        "Uniform": rng.random(20),
        "Exponential": rng.random(20) + 0.1,
        "Gamma": rng.gamma(2.0, size=20),
        "Beta": rng.beta(2.0, 3.0, size=20),
        "Dirichlet": np.log(rng.dirichlet([2.0, 3.0, 4.0], size=30)),  # logits, softmax below
        "MultivariateNormal": rng.normal(size=(20, 2)),
    }[family]
    fam = getattr(prob, family)

    def f(x):
        x = jnp.asarray(x)
        if family == "Dirichlet":
            x = jax.nn.softmax(x, axis=-1)
        leaves = jax.tree.leaves(ml.fit_mle(fam, x))
        return sum(jnp.sum(leaf * (i + 1)) for i, leaf in enumerate(leaves))

    g = np.asarray(jax.grad(f)(data))
    h = 1e-4  # the Newton fits stop within ~1e-9 relative: a smaller h amplifies that
    for idx in [(3,) + (0,) * (data.ndim - 1), (7,) + (data.ndim - 1) * (1,)]:
        e = np.zeros_like(data)
        e[idx] = h
        fd = (float(f(data + e)) - float(f(data - e))) / (2 * h)
        assert abs(g[idx] - fd) <= 1e-5 * max(1.0, abs(fd)), (idx, g[idx], fd)


def test_uniform_rejects_infinite_or_nan_data():
    # issue 16: fit_mle(Uniform, data with inf) returned Uniform(..., inf).
    for bad in (np.inf, -np.inf, np.nan):
        with pytest.raises(ValueError, match="finite real numbers for Uniform"):
            ml.fit_mle(prob.Uniform, jnp.array([0.0, 1.0, bad]))
    high = jax.jit(lambda d: ml.fit_mle(prob.Uniform, d).high)
    assert np.isnan(high(jnp.array([0.0, 1.0, jnp.inf])))
    assert float(high(jnp.array([0.0, 1.0, 3.0]))) == 3.0
