import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import prob
from tests.conftest import assert_close, compiles_on_repeat

METHODS = [
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "lower",
    "higher",
    "midpoint",
    "nearest",
]
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
    assert prob.median(np.arange(5)).dtype == jnp.result_type(float)  # the default float


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
@pytest.mark.parametrize("method", METHODS)
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


# --- keepdims, q of any shape, NaN and empty input, against NumPy --------------------------


@pytest.mark.parametrize("axis", [None, 0, 2, -1, (0, 2), (2, 0), (0, 1, 2)])
@pytest.mark.parametrize("q", [0.3, [0.1, 0.9], [[0.0, 0.25], [0.5, 1.0]]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_keepdims_and_q_shape_equal_numpy(rng, axis, q, keepdims):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    got = prob.quantile(x, q, axis=axis, keepdims=keepdims)
    ref = np.quantile(x, q, axis=axis, keepdims=keepdims)
    assert got.shape == ref.shape and got.dtype == jnp.float32
    qs = np.asarray(q, np.float64)
    per_q = [np.quantile(x, float(v), axis=axis, keepdims=keepdims) for v in qs.ravel()]
    _same(got, np.stack(per_q).reshape(qs.shape + np.shape(per_q[0])))
    med = prob.median(x, axis=axis, keepdims=keepdims)
    _same(med, np.median(x, axis=axis, keepdims=keepdims))


def test_q_of_three_dimensions_and_empty_q(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    q = rng.uniform(size=(2, 3, 2))
    got = prob.quantile(x, q, axis=1, method="hazen")
    ref = np.stack([np.quantile(x, float(v), axis=1, method="hazen") for v in q.ravel()])
    _same(got, ref.reshape(2, 3, 2, 4))
    assert prob.quantile(x, [], axis=1).shape == np.quantile(x, [], axis=1).shape == (0, 4)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_equals_numpy_on_ties_and_infinities(method):
    x = np.array([[0.0, 1.0, 1.0, 1.0, 2.0, np.inf], [-np.inf, -1.0, 3.0, 3.0, 3.0, 7.0]])
    x = x.astype(np.float32)
    qs = np.linspace(0.0, 1.0, 21)
    _same(
        prob.quantile(x, qs, axis=1, method=method), _numpy_quantile(x, qs, axis=1, method=method)
    )


def test_nan_and_empty_as_numpy():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x[1, 2, 3] = np.nan
    with np.errstate(all="ignore"):
        for axis in [None, 0, 1, (0, 2)]:
            _same(prob.median(x, axis=axis), np.median(x, axis=axis))
            _same(
                prob.quantile(x, [0.3, 0.6], axis=axis), _numpy_quantile(x, [0.3, 0.6], axis=axis)
            )
        empty = np.zeros((1, 1, 0), np.float32)
        for axis in [None, 0, 1, 2]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns of an empty mean
                ref = np.median(empty, axis=axis)
            _same(prob.median(empty, axis=axis), ref)
    # A non-empty reduced axis with an empty other axis gives an empty result, as NumPy.
    e = np.zeros((0, 3), np.float32)
    assert prob.quantile(e, 0.5, axis=1).shape == np.quantile(e, 0.5, axis=1).shape == (0,)
    with pytest.raises(ValueError, match="empty axis"):  # NumPy raises IndexError
        prob.quantile(np.zeros(0, np.float32), 0.5)


def test_traced_q_outside_unit_interval_gives_nan(rng):
    x = rng.standard_normal(7).astype(np.float32)
    f = jax.jit(lambda a, q: prob.quantile(a, q))
    out = np.asarray(f(x, jnp.array([-0.5, 0.5, 1.5, jnp.nan], jnp.float32)))
    assert np.isnan(out[[0, 2, 3]]).all() and out[1] == np.quantile(x, 0.5)
    g = jax.jit(lambda a, q: prob.quantile(a, q, method="inverted_cdf", weights=jnp.ones(7)))
    assert np.isnan(g(x, 1.5)) and g(x, 0.5) == np.quantile(x, 0.5, method="inverted_cdf")


def test_traced_weights_that_numpy_rejects_give_nan(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    w = np.array([[1, 1, 1, 1], [0, 0, 0, 0], [1, np.inf, 1, 1]], np.float32)
    f = jax.jit(lambda a, b: prob.quantile(a, 0.5, axis=1, method="inverted_cdf", weights=b))
    out = np.asarray(f(x, w))
    assert out[0] == np.quantile(x[0], 0.5, method="inverted_cdf") and np.isnan(out[1:]).all()
    assert np.isnan(f(x, -np.ones((3, 4), np.float32))).all()


@pytest.mark.parametrize(
    "w", [[1.0, np.inf, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, np.nan, 1.0, 1.0]]
)
def test_concrete_bad_weights_raise_as_numpy(w):
    x = np.array([[1.0, 2.0, 3.0, 4.0]] * 2, np.float32)
    wts = np.array([w, [0.5] * 4])
    with np.errstate(all="ignore"), pytest.raises(ValueError):
        np.quantile(x, 0.5, axis=1, method="inverted_cdf", weights=wts)
    with pytest.raises(ValueError, match="weights included NaN, inf or were all zero"):
        prob.quantile(x, 0.5, axis=1, method="inverted_cdf", weights=wts)


def test_bad_static_options():
    x = jnp.arange(6.0)
    with pytest.raises(TypeError, match="keepdims must be a bool"):
        prob.median(x, keepdims="yes")
    with pytest.raises(TypeError, match="axis must be an int"):
        prob.quantile(x, 0.5, axis=1.5)
    with pytest.raises(TypeError, match="q: expected real numbers"):
        prob.quantile(x, "half")
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        prob.quantile(x, np.nan)
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        prob.quantile(x, jnp.array([0.5, 2.0]))
    with pytest.raises(TypeError, match="x: expected a real array"):
        prob.median(jnp.array([1 + 1j]))
    with pytest.raises(ValueError, match="repeated axis"):
        prob.median(jnp.zeros((2, 2)), axis=(0, -2))


# --- compile once: repeated eager calls with new data of the same shapes --------------------


def _data(rng, shape, k=3):
    return [(rng.standard_normal(shape).astype(np.float32),) for _ in range(k)]


@pytest.mark.parametrize("keepdims", [False, True])
def test_median_compiles_once(rng, keepdims):
    calls = [(jnp.asarray(a),) for (a,) in _data(rng, 1000)]
    assert compiles_on_repeat(lambda a: prob.median(a, keepdims=keepdims), *calls) == 0
    calls = _data(rng, (4, 9))  # NumPy inputs, an axis
    assert compiles_on_repeat(lambda a: prob.median(a, axis=1, keepdims=keepdims), *calls) == 0


@pytest.mark.parametrize("method", METHODS)
def test_quantile_compiles_once_for_every_method(rng, method):
    calls = [(jnp.asarray(a),) for (a,) in _data(rng, 1000)]
    assert compiles_on_repeat(lambda a: prob.quantile(a, 0.3, method=method), *calls) == 0
    assert compiles_on_repeat(lambda a: prob.quantile(a, [0.1, 0.9], method=method), *calls) == 0
    # New q values of the same shape are data too.
    qs = [(c[0], jnp.asarray(v, jnp.float32)) for c, v in zip(calls, [0.1, 0.5, 0.77], strict=True)]
    assert compiles_on_repeat(lambda a, q: prob.quantile(a, q, method=method), *qs) == 0
    assert compiles_on_repeat(lambda a, q: prob.quantile(a, float(q), method=method), *qs) == 0


def test_quantile_compiles_once_traced_q_and_weights(rng):
    xs = [jnp.asarray(a) for (a,) in _data(rng, (5, 40))]
    qs = [jnp.asarray(rng.uniform(size=3), jnp.float32) for _ in xs]
    f = jax.jit(lambda a, q: prob.quantile(a, q, axis=1, method="median_unbiased"))
    assert compiles_on_repeat(f, *zip(xs, qs, strict=True)) == 0
    ws = [jnp.asarray(rng.uniform(0.5, 2.0, size=(5, 40)), jnp.float32) for _ in xs]
    g = lambda a, w: prob.quantile(a, 0.4, axis=1, method="inverted_cdf", weights=w)  # noqa: E731
    assert compiles_on_repeat(g, *zip(xs, ws, strict=True)) == 0


# --- large slices: the bracket path (sample, counts, block gather) and its exact fallback ---

BIG_N = 70_001  # above the bracket threshold 2**16, odd, and not a multiple of the block


def _adversarial_rows(rng, n=BIG_N, dtype=np.float32):
    """Rows that make the bracket miss (or nearly), and plain rows that make it hit."""
    from mlmath_jax.prob._select_bracket import sample_size

    s = sample_size(n)
    stride = n // s
    sampled = stride // 2 + stride * np.arange(s)
    rows = {
        "normal": rng.standard_normal(n),
        "equal": np.full(n, 3.0),
        "two_values": np.where(rng.random(n) < 0.5, -1.0, 2.0),
        "sorted": np.sort(rng.standard_normal(n)),
        "reversed": np.sort(rng.standard_normal(n))[::-1],
        "median_spike": np.where(rng.random(n) < 0.2, 0.25, rng.standard_normal(n)),
        "infinities": np.where(rng.random(n) < 0.3, np.inf, rng.standard_normal(n)),
        "neg_infinities": np.where(rng.random(n) < 0.6, -np.inf, rng.standard_normal(n)),
        "nan_first": np.concatenate([[np.nan], rng.standard_normal(n - 1)]),
        "nan_last": np.concatenate([rng.standard_normal(n - 1), [np.nan]]),
        "signed_zeros": np.where(rng.random(n) < 0.5, -0.0, 0.0) * (rng.random(n) < 0.9),
        "integers": np.round(rng.standard_normal(n) * 2),
        "tail_heavy": rng.standard_cauchy(n),
    }
    unrep = rng.standard_normal(n)  # the sample sees only extremes: its pivots are useless
    unrep[sampled] = np.where(np.arange(s) % 2 == 0, 1e30, -1e30)
    rows["unrepresentative_sample"] = unrep
    return list(rows), np.stack([r.astype(dtype) for r in rows.values()])


QS_EDGE = [0.0, 1e-6, 0.001, 0.1, 0.5, 0.9, 0.999, 1.0 - 1e-6, 1.0]


@pytest.mark.parametrize("method", METHODS)
def test_large_adversarial_rows_equal_numpy_bitwise(rng, method):
    _, xs = _adversarial_rows(rng)
    for q in QS_EDGE:  # one q a call: the bracket path takes at most a few queries
        got = prob.quantile(xs, q, axis=1, method=method)
        with np.errstate(all="ignore"):
            _same(got, np.quantile(xs, q, axis=1, method=method))
    got = prob.quantile(xs, [0.25, 0.75], axis=1, method=method)
    _same(got, _numpy_quantile(xs, [0.25, 0.75], axis=1, method=method))


@pytest.mark.parametrize("case", range(14))
def test_large_adversarial_row_alone_equals_numpy(rng, case):
    names, xs = _adversarial_rows(rng)
    x = xs[case]  # alone, so a miss elsewhere does not send this row to the fallback
    with np.errstate(all="ignore"):
        _same(prob.median(x), np.median(x))
        _same(prob.quantile(x, [0.0, 0.3, 1.0]), _numpy_quantile(x, [0.0, 0.3, 1.0]))
        _same(prob.quantile(x, 0.999, method="nearest"), np.quantile(x, 0.999, method="nearest"))


def _bracket(xs, ranks, interpolate=True):
    from mlmath_jax.prob._select_bracket import bracket_select

    k = jnp.asarray(np.broadcast_to(ranks, (xs.shape[0], len(ranks))), jnp.int32)
    f = jax.jit(bracket_select, static_argnums=3)
    return [np.asarray(a) for a in f(jnp.asarray(xs), k, k + 1, interpolate)]


def test_bracket_step_hits_on_plain_data_and_misses_on_adversarial(rng):
    names, xs = _adversarial_rows(rng)
    n = xs.shape[1]
    ranks = [0, n // 3, (n - 1) // 2, n - 2]
    lo, hi, has_nan, ok = _bracket(xs, ranks)
    ordered = np.sort(xs, axis=1)
    for i, name in enumerate(names):
        if has_nan[i, 0]:
            assert name.startswith("nan")
            continue
        for j, r in enumerate(ranks):  # where the step says ok, it is exact
            if ok[i, j]:
                assert lo[i, j] == ordered[i, r] and hi[i, j] == ordered[i, r + 1], (name, r)
    row = dict(zip(names, range(len(names)), strict=True))
    # Sorted rows hit too: their few candidates sit in a few crowded blocks, read again.
    for name in ["normal", "tail_heavy", "sorted", "reversed"]:
        assert ok[row[name]].all(), name
    for name in ["equal", "two_values", "unrepresentative_sample"]:
        assert not ok[row[name]].all(), name  # the bracket misses: the fallback is taken
    lo1, _, _, ok1 = _bracket(xs[:1], [n // 2], interpolate=False)
    assert ok1.all() and lo1[0, 0] == ordered[0, n // 2]


def test_bracket_with_narrowing_is_exact_on_adversarial_rows(rng, monkeypatch):
    # Rows of 2**22 values or more narrow a wide key range before the radix passes; with
    # the threshold lowered, every adversarial row takes that route where the span is wide.
    from mlmath_jax.prob import _select_bracket as sb

    monkeypatch.setattr(sb, "_NARROW_MIN_N", 0)
    names, xs = _adversarial_rows(rng)
    n = xs.shape[1]
    ranks = [0, n // 3, (n - 1) // 2, n - 2]
    ordered = np.sort(xs, axis=1)
    for i, name in enumerate(names):
        lo, hi, has_nan, ok = _bracket(xs[i : i + 1], ranks)  # alone: its own branches
        if has_nan[0, 0]:
            continue
        if name in ("normal", "tail_heavy", "sorted", "reversed"):
            assert ok.all(), name
        for j, r in enumerate(ranks):
            if ok[0, j]:
                assert lo[0, j] == ordered[i, r] and hi[0, j] == ordered[i, r + 1], (name, r)


def test_long_rows_take_the_narrowing_and_equal_numpy(rng):
    # 2**22 + 17 values centred on 0: the median's bracket straddles zero (keys spanning 31
    # bits), so the candidates are narrowed and regrouped before the selection.
    n = (1 << 22) + 17
    x = rng.standard_normal(n).astype(np.float32)
    _same(prob.median(x), np.median(x))
    qs = [0.001, 0.5, 0.7]
    _same(prob.quantile(x, qs), _numpy_quantile(x, qs))
    _same(prob.quantile(x, 0.5, method="nearest"), np.quantile(x, 0.5, method="nearest"))


def test_large_median_does_not_copy_its_input():
    # The exact fallback sits in the untaken branch of a lax.cond; a pass loop carrying the
    # data there made XLA copy the input on every call (scratch above the input's size).
    x = jax.ShapeDtypeStruct((1 << 21,), jnp.float32)  # 8 MB: the bracket path
    for f in (prob.median, lambda a: prob.quantile(a, 0.3)):
        scratch = jax.jit(f).lower(x).compile().memory_analysis().temp_size_in_bytes
        assert scratch < 0.5 * x.size * 4, scratch


def test_large_batched_axis_and_vmap(rng):
    x = rng.standard_normal((3, BIG_N)).astype(np.float32)
    _same(prob.median(x, axis=1), np.median(x, axis=1))
    _same(prob.median(x.T, axis=0), np.median(x, axis=1))
    _same(jax.vmap(prob.median)(jnp.asarray(x)), np.median(x, axis=1))
    _same(jax.jit(lambda a: prob.quantile(a, 0.3, axis=1))(x), np.quantile(x, 0.3, axis=1))
    x[1, 5] = np.nan
    _same(prob.median(x, axis=1), np.median(x, axis=1))


@pytest.mark.x64
@pytest.mark.parametrize("method", ["linear", "inverted_cdf", "hazen", "nearest", "midpoint"])
def test_large_adversarial_rows_float64(rng, method):
    _, xs = _adversarial_rows(rng, dtype=np.float64)
    for q in [0.0, 0.001, 0.5, 0.999, 1.0]:
        got = prob.quantile(xs, q, axis=1, method=method)
        assert got.dtype == jnp.float64
        with np.errstate(all="ignore"):
            _same(got, np.quantile(xs, q, axis=1, method=method))
    x = xs[0]
    _same(prob.median(x), np.median(x))
    lo, _, _, ok = _bracket(xs[:1], [BIG_N // 2])
    assert ok.all() and lo[0, 0] == np.sort(x)[BIG_N // 2]


# --- the bracket path's pieces: crowded-block search and selection over candidate parts ---


def _crowded(counts):
    from mlmath_jax.prob import _select_bracket as sb

    # A fresh function each call: the caps are module constants read at trace time, and
    # a test may patch them (a cached trace of sb._crowded_blocks would keep the old ones).
    idx, num, ok = jax.jit(lambda c: sb._crowded_blocks(c))(jnp.asarray(counts, jnp.int32)[None])
    return np.asarray(idx[0]), int(num[0]), bool(ok[0])


def test_crowded_blocks_found_exactly(rng):
    nb = 64 * 40  # 40 groups of 64 blocks
    counts = rng.integers(0, 4, nb)  # none crowded yet (four or more: a block gives three)
    where = np.sort(rng.choice(nb, 100, replace=False))
    counts[where] = rng.integers(4, 64, where.size)
    idx, num, ok = _crowded(counts)
    assert ok and num == 100
    np.testing.assert_array_equal(idx[:num], where)
    np.testing.assert_array_equal(idx[num:], 0)
    _, num, ok = _crowded(np.zeros(nb))
    assert ok and num == 0
    k_max = nb // 8  # the cap for so few blocks
    counts[:] = 0
    counts[: k_max + 1] = 4
    assert _crowded(counts)[1:] == (k_max + 1, False)  # one over the cap: a miss
    counts[k_max] = 3
    idx, num, ok = _crowded(counts)
    assert ok and num == k_max
    np.testing.assert_array_equal(idx, np.arange(k_max))


def test_crowded_blocks_spread_over_many_groups_are_all_found(rng):
    # One crowded block in each of 1,500 groups: more groups than the two-level search's
    # old cap (1,024), which made such rows miss; the prefix-sum search has no group cap.
    nb = 64 * 2000
    groups = np.sort(rng.choice(2000, 1500, replace=False))
    where = groups * 64 + rng.integers(0, 64, groups.size)
    counts = rng.integers(0, 4, nb)
    counts[where] = 4 + rng.integers(0, 60, where.size)
    idx, num, ok = _crowded(counts)
    assert ok and num == 1500
    np.testing.assert_array_equal(idx[:num], where)


def test_crowded_cap_grows_with_the_row_for_sorted_data():
    # A sorted row's interval is consecutive: n / s values in a run of crowded blocks,
    # more than the fixed cap of 2048 for n above ~3e7. The cap is one block a 2**14 values.
    nb = 64 * 9000  # 36.9M values' blocks: cap 2250
    counts = np.zeros(nb, np.int32)
    counts[100_000 : 100_000 + 2200] = 64
    idx, num, ok = _crowded(counts)
    assert ok and num == 2200
    np.testing.assert_array_equal(idx[:num], np.arange(100_000, 102_200))


def _candidate_parts(rng, nb, extra, ties=False, lo=0, hi=2**31):
    """Per-block (count, low, high, total) and a key array with sentinels, and their candidates.

    A block holding one to three candidates gives them all (the third from the wrapping key
    sum); a block holding more is crowded, its candidates elsewhere (not counted here).
    """
    top = np.uint32(0xFFFFFFFF)
    hi = lo + 50 if ties else hi
    count = rng.integers(0, 6, nb).astype(np.int32)
    held = rng.integers(lo, hi, (nb, 5)).astype(np.uint64)
    inside = np.arange(5) < count[:, None]
    low = np.where(inside, held, 2**32 - 1).min(axis=1).astype(np.uint32)
    high = np.where(inside, held, 0).max(axis=1).astype(np.uint32)
    total = (np.where(inside, held, 0).sum(axis=1) % 2**32).astype(np.uint32)
    keys = rng.integers(lo, hi, extra).astype(np.uint32)
    keys[rng.random(extra) < 0.7] = top  # sentinels: no candidate there
    few = (count >= 1) & (count <= 3)
    cands = np.concatenate([held[few][inside[few]].astype(np.uint32), keys[keys != top]])
    blocks = tuple(jnp.asarray(a)[None] for a in (count, low, high, total))
    return [blocks, jnp.asarray(keys)[None]], np.sort(cands)


@pytest.mark.parametrize(
    "ties, lo, hi",
    [(False, 0, 2**31), (True, 0, 50), (False, 3_000_000_000, 3_000_070_000), (True, 2**31, 0)],
)
def test_selection_over_candidate_parts_equals_sorting(rng, ties, lo, hi):
    # Keys anywhere, and keys in a narrow range (the passes above the span's top bit are
    # skipped: 17 bits of 32 there), with and without ties.
    from mlmath_jax.prob import _select_candidates as sb

    parts, cands = _candidate_parts(rng, 64 * 8, 1000, ties, lo, hi)
    ranks = np.array([0, 1, len(cands) // 2, len(cands) - 2], np.int32)
    queries = [parts] * len(ranks)  # one query a rank, the same candidates
    base = jnp.full((1, len(ranks)), lo, jnp.uint32)
    span = jnp.full((1, len(ranks)), int(cands[-1]) - lo, jnp.uint32)
    key = jax.jit(sb._select_keys)(queries, jnp.asarray(ranks)[None], base, span)
    np.testing.assert_array_equal(np.asarray(key[0]), cands[ranks])
    nxt = jax.jit(sb._next_key)(queries, key, jnp.asarray(ranks + 1)[None])
    np.testing.assert_array_equal(np.asarray(nxt[0]), cands[ranks + 1])
    same = jax.jit(sb._next_key)(queries, key, jnp.asarray(ranks)[None])  # rank_next == rank
    np.testing.assert_array_equal(np.asarray(same[0]), cands[ranks])


def _narrowed(parts, cands, sample, ranks):
    """Narrow and regroup one query a rank over ``parts``; check the bounds against NumPy."""
    from mlmath_jax.prob import _select_candidates as sc

    nq = len(ranks)
    queries = [parts] * nq
    rank = jnp.asarray(ranks, jnp.int32)[None]
    first = jnp.full((1, nq), -1, jnp.int32)  # no bounds: the whole key range
    last = jnp.full((1, nq), len(sample), jnp.int32)
    base = jnp.zeros((1, nq), jnp.uint32)
    span = jnp.full((1, nq), 2**32 - 1, jnp.uint32)
    sample = jnp.asarray(np.sort(sample))[None]
    ka, kb, below = jax.jit(sc.narrow)(queries, sample, first, last, rank, rank + 1, base, span)
    ka, kb, below = (np.asarray(a[0]).astype(np.int64) for a in (ka, kb, below))
    for j, r in enumerate(ranks):  # both ranks inside [ka, kb), the count below ka exact
        assert ka[j] <= cands[r] and cands[r + 1] < kb[j], (r, ka[j], kb[j])
        assert below[j] == np.sum(cands < ka[j])
    bounds = (jnp.asarray(a, jnp.uint32)[None] for a in (ka, kb))
    fine, ok = jax.jit(sc.regroup)(queries, base, *bounds)
    return queries, fine, bool(ok[0]), ka, kb, below


def test_narrowing_and_regrouping_keep_the_selected_keys(rng):
    # Candidates narrowed to between adjacent sample keys, then regrouped 64 entries a
    # group: the selection over the 64x smaller parts gives the same keys as sorting.
    from mlmath_jax.prob import _select_candidates as sc

    parts, cands = _candidate_parts(rng, 64 * 64, 3000)
    sample = rng.choice(cands, 256, replace=False)
    ranks = [0, 1, len(cands) // 3, len(cands) // 2, len(cands) - 2]
    _, fine, ok, ka, kb, below = _narrowed(parts, cands, sample, ranks)
    assert ok
    held = [np.sum((cands >= a) & (cands < b)) for a, b in zip(ka, kb, strict=True)]
    assert max(held) < len(cands) / 32  # four passes: about 1 / 256 of the sample apart
    assert fine[0][0][0].shape == (1, 64 * 64 // 64)  # the per-block part, 64x smaller
    r = np.asarray(ranks) - below
    base, span = jnp.asarray(ka, jnp.uint32)[None], jnp.asarray(kb - ka - 1, jnp.uint32)[None]
    key = jax.jit(sc._select_keys)(fine, jnp.asarray(r, jnp.int32)[None], base, span)
    np.testing.assert_array_equal(np.asarray(key[0]), cands[ranks])
    nxt = jax.jit(sc._next_key)(fine, key, jnp.asarray(r + 1, jnp.int32)[None])
    np.testing.assert_array_equal(np.asarray(nxt[0]), cands[np.asarray(ranks) + 1])


def test_regrouping_reports_too_many_crowded_groups(rng):
    # Heavy ties: the narrowed range is one key held by a thousand candidates, so most
    # groups hold more than three of them; regroup says so and the caller keeps the
    # coarse selection.
    parts, cands = _candidate_parts(rng, 64 * 64, 3000, lo=7, hi=8)
    assert np.all(cands == 7)
    ok = _narrowed(parts, cands, cands[:256], [0, len(cands) // 2])[2]
    assert not ok


@pytest.mark.parametrize("n", [2**16, 2**16 + 4097, 300_007])
def test_bracket_rows_of_awkward_lengths(rng, n):
    # Lengths not a multiple of 8 (the count pass splits off the last few values) nor of a
    # group of blocks (the gather pass takes the rest whole).
    x = rng.standard_normal((2, n)).astype(np.float32)
    x[1] = np.sort(x[1])
    _same(prob.median(x, axis=1), np.median(x, axis=1))
    _same(
        prob.quantile(x, [0.01, 0.5, 0.99], axis=1), _numpy_quantile(x, [0.01, 0.5, 0.99], axis=1)
    )
    _, _, _, ok = _bracket(x, [n // 2])
    assert ok.all()


@pytest.mark.parametrize("n", [2**16 + 3, 300_007])
def test_radix_selection_of_awkward_lengths(rng, n):
    # The exact radix path (the bracket's fallback, and the weighted quantile) splits a row
    # whose length is not a multiple of 8 into parallel rows and a short tail.
    from mlmath_jax.prob import _select_radix as sr

    parts = sr.row_parts(jnp.zeros((2, n)))
    assert [p.shape for p in parts] == [(2, 8, n // 8), (2, 1, n % 8)]
    x = rng.standard_normal((2, n)).astype(np.float32)
    x[1, -3:] = [-1e9, 1e9, 0.0]  # the extremes sit in the tail
    ranks = np.array([[0, n // 2, n - 1]] * 2, np.int32)
    lo, hi, nan = jax.jit(sr._radix_order_stats, static_argnums=3)(
        jnp.asarray(x), jnp.asarray(ranks), jnp.asarray(np.minimum(ranks + 1, n - 1)), True
    )
    s = np.sort(x, axis=1)
    np.testing.assert_array_equal(np.asarray(lo), np.take_along_axis(s, ranks, axis=1))
    np.testing.assert_array_equal(
        np.asarray(hi), np.take_along_axis(s, np.minimum(ranks + 1, n - 1), axis=1)
    )
    assert not np.asarray(nan).any()
    w = rng.integers(1, 4, size=n).astype(np.float32)
    _same(
        prob.quantile(x[1], [0.0, 0.3, 1.0], weights=w, method="inverted_cdf"),
        np.quantile(x[1], [0.0, 0.3, 1.0], weights=w, method="inverted_cdf"),
    )


def test_key_span_bounds_every_candidate_key():
    # Candidates are values v >= lo and not v >= hi; values tie -0.0 and +0.0, keys do not.
    from mlmath_jax.prob import _select_bracket as sb
    from mlmath_jax.prob._select_radix import _to_key

    vals = np.array([-np.inf, -3.5, -1.0, -0.0, 0.0, 1e-30, 1.0, 2.5, np.inf], np.float32)
    bounds = [(-3.5, 2.5), (0.0, 1.0), (-0.0, 1.0), (-1.0, 0.0), (-1.0, -0.0), (1.0, np.nan)]
    bounds += [(-np.inf, np.nan), (-1.0, -1.0)]
    for lo, hi in bounds:
        lo32, hi32 = np.float32(lo), np.float32(hi)
        inside = vals[(vals >= lo32) & ~(vals >= hi32)]
        base, span = sb._key_span(jnp.asarray([[lo32]]), jnp.asarray([[hi32]]))
        keys = np.asarray(_to_key(jnp.asarray(inside))).astype(np.int64)
        b, sp = int(base[0, 0]), int(span[0, 0])
        assert np.all((keys >= b) & (keys - b <= sp)), (lo, hi, inside)
