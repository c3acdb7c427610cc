import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from sklearn.datasets import load_iris
from sklearn.metrics import mutual_info_score

from mlmath_jax import prob
from tests.conftest import assert_close


def _joint(rng, shape):
    p = rng.uniform(0.0, 1.0, shape)
    return (p / p.sum()).astype(np.float32)


def test_marginal(rng):
    p = _joint(rng, (2, 3, 4))
    assert_close(prob.marginal(p, 0), p.sum(axis=(1, 2)), rtol=1e-6)
    assert_close(prob.marginal(p, (0, 2)), p.sum(axis=1), rtol=1e-6)
    assert_close(prob.marginal(p, (2, 0)), p.sum(axis=1).T, rtol=1e-6)  # order as given
    assert_close(prob.marginal(p, (0, 1, 2)), p, rtol=0)
    assert_close(prob.marginal(p, -1), p.sum(axis=(0, 1)), rtol=1e-6)


def test_conditional(rng):
    p = _joint(rng, (2, 3, 4))
    c = prob.conditional(p, 1)
    assert c.shape == p.shape
    assert_close(c, p / p.sum(axis=(0, 2), keepdims=True), rtol=1e-6)
    assert_close(c.sum(axis=(0, 2)), np.ones(3), rtol=1e-6)
    c2 = prob.conditional(p, (0, 2))
    assert_close(c2.sum(axis=1), np.ones((2, 4)), rtol=1e-6)


def test_conditional_on_zero_probability_is_nan():
    p = jnp.array([[0.5, 0.0], [0.5, 0.0]])
    c = prob.conditional(p, given=1)
    assert_close(c[:, 0], [0.5, 0.5], rtol=0)
    assert np.all(np.isnan(c[:, 1]))


def test_independence_and_mutual_information(rng):
    px, py, pz = (_joint(rng, (k,)) for k in (2, 3, 4))
    indep = px[:, None, None] * py[None, :, None] * pz[None, None, :]
    assert bool(prob.are_independent(indep))
    assert abs(float(prob.mutual_information(indep))) < 1e-6
    dep = _joint(rng, (2, 3))
    assert not bool(prob.are_independent(dep))
    # pairwise independent but not mutually: Z = X xor Y for fair bits
    xor = np.zeros((2, 2, 2), np.float32)
    for a in range(2):
        for b in range(2):
            xor[a, b, a ^ b] = 0.25
    assert bool(prob.are_independent(xor.sum(axis=2)))
    assert not bool(prob.are_independent(xor))
    assert_close(prob.mutual_information(xor), np.log(2), rtol=1e-6)


def test_mutual_information_matches_sklearn():
    data = load_iris()
    a = np.digitize(data.data[:, 0], [5.0, 6.0, 7.0])
    b = data.target
    counts = np.zeros((4, 3))
    np.add.at(counts, (a, b), 1)
    ref = mutual_info_score(a, b)
    assert_close(prob.mutual_information(counts / counts.sum()), ref, rtol=1e-5)
    assert_close(prob.mutual_information(counts), ref, rtol=1e-5)  # counts normalised
    zero_cells = jnp.array([[0.5, 0.0], [0.0, 0.5]])  # 0 log 0 = 0
    assert_close(prob.mutual_information(zero_cells), np.log(2), rtol=1e-6)
    g = jax.grad(prob.mutual_information)(jnp.array([[0.3, 0.2], [0.1, 0.4]]))
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("correction", [True, False])
@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (2, 3, 4), (1, 2, 2)])
def test_chi2_matches_scipy(rng, shape, correction):
    # SciPy's default applies Yates' correction when dof == 1 ((2, 2) and (1, 2, 2)).
    counts = rng.integers(1, 30, shape).astype(np.float32)
    res = prob.chi2_independence(counts, correction=correction)
    ref = scipy.stats.chi2_contingency(counts.astype(np.float64), correction=correction)
    assert_close(res.statistic, ref.statistic, rtol=1e-5)
    assert_close(res.p_value, ref.pvalue, rtol=1e-4, atol=1e-7)
    assert res.dof == ref.dof


def test_chi2_yates_small_differences():
    # scipy test_contingency: test_chi2_contingency_yates_gh13875 (|o - e| < 0.5 cells).
    counts = np.array([[10.0, 10.0], [10.0, 11.0]])
    res = prob.chi2_independence(counts)
    ref = scipy.stats.chi2_contingency(counts)
    assert_close(res.statistic, ref.statistic, rtol=1e-5, atol=1e-7)
    assert_close(res.p_value, ref.pvalue, rtol=1e-5)
    with pytest.raises(TypeError, match="correction must be a Python bool"):
        prob.chi2_independence(counts, correction="no")


