"""Compile once: repeated eager calls with new values of the same shapes compile nothing.

Counts XLA backend compiles (``conftest.CompileCounter``) over every distribution family
and method, the constructors, ``expectation``, ``Moments`` and the table functions. Also
the pytree idiom: unflattening runs no constructor, ``jit``/``vmap`` over distributions,
and ``==`` does not raise.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import prob
from tests.conftest import compiles_on_repeat

KEY = jax.random.key(0)
V = (0.0, 0.1)  # two parameter perturbations: warm-up call, then one repeat


def _full(v, base):
    return jnp.full(3, base + v)


# family -> (parameters from a perturbation, a point from a perturbation)
FAMILIES = {
    "Normal": (lambda v: (_full(v, 0.0), _full(v, 1.0)), lambda v: _full(v, 0.3)),
    "Uniform": (lambda v: (_full(v, 0.0), _full(v, 2.0)), lambda v: _full(v, 0.5)),
    "Exponential": (lambda v: (_full(v, 1.0),), lambda v: _full(v, 0.5)),
    "Gamma": (lambda v: (_full(v, 1.5), _full(v, 2.0)), lambda v: _full(v, 0.5)),
    "Beta": (lambda v: (_full(v, 1.5), _full(v, 2.0)), lambda v: _full(v, 0.3)),
    "Bernoulli": (lambda v: (_full(v, 0.3),), lambda v: jnp.full(3, 1.0 - 10 * v)),
    "Binomial": (lambda v: (jnp.full(3, 10.0), _full(v, 0.3)), lambda v: jnp.full(3, 3.0 + 10 * v)),
    "Poisson": (lambda v: (_full(v, 2.0),), lambda v: jnp.full(3, 2.0 + 10 * v)),
    "Categorical": (
        lambda v: (jnp.array([0.2 + v, 0.3, 0.5 - v]),),
        lambda v: jnp.array(1.0 + 10 * v),
    ),
    "Dirichlet": (
        lambda v: (jnp.array([1.0 + v, 2.0, 3.0]),),
        lambda v: jnp.array([0.2, 0.3, 0.5]),
    ),
    "MultivariateNormal": (
        lambda v: (jnp.zeros(2) + v, jnp.array([[2.0, 0.5 + v], [0.5 + v, 2.0]])),
        lambda v: jnp.array([v, 1.0]),
    ),
}

METHODS = [
    "__init__", "sample", "log_prob", "prob", "cdf", "icdf", "mean", "variance", "stddev",
    "entropy", "median", "covariance",
]  # fmt: skip


def _call(name, method, v):
    params, point = FAMILIES[name]
    cls = getattr(prob, name)
    d = cls(*params(v))
    if method == "__init__":
        return jax.tree.leaves(d)
    f = getattr(d, method)
    if method == "sample":
        return f(KEY, (4,))
    if method in ("log_prob", "prob", "cdf"):
        return f(point(v))
    if method == "icdf":
        return f(jnp.full(3, 0.3 + v))
    return f()


CASES = [
    (name, method)
    for name in FAMILIES
    for method in METHODS
    if method == "__init__" or hasattr(getattr(prob, name), method)
]


@pytest.mark.parametrize(("name", "method"), CASES)
def test_distribution_method_compiles_once(name, method):
    n = compiles_on_repeat(lambda v: _call(name, method, v), *[(v,) for v in V])
    assert n == 0, f"{name}.{method}: {n} compiles on a repeated eager call"


def test_python_scalar_parameters_compile_once():
    def run(v):
        d = prob.Gamma(2.0 + v, 1.0)
        return d.log_prob(0.5 + v), d.cdf(0.5), d.icdf(0.3 + v), d.sample(KEY, 3)

    assert compiles_on_repeat(run, (0.0,), (0.25,), (0.5,)) == 0


def test_expectation_compiles_once_with_the_same_fun():
    def fun(x, c):
        return (x - c) ** 2

    def run(v):
        return prob.expectation(fun, prob.Normal(v, 1.0), KEY, 64, args=(jnp.float32(v),))

    assert compiles_on_repeat(run, (jnp.float32(0.0),), (jnp.float32(1.0),)) == 0


def test_expectation_args_must_be_a_tuple():
    with pytest.raises(TypeError, match="args must be a tuple"):
        prob.expectation(lambda x, c: x * c, prob.Normal(0.0, 1.0), KEY, 8, args=1.0)
    with pytest.raises(TypeError, match="fun must be callable"):
        prob.expectation(3.0, prob.Normal(0.0, 1.0), KEY, 8)


def test_moments_compile_once():
    def run(x, y):
        a, b = prob.Moments.from_data(x), prob.Moments.from_data(y)
        m = a.merge(b)
        return m.variance(), m.variance(ddof=1)

    rng = np.random.default_rng(0)
    calls = [(rng.normal(size=(5, 2)), rng.normal(size=(4, 2))) for _ in range(2)]
    calls = [tuple(jnp.asarray(a, jnp.float32) for a in c) for c in calls]
    assert compiles_on_repeat(run, *calls) == 0


TABLE_FUNCTIONS = {
    "marginal": lambda t: prob.marginal(t, 0),
    "conditional": lambda t: prob.conditional(t, 1),
    "are_independent": lambda t: prob.are_independent(t),
    "mutual_information": lambda t: prob.mutual_information(t),
    "chi2_independence": lambda t: prob.chi2_independence(10 * t)[:2],
    "chi2_no_correction": lambda t: prob.chi2_independence(10 * t, correction=False)[:2],
}


@pytest.mark.parametrize("name", sorted(TABLE_FUNCTIONS))
def test_table_function_compiles_once(name):
    def table(v):
        t = jnp.array([[0.1 + v, 0.2], [0.3, 0.4 - v]])
        return (t,)

    assert compiles_on_repeat(TABLE_FUNCTIONS[name], table(0.0), table(0.05)) == 0


def test_joint_table_compiles_once():
    def run(x, y):
        return prob.joint_table(x, y, num_categories=(3, 2))

    calls = [(jnp.array([0, 1, 2, 1]), jnp.array([0, 1, 1, 0])), (jnp.array([2, 2, 0, 1]),
             jnp.array([1, 1, 0, 0]))]  # fmt: skip
    assert compiles_on_repeat(run, *calls) == 0


# --- pytree idiom ------------------------------------------------------------------------


def _instances():
    return [getattr(prob, name)(*FAMILIES[name][0](0.0)) for name in FAMILIES] + [
        prob.MultivariateNormal(jnp.zeros(2), precision=jnp.eye(2)),
        prob.MultivariateNormal(jnp.zeros(2), scale_tril=jnp.eye(2)),
    ]


@pytest.mark.parametrize("dist", _instances(), ids=lambda d: type(d).__name__)
def test_unflatten_runs_no_constructor_or_validation(dist, monkeypatch):
    cls = type(dist)
    leaves, treedef = jax.tree.flatten(dist)

    def boom(*args, **kwargs):
        raise AssertionError("constructor ran on unflatten")

    monkeypatch.setattr(cls, "__init__", boom)
    monkeypatch.setattr(cls, "__post_init__", boom, raising=False)
    # Leaves that would fail validation (negative, None) are kept as they are.
    bad = jax.tree.unflatten(treedef, [-jnp.ones_like(x) for x in leaves])
    assert type(bad) is cls
    for a, b in zip(jax.tree.leaves(bad), leaves, strict=True):
        np.testing.assert_array_equal(a, -np.ones_like(np.asarray(b)))
    nones = jax.tree.unflatten(treedef, [None] * len(leaves))
    assert type(nones) is cls
    assert not any(f.metadata.get("static") for f in dataclasses.fields(cls))


@pytest.mark.parametrize("dist", _instances(), ids=lambda d: type(d).__name__)
def test_jit_and_vmap_over_distributions(dist):
    out = jax.jit(lambda d: d.mean())(dist)
    np.testing.assert_allclose(out, dist.mean(), rtol=1e-6)
    back = jax.jit(lambda d: d)(dist)
    assert type(back) is type(dist)
    stacked = jax.tree.map(lambda x: jnp.stack([x, x]), dist)
    means = jax.vmap(lambda d: d.mean())(stacked)
    np.testing.assert_allclose(means, np.stack([dist.mean()] * 2), rtol=1e-6)


def test_equality_is_identity_and_does_not_raise():
    a, b = prob.Normal(jnp.zeros(3), 1.0), prob.Normal(jnp.zeros(3), 1.0)
    assert a == a and a != b
    assert len({a, b}) == 2  # hashable
    m = prob.MultivariateNormal(jnp.zeros(2), jnp.eye(2))
    assert m == m and m != a
    moments = prob.Moments.from_data(jnp.ones(3))
    assert moments == moments and moments != prob.Moments.from_data(jnp.ones(3))


def test_families_with_equal_leaf_shapes_have_different_treedefs():
    b = prob.Binomial(jnp.array([5.0, 30.0]), jnp.array([0.2, 0.5]))
    u = prob.Uniform(jnp.array([0.0, -2.0]), jnp.array([1.0, 3.0]))
    assert jax.tree.structure(b) != jax.tree.structure(u)
    assert [str(k[0]) for k, _ in jax.tree_util.tree_flatten_with_path(u)[0]] == [
        ".low",
        ".high",
    ]


def test_distribution_is_exported_base_class():
    assert "Distribution" in prob.__all__
    for name in FAMILIES:
        assert issubclass(getattr(prob, name), prob.Distribution)


# --- constructor and point errors ----------------------------------------------------------

NOT_NUMBERS = [
    (lambda v: prob.Normal(v, 1.0), "loc"),
    (lambda v: prob.Normal(0.0, v), "scale"),
    (lambda v: prob.Uniform(0.0, v), "high"),
    (lambda v: prob.Exponential(v), "rate"),
    (lambda v: prob.Gamma(v, 1.0), "concentration"),
    (lambda v: prob.Beta(1.0, v), "beta"),
    (lambda v: prob.Bernoulli(v), "probs"),
    (lambda v: prob.Binomial(v, 0.5), "total_count"),
    (lambda v: prob.Poisson(v), "rate"),
    (lambda v: prob.Categorical(v), "probs"),
    (lambda v: prob.Dirichlet(v), "concentration"),
    (lambda v: prob.MultivariateNormal(v, jnp.eye(2)), "loc"),
    (lambda v: prob.MultivariateNormal(jnp.zeros(2), v), "covariance"),
    (lambda v: prob.MultivariateNormal(jnp.zeros(2), precision=v), "precision"),
]


@pytest.mark.parametrize("value", [None, "abc"])
@pytest.mark.parametrize(("build", "name"), NOT_NUMBERS)
def test_non_numeric_parameters_raise_type_error_at_construction(build, name, value):
    if value is None and name in ("covariance", "precision"):
        # For MultivariateNormal, None means "not given": the error names the three options.
        with pytest.raises(ValueError, match="exactly one of covariance, scale_tril or precision"):
            build(value)
        return
    with pytest.raises(TypeError, match=name):
        build(value)


def test_point_shape_mismatch_names_x_and_batch_shape():
    d = prob.Normal(jnp.array([0.0, 1.0]), 2.0)
    for method in (d.log_prob, d.prob, d.cdf):
        with pytest.raises(ValueError, match=r"x must broadcast against batch_shape \(2,\)"):
            method(jnp.zeros(3))
    with pytest.raises(ValueError, match=r"q must broadcast against batch_shape \(2,\)"):
        d.icdf(jnp.full(3, 0.5))
    with pytest.raises(TypeError, match="q"):
        d.icdf("abc")
    m = prob.MultivariateNormal(jnp.zeros(2), jnp.eye(2))
    with pytest.raises(ValueError, match=r"event_shape \(2,\)"):
        m.log_prob(jnp.zeros(3))
    with pytest.raises(TypeError, match="key must be a single JAX PRNG key"):
        d.sample(jnp.zeros(3), 2)
