"""NumPy's own quantile, percentile and median tests, ported to ``prob.quantile``/``median``.

Source: ``numpy/lib/tests/test_function_base.py`` (NumPy 2.4) classes ``TestPercentile``,
``TestQuantile`` and ``TestMedian``; each port names its test. Inputs and expected values
are NumPy's; percentiles ``p`` become quantiles ``p / 100`` (what ``np.percentile`` does).
Where the kit deliberately differs, the port says so: results are float32 unless x64 is on
(NumPy computes in float64 for integer input), ``out=``/``overwrite_input=`` do not exist
(functional arrays), float16/longdouble/object/Fraction/datetime inputs are not supported,
and an empty reduction raises ``ValueError`` where NumPy raises ``IndexError``.
Tests whose float64 inputs and tolerances only hold in float64 run in the x64 pass.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import (
    assert_allclose,
    assert_almost_equal,
    assert_array_almost_equal_nulp,
    assert_array_equal,
    assert_equal,
)

from mlmath_jax import prob
from tests.conftest import X64

F = np.float64 if X64 else np.float32  # the float the kit computes in

QUANTILE_METHODS = [
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "nearest",
    "lower",
    "higher",
    "midpoint",
]
INTERPOLATING_METHODS = [
    "averaged_inverted_cdf",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "midpoint",
]


def percentile(a, p, axis=None, **kw):
    """``np.percentile`` through ``prob.quantile`` (NumPy divides by 100 the same way)."""
    return np.asarray(prob.quantile(a, np.true_divide(p, 100), axis=axis, **kw))


def quantile(a, q, axis=None, **kw):
    return np.asarray(prob.quantile(a, q, axis=axis, **kw))


def median(a, axis=None, **kw):
    return np.asarray(prob.median(a, axis=axis, **kw))


# --- TestPercentile -------------------------------------------------------------------------


# TestPercentile.test_basic
def test_percentile_basic():
    x = np.arange(8) * 0.5
    assert_equal(percentile(x, 0), 0.0)
    assert_equal(percentile(x, 100), 3.5)
    assert_equal(percentile(x, 50), 1.75)
    x[1] = np.nan
    assert_equal(percentile(x, 0), np.nan)
    assert_equal(percentile(x, 0, method="nearest"), np.nan)
    assert_equal(percentile(x, 0, method="inverted_cdf"), np.nan)
    assert_equal(percentile(x, 0, method="inverted_cdf", weights=np.ones_like(x)), np.nan)


# TestPercentile.test_complex (and TestQuantile.test_complex)
@pytest.mark.parametrize("dtype", ["D", "F"])
def test_percentile_complex(dtype):
    arr_c = np.array([0.5 + 3.0j, 2.1 + 0.5j, 1.6 + 2.3j], dtype=dtype)
    with pytest.raises(TypeError):
        percentile(arr_c, 0.5)
    with pytest.raises(TypeError):
        quantile(arr_c, 0.5)


# TestPercentile.test_2D
def test_percentile_2d():
    x = np.array([[1, 1, 1], [1, 1, 1], [4, 4, 3], [1, 1, 1], [1, 1, 1]])
    assert_array_equal(percentile(x, 50, axis=0), [1, 1, 1])


# TestPercentile.test_linear_nan_1D
def test_percentile_linear_nan_1d():
    arr = np.asarray([15.0, np.nan, 35.0, 40.0, 50.0], dtype=F)
    res = prob.quantile(arr, 0.4, method="linear")
    assert_equal(np.asarray(res), np.nan)
    assert_equal(res.dtype, arr.dtype)


# TestPercentile.test_linear_interpolation (integer, float32 and float64 inputs; NumPy's
# integer results are float64, ours the default float)
@pytest.mark.parametrize(("function", "q"), [(quantile, 0.4), (percentile, 40.0)])
@pytest.mark.parametrize("input_dtype", [np.int8, np.int64, np.uint16, np.float32, F])
@pytest.mark.parametrize(
    ("method", "weighted", "expected"),
    [
        ("inverted_cdf", False, 20),
        ("inverted_cdf", True, 20),
        ("averaged_inverted_cdf", False, 27.5),
        ("closest_observation", False, 20),
        ("interpolated_inverted_cdf", False, 20),
        ("hazen", False, 27.5),
        ("weibull", False, 26),
        ("linear", False, 29),
        ("median_unbiased", False, 27),
        ("normal_unbiased", False, 27.125),
    ],
)
def test_percentile_linear_interpolation(function, q, input_dtype, method, weighted, expected):
    arr = np.asarray([15.0, 20.0, 35.0, 40.0, 50.0], dtype=input_dtype)
    weights = np.ones_like(arr) if weighted else None
    actual = function(arr, q, method=method, weights=weights)
    expected_dtype = np.dtype(input_dtype) if np.dtype(input_dtype).kind == "f" else F
    assert actual.dtype == expected_dtype
    assert_array_almost_equal_nulp(actual, np.dtype(expected_dtype).type(expected))


# TestPercentile.test_lower_higher, test_midpoint, test_nearest
@pytest.mark.parametrize("dtype", [np.int8, np.uint32, np.int64, np.float32, F])
def test_percentile_lower_higher_midpoint_nearest(dtype):
    assert_equal(percentile(np.arange(10, dtype=dtype), 50, method="lower"), 4)
    assert_equal(percentile(np.arange(10, dtype=dtype), 50, method="higher"), 5)
    assert_equal(percentile(np.arange(10, dtype=dtype), 51, method="midpoint"), 4.5)
    assert_equal(percentile(np.arange(9, dtype=dtype) + 1, 50, method="midpoint"), 5)
    assert_equal(percentile(np.arange(11, dtype=dtype), 51, method="midpoint"), 5.5)
    assert_equal(percentile(np.arange(11, dtype=dtype), 50, method="midpoint"), 5)
    assert_equal(percentile(np.arange(10, dtype=dtype), 51, method="nearest"), 5)
    assert_equal(percentile(np.arange(10, dtype=dtype), 49, method="nearest"), 4)


# TestPercentile.test_linear_interpolation_extrapolation
def test_percentile_extrapolation():
    arr = np.random.default_rng(0).random(5).astype(F)
    assert_equal(percentile(arr, 100), arr.max())
    assert_equal(percentile(arr, 0), arr.min())


# TestPercentile.test_sequence and test_percentile_list
def test_percentile_sequence_and_list():
    x = np.arange(8) * 0.5
    assert_equal(percentile(x, [0, 100, 50]), [0, 3.5, 1.75])
    assert_equal(percentile([1, 2, 3], 0), 1)


# TestPercentile.test_axis
def test_percentile_axis():
    x = np.arange(12).reshape(3, 4)
    assert_equal(percentile(x, (25, 50, 100)), [2.75, 5.5, 11.0])
    r0 = [[2, 3, 4, 5], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert_equal(percentile(x, (25, 50, 100), axis=0), r0)
    r1 = [[0.75, 1.5, 3], [4.75, 5.5, 7], [8.75, 9.5, 11]]
    assert_equal(percentile(x, (25, 50, 100), axis=1), np.array(r1).T)
    x = np.arange(3 * 4 * 5 * 6).reshape(3, 4, 5, 6)
    for method in ["linear", "higher"]:
        assert_equal(percentile(x, (25, 50), method=method).shape, (2,))
        assert_equal(percentile(x, (25, 50, 75), method=method).shape, (3,))
        assert_equal(percentile(x, (25, 50), axis=0, method=method).shape, (2, 4, 5, 6))
        assert_equal(percentile(x, (25, 50), axis=1, method=method).shape, (2, 3, 5, 6))
        assert_equal(percentile(x, (25, 50), axis=2, method=method).shape, (2, 3, 4, 6))
        assert_equal(percentile(x, (25, 50), axis=3, method=method).shape, (2, 3, 4, 5))
        assert_equal(percentile(x, (25, 50, 75), axis=1, method=method).shape, (3, 3, 5, 6))


# TestPercentile.test_scalar_q (without out=)
def test_percentile_scalar_q():
    x = np.arange(12).reshape(3, 4)
    assert_equal(percentile(x, 50), 5.5)
    assert percentile(x, 50).ndim == 0
    r0 = np.array([4.0, 5.0, 6.0, 7.0])
    assert_equal(percentile(x, 50, axis=0), r0)
    assert_equal(percentile(x, 50, axis=0).shape, r0.shape)
    r1 = np.array([1.5, 5.5, 9.5])
    assert_almost_equal(percentile(x, 50, axis=1), r1)
    assert_equal(percentile(x, 50, axis=1).shape, r1.shape)
    assert_equal(percentile(x, 50, method="lower"), 5.0)
    c0 = percentile(x, 50, method="lower", axis=0)
    assert_equal(c0, r0)
    assert_equal(c0.shape, r0.shape)
    c1 = percentile(x, 50, method="lower", axis=1)
    assert_almost_equal(c1, np.array([1.0, 5.0, 9.0]))
    assert_equal(c1.shape, (3,))


# TestPercentile.test_exception
def test_percentile_exception():
    with pytest.raises(ValueError):
        percentile([1, 2], 56, method="foobar")
    with pytest.raises(ValueError):
        percentile([1], 101)
    with pytest.raises(ValueError):
        percentile([1], -1)
    with pytest.raises(ValueError):
        percentile([1], list(range(50)) + [101])
    with pytest.raises(ValueError):
        percentile([1], list(range(50)) + [-0.1])


# TestPercentile.test_percentile_out (the values, without out=)
@pytest.mark.parametrize("with_weights", [False, True])
def test_percentile_out_values(with_weights):
    kw = {"method": "inverted_cdf"} if with_weights else {}
    x = np.array([1, 2, 3])
    p = (1, 2, 3)
    w = np.ones_like(x) if with_weights else None
    expected = [1, 1, 1] if with_weights else [np.percentile(x.astype(F), v) for v in p]
    assert_equal(percentile(x, p, weights=w, **kw), expected)
    x = np.arange(12).reshape(3, 4)
    w = np.ones_like(x) if with_weights else None
    if with_weights:
        r0 = np.array([[0, 1, 2, 3], [4, 5, 6, 7]])
    else:
        r0 = np.array([[2.0, 3.0, 4.0, 5.0], [4.0, 5.0, 6.0, 7.0]])
    assert_equal(percentile(x, (25, 50), axis=0, weights=w, **kw), r0)
    r1 = np.array([[0.75, 4.75, 8.75], [1.5, 5.5, 9.5]])
    assert_equal(percentile(x, (25, 50), axis=1), r1)
    assert_equal(
        percentile(x, (25, 50), method="lower", axis=0), np.array([[0, 1, 2, 3], [4, 5, 6, 7]])
    )
    assert_equal(percentile(x, (25, 50), method="lower", axis=1), np.array([[0, 4, 8], [1, 5, 9]]))


# TestPercentile.test_percentile_empty_dim
def test_percentile_empty_dim():
    d = np.arange(11 * 2).reshape(11, 1, 2, 1)
    assert_array_equal(percentile(d, 50, axis=0).shape, (1, 2, 1))
    assert_array_equal(percentile(d, 50, axis=1).shape, (11, 2, 1))
    assert_array_equal(percentile(d, 50, axis=2).shape, (11, 1, 1))
    assert_array_equal(percentile(d, 50, axis=3).shape, (11, 1, 2))
    assert_array_equal(percentile(d, 50, axis=-1).shape, (11, 1, 2))
    assert_array_equal(percentile(d, 50, axis=-2).shape, (11, 1, 1))
    assert_array_equal(percentile(d, 50, axis=-3).shape, (11, 2, 1))
    assert_array_equal(percentile(d, 50, axis=-4).shape, (1, 2, 1))
    assert_array_equal(percentile(d, 50, axis=2, method="midpoint").shape, (11, 1, 1))
    assert_array_equal(percentile(d, 50, axis=-2, method="midpoint").shape, (11, 1, 1))
    assert_array_equal(percentile(d, [10, 50], axis=0).shape, (2, 1, 2, 1))
    assert_array_equal(percentile(d, [10, 50], axis=1).shape, (2, 11, 2, 1))
    assert_array_equal(percentile(d, [10, 50], axis=2).shape, (2, 11, 1, 1))
    assert_array_equal(percentile(d, [10, 50], axis=3).shape, (2, 11, 1, 2))


# TestPercentile.test_percentile_no_overwrite, test_no_p_overwrite (and TestQuantile's)
def test_percentile_no_overwrite():
    a = np.array([2, 3, 4, 1])
    percentile(a, [50])
    assert_equal(a, np.array([2, 3, 4, 1]))
    p = np.linspace(0.0, 100.0, num=5)
    percentile(np.arange(100.0), p, method="midpoint")
    assert_array_equal(p, np.linspace(0.0, 100.0, num=5))
    p0 = np.array([0, 0.75, 0.25, 0.5, 1.0])
    p = p0.copy()
    quantile(np.arange(100.0), p, method="midpoint")
    assert_array_equal(p, p0)


# TestPercentile.test_percentile_overwrite (the values)
def test_percentile_overwrite_values():
    assert_equal(percentile(np.array([2, 3, 4, 1]), [50]), np.array([2.5]))
    assert_equal(percentile([2, 3, 4, 1], [50]), np.array([2.5]))


# TestPercentile.test_extended_axis
def test_percentile_extended_axis():
    rng = np.random.default_rng(0)
    o = rng.normal(size=(71, 23)).astype(F)
    x = np.dstack([o] * 10)
    assert_equal(percentile(x, 30, axis=(0, 1)), percentile(o, 30))
    x = np.moveaxis(x, -1, 0)
    assert_equal(percentile(x, 30, axis=(-2, -1)), percentile(o, 30))
    x = x.swapaxes(0, 1).copy()
    assert_equal(percentile(x, 30, axis=(0, -1)), percentile(o, 30))
    x = x.swapaxes(0, 1).copy()
    assert_equal(percentile(x, [25, 60], axis=(0, 1, 2)), percentile(x, [25, 60], axis=None))
    assert_equal(percentile(x, [25, 60], axis=(0,)), percentile(x, [25, 60], axis=0))
    d = np.arange(3 * 5 * 7 * 11).reshape((3, 5, 7, 11))
    rng.shuffle(d.ravel())
    assert_equal(percentile(d, 25, axis=(0, 1, 2))[0], percentile(d[:, :, :, 0].flatten(), 25))
    assert_equal(
        percentile(d, [10, 90], axis=(0, 1, 3))[:, 1],
        percentile(d[:, :, 1, :].flatten(), [10, 90]),
    )
    assert_equal(percentile(d, 25, axis=(3, 1, -4))[2], percentile(d[:, :, 2, :].flatten(), 25))
    assert_equal(percentile(d, 25, axis=(3, 1, 2))[2], percentile(d[2, :, :, :].flatten(), 25))
    assert_equal(percentile(d, 25, axis=(3, 2))[2, 1], percentile(d[2, 1, :, :].flatten(), 25))
    assert_equal(percentile(d, 25, axis=(1, -2))[2, 1], percentile(d[2, :, :, 1].flatten(), 25))
    assert_equal(percentile(d, 25, axis=(1, 3))[2, 2], percentile(d[2, :, 2, :].flatten(), 25))
    assert_equal(percentile(d, 25, axis=(1, 3))[2, 2], np.percentile(d[2, :, 2, :], 25))


# TestPercentile.test_extended_axis_invalid (NumPy's AxisError is a ValueError)
def test_percentile_extended_axis_invalid():
    d = np.ones((3, 5, 7, 11))
    for axis in [-5, (0, -5), 4, (0, 4), (1, 1), (-1, -1), (3, -1)]:
        with pytest.raises(ValueError):
            percentile(d, 25, axis=axis)


# TestPercentile.test_keepdims and test_keepdims_out (the shapes)
def test_percentile_keepdims():
    d = np.ones((3, 5, 7, 11))
    assert_equal(percentile(d, 7, axis=None, keepdims=True).shape, (1, 1, 1, 1))
    assert_equal(percentile(d, 7, axis=(0, 1), keepdims=True).shape, (1, 1, 7, 11))
    assert_equal(percentile(d, 7, axis=(0, 3), keepdims=True).shape, (1, 5, 7, 1))
    assert_equal(percentile(d, 7, axis=(1,), keepdims=True).shape, (3, 1, 7, 11))
    assert_equal(percentile(d, 7, (0, 1, 2, 3), keepdims=True).shape, (1, 1, 1, 1))
    assert_equal(percentile(d, 7, axis=(0, 1, 3), keepdims=True).shape, (1, 1, 7, 1))
    assert_equal(percentile(d, [1, 7], axis=(0, 1, 3), keepdims=True).shape, (2, 1, 1, 7, 1))
    assert_equal(percentile(d, [1, 7], axis=(0, 3), keepdims=True).shape, (2, 1, 5, 7, 1))


@pytest.mark.parametrize("q", [7, [1, 7]])
@pytest.mark.parametrize("axis", [None, 1, (1,), (0, 1), (-3, -1)])
def test_percentile_keepdims_out(q, axis):
    d = np.ones((3, 5, 7, 11))
    if axis is None:
        shape_out = (1,) * d.ndim
    else:
        axis_norm = [a % d.ndim for a in np.atleast_1d(axis)]
        shape_out = tuple(1 if i in axis_norm else d.shape[i] for i in range(d.ndim))
    assert_equal(percentile(d, q, axis=axis, keepdims=True).shape, np.shape(q) + shape_out)


# TestPercentile.test_out and test_out_nan (the values, without out=)
@pytest.mark.parametrize(
    ("method", "weighted"),
    [("linear", False), ("nearest", False), ("inverted_cdf", False), ("inverted_cdf", True)],
)
def test_percentile_out_nan_values(method, weighted):
    kw = {"method": method}
    d = np.ones((3, 4))
    if weighted:
        kw["weights"] = np.ones((3, 4))
    assert_equal(percentile(d, 0, 0, **kw), np.ones(4))
    d[2, 1] = np.nan
    assert_equal(percentile(d, 0, 0, **kw), [1, np.nan, 1, 1])
    assert_equal(percentile(d, 1, 1, **kw), [1, 1, np.nan])
    assert_equal(percentile(d, 1, **kw), np.nan)


# TestPercentile.test_nan_behavior
def test_percentile_nan_behavior():
    a = np.arange(24, dtype=float)
    a[2] = np.nan
    assert_equal(percentile(a, 0.3), np.nan)
    assert_equal(percentile(a, 0.3, axis=0), np.nan)
    assert_equal(percentile(a, [0.3, 0.6], axis=0), np.array([np.nan] * 2))
    a = np.arange(24, dtype=float).reshape(2, 3, 4)
    a[1, 2, 3] = np.nan
    a[1, 1, 2] = np.nan
    assert_equal(percentile(a, 0.3), np.nan)
    assert_equal(percentile(a, 0.3).ndim, 0)
    clean = np.arange(24, dtype=float).reshape(2, 3, 4)
    b = percentile(clean, 0.3, 0).copy()  # axis0 zerod
    b[2, 3] = np.nan
    b[1, 2] = np.nan
    assert_equal(percentile(a, 0.3, 0), b)
    b = percentile(clean, [0.3, 0.6], 0).copy()  # axis0 not zerod
    b[:, 2, 3] = np.nan
    b[:, 1, 2] = np.nan
    assert_equal(percentile(a, [0.3, 0.6], 0), b)
    b = percentile(clean, 0.3, 1).copy()  # axis1 zerod
    b[1, 3] = np.nan
    b[1, 2] = np.nan
    assert_equal(percentile(a, 0.3, 1), b)
    b = percentile(clean, [0.3, 0.6], 1).copy()  # axis1 not zerod
    b[:, 1, 3] = np.nan
    b[:, 1, 2] = np.nan
    assert_equal(percentile(a, [0.3, 0.6], 1), b)
    b = percentile(clean, 0.3, (0, 2)).copy()  # axis02 zerod
    b[1] = np.nan
    b[2] = np.nan
    assert_equal(percentile(a, 0.3, (0, 2)), b)
    b = percentile(clean, [0.3, 0.6], (0, 2)).copy()  # axis02 not zerod
    b[:, 1] = np.nan
    b[:, 2] = np.nan
    assert_equal(percentile(a, [0.3, 0.6], (0, 2)), b)
    b = percentile(clean, [0.3, 0.6], (0, 2), method="nearest").copy()
    b[:, 1] = np.nan
    b[:, 2] = np.nan
    assert_equal(percentile(a, [0.3, 0.6], (0, 2), method="nearest"), b)


# TestPercentile.test_nan_q
def test_percentile_nan_q():
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        percentile([1, 2, 3, 4.0], np.nan)
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        percentile([1, 2, 3, 4.0], [np.nan])
    q = np.linspace(1.0, 99.0, 16)
    q[0] = np.nan
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        percentile([1, 2, 3, 4.0], q)


# TestPercentile.test_percentile_gh_29003 (float32; float16 is not supported)
@pytest.mark.parametrize("method", QUANTILE_METHODS)
def test_percentile_gh_29003(method):
    a = np.zeros(65521, np.float32)
    a[:20_000] = 1
    z = prob.quantile(a, 0.5, method=method)
    assert z == 0 and z.dtype == a.dtype
    z = prob.quantile(a, 0.99, method=method)
    assert z == 1 and z.dtype == a.dtype


# TestPercentile.test_q_weak_promotion and TestQuantile.test_q_weak_promotion
@pytest.mark.parametrize("method", INTERPOLATING_METHODS)
@pytest.mark.parametrize("q", [0.5, 1, 0.1])
def test_q_weak_promotion(method, q):
    a = np.array([1, 2, 3, 4, 5], dtype=np.float32)
    assert prob.quantile(a, q, method=method).dtype == np.float32
    assert_equal(quantile(a, q, method=method), np.quantile(a, q, method=method))


# --- TestQuantile ---------------------------------------------------------------------------


# TestQuantile.test_max_ulp
def test_quantile_max_ulp():
    a = quantile(np.array([0.0, 0.2, 0.4], F), 0.45)
    np.testing.assert_array_max_ulp(a, F(0.18), maxulp=1)


# TestQuantile.test_basic
def test_quantile_basic():
    x = np.arange(8) * 0.5
    assert_equal(quantile(x, 0), 0.0)
    assert_equal(quantile(x, 1), 3.5)
    assert_equal(quantile(x, 0.5), 1.75)


# TestQuantile.test_correct_quantile_value (bools become the default float here)
def test_quantile_correct_value_of_bools():
    assert_equal(quantile(True, False), 1.0)
    a = np.array([False, True, True])
    assert_array_equal(quantile(a, a), a.astype(F))


# TestQuantile.test_quantile_preserve_int_type (integers become the default float here)
def test_quantile_int_input_nearest():
    assert_equal(quantile(np.array([1, 2], dtype=np.int16), [0.5], method="nearest"), [1.0])


# TestQuantile.test_q_zero_one
@pytest.mark.parametrize("method", QUANTILE_METHODS)
def test_quantile_q_zero_one(method):
    assert_equal(quantile([10, 11, 12], q=[0, 1], method=method), np.array([10, 12]))


# TestQuantile.test_quantile_monotonic
@pytest.mark.parametrize("method", QUANTILE_METHODS)
def test_quantile_monotonic(method):
    p0 = np.linspace(0, 1, 101)
    data = np.array([0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 1, 1, 9, 9, 9, 8, 8, 7]) * 0.1
    q = quantile(data, p0, method=method)
    assert_equal(np.sort(q), q)
    q = quantile([0.0, 1.0, 2.0, 3.0], p0, method=method)
    assert_equal(np.sort(q), q)


# TestQuantile.test_quantile_monotonic_hypo (a fixed sample instead of hypothesis)
@pytest.mark.parametrize("seed", range(3))
def test_quantile_monotonic_random(seed):
    rng = np.random.default_rng(seed)
    arr = rng.uniform(-1e30, 1e30, size=rng.integers(3, 1000)).astype(F)
    q = quantile(arr, np.arange(0, 1, 0.01))
    assert_equal(np.sort(q), q)


# TestQuantile.test_quantile_scalar_nan
def test_quantile_scalar_nan():
    a = np.array([[10.0, 7.0, 4.0], [3.0, 2.0, 1.0]])
    a[0][1] = np.nan
    assert quantile(a, 0.5).ndim == 0
    assert_equal(quantile(a, 0.5), np.nan)


def _identification(x, y, alpha):
    return (x >= y) - alpha


# TestQuantile.test_quantile_identification_equation
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("method", QUANTILE_METHODS)
@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.9])
def test_quantile_identification_equation(weights, method, alpha):
    if weights and method != "inverted_cdf":
        pytest.skip("Weights not supported by method.")
    rng = np.random.default_rng(4321)
    n = 102  # n * alpha = 20.4, 51. , 91.8
    y = rng.random(n).astype(F)
    w = rng.integers(low=0, high=10, size=n) if weights else None
    x = quantile(y, alpha, method=method, weights=w)
    v = _identification(x, y, alpha)
    if method in ("higher",):
        assert np.abs(np.mean(v)) > 0.1 / n
    elif int(n * alpha) == n * alpha and not weights:
        assert_allclose(np.average(v, weights=w), 0, atol=1e-14)
    else:
        assert_allclose(np.average(v, weights=w), 0, atol=1 / n / np.amin([alpha, 1 - alpha]))


# TestQuantile.test_quantile_add_and_multiply_constant (float64 data and tolerances)
@pytest.mark.x64
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("method", QUANTILE_METHODS)
@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.9])
def test_quantile_add_and_multiply_constant(weights, method, alpha):
    if weights and method != "inverted_cdf":
        pytest.skip("Weights not supported by method.")
    rng = np.random.default_rng(4321)
    n = 102
    y = rng.random(n)
    w = rng.integers(low=0, high=10, size=n) if weights else None
    q = quantile(y, alpha, method=method, weights=w)
    c = 13.5
    assert_allclose(quantile(c + y, alpha, method=method, weights=w), c + q)
    assert_allclose(quantile(c * y, alpha, method=method, weights=w), c * q)
    if weights:
        return
    q = -quantile(-y, 1 - alpha, method=method)
    if method == "inverted_cdf":
        if n * alpha == int(n * alpha) or np.round(n * alpha) == int(n * alpha) + 1:
            assert_allclose(q, quantile(y, alpha, method="higher"))
        else:
            assert_allclose(q, quantile(y, alpha, method="lower"))
    elif method == "closest_observation":
        if n * alpha == int(n * alpha):
            assert_allclose(q, quantile(y, alpha, method="higher"))
        elif np.round(n * alpha) == int(n * alpha) + 1:
            assert_allclose(q, quantile(y, alpha + 1 / n, method="higher"))
        else:
            assert_allclose(q, quantile(y, alpha, method="lower"))
    elif method == "interpolated_inverted_cdf":
        assert_allclose(q, quantile(y, alpha + 1 / n, method=method))
    elif method == "nearest":
        if n * alpha == int(n * alpha):
            assert_allclose(q, quantile(y, alpha + 1 / n, method=method))
        else:
            assert_allclose(q, quantile(y, alpha, method=method))
    elif method == "lower":
        assert_allclose(q, quantile(y, alpha, method="higher"))
    elif method == "higher":
        assert_allclose(q, quantile(y, alpha, method="lower"))
    else:
        assert_allclose(q, quantile(y, alpha, method=method))


# TestQuantile.test_quantile_constant_weights
@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.9])
def test_quantile_constant_weights(alpha):
    method = "inverted_cdf"
    y = np.random.default_rng(4321).random(102).astype(F)
    q = quantile(y, alpha, method=method)
    assert_allclose(quantile(y, alpha, method=method, weights=np.ones_like(y)), q)
    assert_allclose(quantile(y, alpha, method=method, weights=8.125 * np.ones_like(y)), q)


# TestQuantile.test_quantile_with_integer_weights
@pytest.mark.parametrize("alpha", [0, 0.2, 0.5, 0.9, 1])
def test_quantile_with_integer_weights(alpha):
    method = "inverted_cdf"
    rng = np.random.default_rng(4321)
    y = rng.random(102).astype(F)
    w = rng.integers(low=0, high=10, size=102, dtype=np.int32)
    qw = quantile(y, alpha, method=method, weights=w)
    assert_allclose(qw, quantile(np.repeat(y, w), alpha, method=method))
    assert_equal(qw, np.quantile(y, alpha, method=method, weights=w))


# TestQuantile.test_quantile_with_weights_and_axis
def test_quantile_with_weights_and_axis():
    method = "inverted_cdf"
    rng = np.random.default_rng(4321)
    y = rng.random((2, 10, 3)).astype(F)
    w = np.abs(rng.random(10))
    q = quantile(y, 0.5, weights=w, method=method, axis=1)
    q_res = np.zeros(shape=(2, 3))
    for i in range(2):
        for j in range(3):
            q_res[i, j] = quantile(y[i, :, j], 0.5, method=method, weights=w)
    assert_allclose(q, q_res)
    alpha = [0, 0.2, 0.4, 0.6, 0.8, 1]
    q = quantile(y, alpha, weights=w, method=method, axis=1)
    q_res = np.zeros(shape=(6, 2, 3))
    for i in range(2):
        for j in range(3):
            q_res[:, i, j] = quantile(y[i, :, j], alpha, method=method, weights=w)
    assert_allclose(q, q_res)
    alpha = [[0, 0.2], [0.4, 0.6], [0.8, 1]]
    q = quantile(y, alpha, weights=w, method=method, axis=1)
    assert_allclose(q, q_res.reshape((3, 2, 2, 3)))
    w = np.abs(rng.random((2, 10, 3)))
    q = quantile(y, 0.5, weights=w, method=method, axis=1)
    q_res = np.zeros(shape=(2, 3))
    for i in range(2):
        for j in range(3):
            q_res[i, j] = quantile(y[i, :, j], 0.5, method=method, weights=w[i, :, j])
    assert_allclose(q, q_res)
    q = quantile(y, 0.5, weights=w, method=method, axis=(0, 1, 2))
    assert_allclose(q, quantile(y, 0.5, weights=w, method=method, axis=None))
    q = quantile(y, 0.5, weights=w, method=method, axis=(1, 2))
    q_res = np.array([quantile(y[i], 0.5, weights=w[i], method=method) for i in range(2)])
    assert_allclose(q, q_res)
    # and against NumPy itself, with reduced-axes weights in a non-sorted axis order
    w2 = np.abs(rng.random((3, 2)))
    assert_equal(
        quantile(y, 0.3, weights=w2, method=method, axis=(2, 0)),
        np.quantile(y, 0.3, weights=w2, method=method, axis=(2, 0)),
    )


# TestQuantile.test_quantile_weights_min_max
def test_quantile_weights_min_max():
    w = [0, 0, 1, 2, 3, 0]
    y = np.arange(6)
    assert quantile(y, 0, weights=w, method="inverted_cdf") == y[2]
    assert quantile(y, 1, weights=w, method="inverted_cdf") == y[4]


# TestQuantile.test_quantile_weights_raises_negative_weights
def test_quantile_weights_raises_negative_weights():
    with pytest.raises(ValueError, match="weights must be non-negative"):
        quantile([1, 2], 0.5, weights=[-0.5, 1], method="inverted_cdf")


# TestQuantile.test_quantile_weights_raises_unsupported_methods
@pytest.mark.parametrize("method", sorted(set(QUANTILE_METHODS) - {"inverted_cdf"}))
def test_quantile_weights_raises_unsupported_methods(method):
    with pytest.raises(ValueError, match="only method 'inverted_cdf' supports weights"):
        quantile([1, 2], 0.5, weights=[0.5, 1], method=method)


# TestQuantile.test_closest_observation
def test_quantile_closest_observation():
    m = "closest_observation"
    arr = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    for stop, expected in [(3, 2), (4, 2), (5, 2), (6, 3), (7, 4), (8, 4), (9, 4), (10, 5)]:
        assert_equal(expected, quantile(arr[0:stop], 0.5, method=m))


# TestQuantile.test_inf_zeroes_err
@pytest.mark.parametrize(
    "weights",
    [[1, np.inf, 1, 1], [1, np.inf, 1, np.inf], [0, 0, 0, 0], [np.finfo("float64").max] * 4],
)
def test_quantile_inf_zeroes_err(weights):
    arr = np.array([[1, 2, 3, 4]] * 2)
    wgts = np.array([weights, [0.5] * 4], dtype="f8")
    with pytest.raises(ValueError, match=r"weights included NaN, inf or were all zero"):
        quantile(arr, 0.5, weights=wgts, method="inverted_cdf", axis=1)


# TestQuantile.test_nan_err
@pytest.mark.parametrize("weights", [[1, np.nan, 1, 1], [1, np.nan, np.nan, 1]])
def test_quantile_nan_err(weights):
    arr = np.array([[1, 2, 3, 4]] * 2)
    wgts = np.array([weights, [0.5] * 4], dtype="f8")
    with pytest.raises(ValueError):
        quantile(arr, 0.5, weights=wgts, method="inverted_cdf")


# TestQuantile.test_float16_gh_29003 (float32: float16 is not supported)
def test_quantile_large_float32_gh_29003():
    a = np.arange(50_001, dtype=np.float32)
    value = prob.quantile(a, 0.999)
    assert value == np.quantile(a, 0.999) == np.float32(0.999 * 50_000)
    assert value.dtype == np.float32


# --- TestMedian -----------------------------------------------------------------------------


# TestMedian.test_basic
def test_median_basic():
    a0 = np.array(1)
    a1 = np.arange(2)
    a2 = np.arange(6).reshape(2, 3)
    assert_equal(median(a0), 1)
    assert_allclose(median(a1), 0.5)
    assert_allclose(median(a2), 2.5)
    assert_allclose(median(a2, axis=0), [1.5, 2.5, 3.5])
    assert_equal(median(a2, axis=1), [1, 4])
    assert_allclose(median(a2, axis=None), 2.5)
    a = np.array([0.0444502, 0.0463301, 0.141249, 0.0606775], F)
    assert_almost_equal((a[1] + a[3]) / 2.0, median(a))
    a = np.array([0.0463301, 0.0444502, 0.141249], F)
    assert_equal(a[0], median(a))
    a = np.array([0.0444502, 0.141249, 0.0463301], F)
    assert_equal(a[-1], median(a))
    assert_equal(median(a).ndim, 0)
    a[1] = np.nan
    assert_equal(median(a).ndim, 0)


# TestMedian.test_axis_keyword
def test_median_axis_keyword():
    a3 = np.array([[2, 3], [0, 1], [6, 7], [4, 5]])
    for a in [a3, np.random.default_rng(0).integers(0, 100, size=(2, 3, 4))]:
        orig = a.copy()
        median(a, axis=None)
        for ax in range(a.ndim):
            median(a, axis=ax)
        assert_array_equal(a, orig)
    assert_allclose(median(a3, axis=0), [3, 4])
    assert_allclose(median(a3.T, axis=1), [3, 4])
    assert_allclose(median(a3), 3.5)
    assert_allclose(median(a3, axis=None), 3.5)
    assert_allclose(median(a3.T), 3.5)


# TestMedian.test_overwrite_keyword (the values; there is no overwrite_input)
def test_median_overwrite_values():
    a4 = np.arange(3 * 4 * 5, dtype=np.float32).reshape((3, 4, 5))
    np.random.default_rng(0).shuffle(a4.ravel())
    for axis in [None, 0, 1, 2]:
        assert_allclose(median(a4, axis=axis), np.median(a4, axis=axis))


# TestMedian.test_array_like
def test_median_array_like():
    x = [1, 2, 3]
    assert_almost_equal(median(x), 2)
    x2 = [x]
    assert_almost_equal(median(x2), 2)
    assert_allclose(median(x2, axis=0), x)


# TestMedian.test_out and test_out_nan (the values, without out=)
def test_median_out_nan_values():
    d = np.ones((3, 4))
    assert_equal(median(d, 0), np.ones(4))
    d[2, 1] = np.nan
    assert_equal(median(d, 0), [1, np.nan, 1, 1])
    assert_equal(median(d, 1), [1, 1, np.nan])
    assert_equal(median(d), np.nan)


# TestMedian.test_nan_behavior
def test_median_nan_behavior():
    a = np.arange(24, dtype=float)
    a[2] = np.nan
    assert_equal(median(a), np.nan)
    assert_equal(median(a, axis=0), np.nan)
    a = np.arange(24, dtype=float).reshape(2, 3, 4)
    a[1, 2, 3] = np.nan
    a[1, 1, 2] = np.nan
    assert_equal(median(a), np.nan)
    assert_equal(median(a).ndim, 0)
    clean = np.arange(24, dtype=float).reshape(2, 3, 4)
    b = median(clean, 0).copy()  # axis0
    b[2, 3] = np.nan
    b[1, 2] = np.nan
    assert_equal(median(a, 0), b)
    b = median(clean, 1).copy()  # axis1
    b[1, 3] = np.nan
    b[1, 2] = np.nan
    assert_equal(median(a, 1), b)
    b = median(clean, (0, 2)).copy()  # axis02
    b[1] = np.nan
    b[2] = np.nan
    assert_equal(median(a, (0, 2)), b)


# TestMedian.test_empty (NumPy also warns)
def test_median_empty():
    assert_equal(median(np.array([], dtype=float)), np.nan)
    a = np.array([], dtype=float, ndmin=3)
    assert_equal(median(a), np.nan)
    b = np.array([], dtype=float, ndmin=2)
    assert_equal(median(a, axis=0), b)
    assert_equal(median(a, axis=1), b)
    b = np.array(np.nan, dtype=float, ndmin=2)
    assert_equal(median(a, axis=2), b)


# TestMedian.test_extended_axis
def test_median_extended_axis():
    rng = np.random.default_rng(0)
    o = rng.normal(size=(71, 23)).astype(F)
    x = np.dstack([o] * 10)
    assert_equal(median(x, axis=(0, 1)), median(o))
    assert_equal(median(o), np.median(o))
    x = np.moveaxis(x, -1, 0)
    assert_equal(median(x, axis=(-2, -1)), median(o))
    x = x.swapaxes(0, 1).copy()
    assert_equal(median(x, axis=(0, -1)), median(o))
    assert_equal(median(x, axis=(0, 1, 2)), median(x, axis=None))
    assert_equal(median(x, axis=(0,)), median(x, axis=0))
    assert_equal(median(x, axis=(-1,)), median(x, axis=-1))
    d = np.arange(3 * 5 * 7 * 11).reshape((3, 5, 7, 11))
    rng.shuffle(d.ravel())
    assert_equal(median(d, axis=(0, 1, 2))[0], median(d[:, :, :, 0].flatten()))
    assert_equal(median(d, axis=(0, 1, 3))[1], median(d[:, :, 1, :].flatten()))
    assert_equal(median(d, axis=(3, 1, -4))[2], median(d[:, :, 2, :].flatten()))
    assert_equal(median(d, axis=(3, 1, 2))[2], median(d[2, :, :, :].flatten()))
    assert_equal(median(d, axis=(3, 2))[2, 1], median(d[2, 1, :, :].flatten()))
    assert_equal(median(d, axis=(1, -2))[2, 1], median(d[2, :, :, 1].flatten()))
    assert_equal(median(d, axis=(1, 3))[2, 2], median(d[2, :, 2, :].flatten()))
    assert_equal(median(d, axis=(1, 3))[2, 2], np.median(d[2, :, 2, :]))


# TestMedian.test_extended_axis_invalid (NumPy's AxisError is a ValueError)
def test_median_extended_axis_invalid():
    d = np.ones((3, 5, 7, 11))
    for axis in [-5, (0, -5), 4, (0, 4), (1, 1)]:
        with pytest.raises(ValueError):
            median(d, axis=axis)


# TestMedian.test_keepdims and test_keepdims_out (the shapes)
def test_median_keepdims():
    d = np.ones((3, 5, 7, 11))
    assert_equal(median(d, axis=None, keepdims=True).shape, (1, 1, 1, 1))
    assert_equal(median(d, axis=(0, 1), keepdims=True).shape, (1, 1, 7, 11))
    assert_equal(median(d, axis=(0, 3), keepdims=True).shape, (1, 5, 7, 1))
    assert_equal(median(d, axis=(1,), keepdims=True).shape, (3, 1, 7, 11))
    assert_equal(median(d, axis=(0, 1, 2, 3), keepdims=True).shape, (1, 1, 1, 1))
    assert_equal(median(d, axis=(0, 1, 3), keepdims=True).shape, (1, 1, 7, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning from our side either
        assert_equal(median(d, axis=(-3, -1), keepdims=True).shape, (3, 1, 7, 1))