def test_joint_table_matches_numpy(rng):
    x, y, z = rng.integers(0, 3, 50), rng.integers(0, 2, 50), rng.integers(0, 4, 50)
    counts = prob.joint_table(x, y, z, num_categories=(3, 2, 4), normalize=False)
    ref, _ = np.histogramdd(np.stack([x, y, z], 1), bins=(3, 2, 4), range=[(0, 3), (0, 2), (0, 4)])
    np.testing.assert_array_equal(counts, ref)
    table = prob.joint_table(x, y, num_categories=(3, 2))
    assert_close(table, ref.sum(2) / 50, rtol=1e-6)
    assert table.shape == (3, 2)
    res = prob.chi2_independence(prob.joint_table(x, y, num_categories=(3, 2), normalize=False))
    ref_chi2 = scipy.stats.chi2_contingency(ref.sum(2))
    assert_close(res.statistic, ref_chi2.statistic, rtol=1e-5)


def test_joint_table_bad_input():
    x = jnp.array([0, 1, 2])
    with pytest.raises(ValueError, match="outside its range"):
        prob.joint_table(x, num_categories=2)
    with pytest.raises(TypeError, match="integer labels"):
        prob.joint_table(jnp.array([0.0, 1.0]), num_categories=2)
    with pytest.raises(ValueError, match="same length"):
        prob.joint_table(x, jnp.array([0, 1]), num_categories=3)
    with pytest.raises(ValueError, match="2 entries for 1 columns"):
        prob.joint_table(x, num_categories=(3, 3))
    with pytest.raises(ValueError, match="at least one"):
        prob.joint_table(num_categories=3)
    # Traced: out-of-range labels are not counted.
    out = jax.jit(lambda c: prob.joint_table(c, num_categories=2, normalize=False))(x)
    np.testing.assert_array_equal(out, [1.0, 1.0])


def test_chi2_batch_and_jit(rng):
    counts = rng.integers(1, 30, (5, 3, 4)).astype(np.float32)
    res = jax.jit(lambda c: prob.chi2_independence(c, table_ndim=2, correction=False))(counts)
    assert res.statistic.shape == (5,)
    for i in range(5):
        ref = scipy.stats.chi2_contingency(counts[i].astype(np.float64), correction=False)
        assert_close(res.statistic[i], ref.statistic, rtol=1e-5)
        assert_close(res.p_value[i], ref.pvalue, rtol=1e-4, atol=1e-7)
    assert int(res.dof) == 6
    whole = prob.chi2_independence(counts, correction=False)  # default: one 3-D table
    ref = scipy.stats.chi2_contingency(counts.astype(np.float64), correction=False)
    assert_close(whole.statistic, ref.statistic, rtol=1e-5)


def test_chi2_dof_zero_and_zero_expected():
    res = prob.chi2_independence(jnp.array([3.0, 5.0]))
    ref = scipy.stats.chi2_contingency(np.array([3.0, 5.0]), correction=False)
    assert (float(res.statistic), float(res.p_value), res.dof) == (
        ref.statistic,
        ref.pvalue,
        ref.dof,
    )
    with pytest.raises(ValueError, match="expected frequencies has a zero element"):
        prob.chi2_independence(jnp.array([[1.0, 0.0], [2.0, 0.0]]))
    traced = jax.jit(prob.chi2_independence)(jnp.array([[1.0, 0.0], [2.0, 0.0]]))
    assert np.isnan(traced.statistic) and np.isnan(traced.p_value)


def test_bad_input():
    with pytest.raises(ValueError, match="counts must be >= 0"):
        prob.chi2_independence(jnp.array([[1.0, -1.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match="table_ndim must be in"):
        prob.chi2_independence(jnp.ones((2, 2)), table_ndim=3)
    with pytest.raises(TypeError, match="table_ndim must be a Python int"):
        prob.chi2_independence(jnp.ones((2, 2)), table_ndim=1.0)
    with pytest.raises(ValueError, match="axes=2 is out of range"):
        prob.marginal(jnp.ones((2, 2)), 2)
    with pytest.raises(ValueError, match="repeated axis"):
        prob.conditional(jnp.ones((2, 2)), (0, 0))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        prob.mutual_information(jnp.float32(1.0))


@pytest.mark.x64
def test_chi2_float64(rng):
    counts = rng.integers(1, 100, (3, 5)).astype(np.float64)
    res = prob.chi2_independence(counts)
    ref = scipy.stats.chi2_contingency(counts, correction=False)
    assert_close(res.statistic, ref.statistic, rtol=1e-10)
    assert_close(res.p_value, ref.pvalue, rtol=1e-8)


@pytest.mark.parametrize(
    "joint", [[[0.5, jnp.nan], [0.2, 0.3]], [[0.5, jnp.inf], [0.2, 0.3]], [[0.5, -0.1], [0.3, 0.3]],
              [[0.0, 0.0], [0.0, 0.0]]],
)  # fmt: skip
def test_invalid_tables_raise_or_give_nan(joint):
    # issue 16: NaN/inf/negative/all-zero tables gave 0 or False.
    joint = jnp.array(joint)
    with pytest.raises(ValueError, match="finite, non-negative"):
        prob.are_independent(joint)
    with pytest.raises(ValueError, match="finite, non-negative"):
        prob.mutual_information(joint)
    assert np.isnan(jax.jit(prob.mutual_information)(joint))
    with pytest.raises(ValueError, match="atol must be >= 0"):
        prob.are_independent(jnp.ones((2, 2)), atol=-1)
