import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import prob
from tests.conftest import assert_close

METHODS = ["linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf"]
QS = [0.0, 0.1, 0.25, 0.3, 0.5, 0.77, 0.95, 1.0]


def _rows(rng, n, dtype=np.float32):
    """Rows with plain, tied, +inf, NaN, -inf, integer-valued and signed-zero data."""
    xs = rng.standard_normal((8, n)).astype(dtype)
    xs[1] = np.round(xs[1] * 2)
    xs[2, ::2] = np.inf
    xs[3, n // 2] = np.nan
    xs[4, ::3] = -np.inf
    xs[5] = np.round(xs[5])
    xs[6] = np.where(xs[6] > 0, 0.0, -0.0)
    xs[7] = -np.abs(xs[7]) - 1e3
    return xs


def _numpy_quantile(x, qs, **kw):
    with np.errstate(all="ignore"):
        return np.stack([np.quantile(x, float(q), **kw) for q in qs])


def _same(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    ok = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    bad = np.argwhere(~ok)
    assert ok.all(), f"{len(bad)} differ, first at {bad[0]}: {actual[tuple(bad[0])]!r} vs " + (
        f"{expected[tuple(bad[0])]!r}"
    )


@pytest.mark.parametrize("n", [1, 2, 3, 4, 10, 11])
@pytest.mark.parametrize("method", METHODS)
def test_quantile_equals_numpy_bitwise(rng, n, method):
    xs = _rows(rng, n)
    _same(
        prob.quantile(xs, QS, axis=1, method=method), _numpy_quantile(xs, QS, axis=1, method=method)
    )


@pytest.mark.parametrize("n", [1, 2, 5, 6, 64])
def test_median_equals_numpy(rng, n):
    xs = _rows(rng, n)
    with np.errstate(all="ignore"):
        _same(prob.median(xs, axis=1), np.median(xs, axis=1))


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, (0, 2)])
def test_axes_and_q_axis_first(rng, axis):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    _same(prob.median(x, axis=axis), np.median(x, axis=axis))
    got = prob.quantile(x, [0.2, 0.9], axis=axis)
    _same(got, _numpy_quantile(x, [0.2, 0.9], axis=axis))
    _same(prob.quantile(x, 0.2, axis=axis), np.quantile(x, 0.2, axis=axis))


def test_scalar_q_gives_reduced_shape_and_keeps_dtype(rng):
    x = rng.standard_normal((4, 7)).astype(np.float32)
    out = prob.quantile(x, 0.4, axis=0)
    assert out.shape == (7,) and out.dtype == jnp.float32
    assert prob.quantile(x, np.array([0.4]), axis=0).shape == (1, 7)
    assert prob.median(np.arange(5)).dtype == jnp.float32  # integers are promoted


def test_large_n_uses_split_reduction(rng):
    x = rng.standard_normal(1 << 17).astype(np.float32)
    x[::7] = x[::7].round()  # ties
    _same(prob.median(x), np.median(x))
    _same(prob.quantile(x, [0.01, 0.5, 0.99]), _numpy_quantile(x, [0.01, 0.5, 0.99]))


def test_infinities_and_nan():
    inf = np.inf
    x = np.array([[1.0, inf, inf], [-inf, 1.0, 2.0], [1.0, np.nan, 0.0]], np.float32)
    with np.errstate(all="ignore"):
        _same(prob.median(x, axis=1), np.median(x, axis=1))
        for q in [0.0, 0.25, 0.5, 1.0]:  # NumPy's lerp gives NaN for inf * 0: so do we
            _same(prob.quantile(x, q, axis=1), np.quantile(x, q, axis=1))
    assert np.isnan(prob.median(np.array([np.nan, 1.0, 2.0], np.float32)))


def test_signed_zeros_compare_equal_to_numpy():
    x = np.array([0.0, -0.0, -0.0, 0.0, 1.0], np.float32)
    for q in [0.0, 0.3, 0.5]:
        assert float(prob.quantile(x, q)) == float(np.quantile(x, q))


def test_nearest_rounds_half_to_even():
    x = np.arange(10, dtype=np.float32)  # (n-1) q = 4.5 -> 4, 0.5 * 9 etc.
    qs = [0.05, 0.15, 0.25, 0.35, 0.45, 0.5, 0.55]
    _same(prob.quantile(x, qs, method="nearest"), _numpy_quantile(x, qs, method="nearest"))


@pytest.mark.parametrize("kind", ["integer", "random", "one_d", "zeros"])
def test_weighted_inverted_cdf(rng, kind):
    x = np.round(rng.standard_normal((3, 9)), 1).astype(np.float32)
    if kind == "integer":
        w = rng.integers(0, 5, (3, 9)).astype(np.float32)
        w[:, 0] += 1
    elif kind == "random":
        w = rng.uniform(0.1, 2.0, (3, 9)).astype(np.float32)
    elif kind == "one_d":
        w = np.arange(1, 10, dtype=np.float32)
    else:
        w = np.ones((3, 9), np.float32)
        w[:, ::2] = 0.0
    qs = [0.0, 0.1, 0.5, 0.9, 1.0]
    got = prob.quantile(x, qs, axis=1, method="inverted_cdf", weights=w)
    ref = _numpy_quantile(x, qs, axis=1, method="inverted_cdf", weights=w)
    _same(got, ref)


def test_weighted_nan_and_axis_none(rng):
    x = rng.standard_normal((2, 5)).astype(np.float32)
    w = np.ones((2, 5), np.float32)
    _same(
        prob.quantile(x, 0.5, method="inverted_cdf", weights=w),
        np.quantile(x, 0.5, method="inverted_cdf", weights=w),
    )
    x[0, 1] = np.nan
    assert np.isnan(prob.quantile(x, 0.5, method="inverted_cdf", weights=w))


def test_jit_vmap_and_traced_q(rng):
    x = rng.standard_normal((5, 33)).astype(np.float32)
    f = jax.jit(lambda a: prob.median(a, axis=1))
    _same(f(x), np.median(x, axis=1))
    _same(jax.vmap(prob.median)(x), np.median(x, axis=1))
    qs = np.array([0.1, 0.5, 0.9], np.float32)
    got = jax.jit(lambda a, q: prob.quantile(a, q, axis=1))(x, qs)
    ref = np.quantile(x.astype(np.float64), qs.astype(np.float64), axis=1)
    assert_close(got, ref, rtol=1e-6, atol=1e-6, name="traced q")
    got = jax.vmap(lambda q: prob.quantile(x[0], q, method="lower"))(qs)
    _same(got, np.quantile(x[0], qs, method="lower").astype(np.float32))


def test_bad_input():
    x = jnp.arange(6.0)
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        prob.quantile(x, 1.5)
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        prob.quantile(x, [0.5, -0.1])
    with pytest.raises(ValueError, match="method must be one of"):
        prob.quantile(x, 0.5, method="cubic")
    with pytest.raises(ValueError, match="only method 'inverted_cdf' supports weights"):
        prob.quantile(x, 0.5, weights=jnp.ones(6))
    with pytest.raises(ValueError, match="weights must be non-negative"):
        prob.quantile(x, 0.5, method="inverted_cdf", weights=-jnp.ones(6))
    with pytest.raises(ValueError, match="weights must have x's shape"):
        prob.quantile(x, 0.5, axis=0, method="inverted_cdf", weights=jnp.ones(5))
    with pytest.raises(TypeError, match="axis must be specified"):  # NumPy's TypeError
        prob.quantile(x, 0.5, method="inverted_cdf", weights=jnp.ones(5))
    with pytest.raises(ValueError, match="empty axis"):
        prob.quantile(jnp.zeros((3, 0)), 0.5, axis=1)
    with pytest.raises(ValueError, match="out of range"):
        prob.median(x, axis=1)
    with pytest.raises(TypeError, match="float32 and float64"):
        prob.median(jnp.arange(4.0, dtype=jnp.bfloat16))
    assert np.isnan(prob.median(jnp.zeros((0,))))


@pytest.mark.x64
@pytest.mark.parametrize("method", ["linear", "midpoint", "nearest"])
def test_float64_equals_numpy(rng, method):
    xs = _rows(rng, 12, np.float64)
    got = prob.quantile(xs, QS, axis=1, method=method)
    assert got.dtype == jnp.float64
    _same(got, _numpy_quantile(xs, QS, axis=1, method=method))
    with np.errstate(all="ignore"):
        _same(prob.median(xs, axis=1), np.median(xs, axis=1))


def test_grad_is_the_selected_elements_tangent(rng):
    x = rng.standard_normal(9).astype(np.float32)
    for f_ours, f_ref in [
        (prob.median, jnp.median),
        (lambda a: prob.quantile(a, 0.3), lambda a: jnp.quantile(a, 0.3)),
        (lambda a: prob.median(a[:8]), lambda a: jnp.median(a[:8])),
    ]:
        got, ref = jax.jit(jax.grad(f_ours))(x), jax.jit(jax.grad(f_ref))(x)
        assert_close(got, ref, rtol=1e-6, atol=1e-7)
    ties = jnp.array([1.0, 2.0, 2.0, 5.0, 7.0])  # the tie shares the tangent
    assert_close(jax.jit(jax.grad(prob.median))(ties), [0, 0.5, 0.5, 0, 0], rtol=0)
    f = jax.jit(jax.jacobian(lambda a: prob.quantile(a.reshape(3, 3), [0.5, 1.0], axis=1)))
    jac = f(x)
    assert jac.shape == (2, 3, 9)
