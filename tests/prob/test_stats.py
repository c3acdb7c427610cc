import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from sklearn.datasets import load_iris, load_wine

from mlmath_jax import _gram, prob
from tests.conftest import assert_close, float_dtypes, tol


@pytest.mark.parametrize("dtype", float_dtypes())
@pytest.mark.parametrize("axis", [None, 0, 2, -1, (0, 2)])
@pytest.mark.parametrize("ddof", [0, 1])
def test_mean_var_std_match_numpy(rng, dtype, axis, ddof):
    x = (3.0 + 2.0 * rng.standard_normal((4, 5, 6))).astype(dtype)
    x64 = x.astype(np.float64)
    assert_close(prob.mean(x, axis), np.mean(x64, axis), rtol=tol(dtype, 10), name="mean")
    assert_close(
        prob.var(x, axis, ddof), np.var(x64, axis, ddof=ddof), rtol=tol(dtype, 10), name="var"
    )
    assert_close(
        prob.std(x, axis, ddof), np.std(x64, axis, ddof=ddof), rtol=tol(dtype, 10), name="std"
    )
    assert prob.var(x, axis).dtype == dtype


@pytest.mark.parametrize("loc", [1e4, 1e6])
def test_float32_variance_accurate_when_mean_dominates(rng, loc):
    x = (loc + rng.standard_normal(200_000)).astype(np.float32)
    exact = np.var(x.astype(np.float64))
    naive = float(jnp.mean(jnp.asarray(x) ** 2) - jnp.mean(jnp.asarray(x)) ** 2)
    assert abs(naive - exact) > 0.1  # the textbook formula really fails here
    assert abs(float(prob.var(x)) - exact) <= 1e-3 * exact
    assert abs(float(prob.mean(x)) - np.mean(x.astype(np.float64))) <= 1e-7 * loc
    assert abs(float(prob.std(x, ddof=1)) - np.std(x.astype(np.float64), ddof=1)) <= 1e-3


def test_ddof_edge_cases_as_numpy():
    x = jnp.array([1.0, 2.0])
    assert np.isinf(prob.var(x, ddof=2))  # positive / 0, as NumPy
    assert np.isnan(prob.var(jnp.array([1.0]), ddof=1))
    assert np.isnan(prob.mean(jnp.zeros((0,))))
    assert prob.var(jnp.zeros((3, 0)), axis=1).shape == (3,)


def test_jit_vmap_grad(rng):
    x = rng.standard_normal((3, 8)).astype(np.float32)
    assert_close(jax.jit(lambda a: prob.var(a, 1, 1))(x), np.var(x, 1, ddof=1), rtol=1e-5)
    assert_close(jax.vmap(prob.std)(x), np.std(x, 1), rtol=1e-5)
    g = jax.jit(jax.grad(lambda a: prob.mean(a)))(x)
    assert_close(g, np.full(x.shape, 1 / x.size), rtol=1e-6)
    g = jax.jit(jax.grad(lambda a: prob.var(a, ddof=1)))(x[0])
    assert_close(g, 2 * (x[0] - x[0].mean()) / 7, rtol=1e-5, atol=1e-6)
    check_grads(
        jax.jit(lambda a: prob.var(a, axis=0)),
        (x.astype(np.float32),),
        order=1,
        modes=["rev"],
        atol=1e-2,
        rtol=1e-2,
    )
    check_grads(
        jax.jit(prob.correlation), (x.T.copy(),), order=1, modes=["rev"], atol=2e-2, rtol=2e-2
    )


@pytest.mark.parametrize("loader", [load_iris, load_wine])
def test_covariance_correlation_real_data(loader):
    x = loader().data
    x32 = x.astype(np.float32)
    assert_close(prob.covariance(x32), np.cov(x, rowvar=False), rtol=1e-5, name="cov")
    assert_close(prob.covariance(x32, ddof=0), np.cov(x, rowvar=False, ddof=0), rtol=1e-5)
    assert_close(
        prob.correlation(x32), np.corrcoef(x, rowvar=False), rtol=1e-5, atol=1e-6, name="corr"
    )


def test_covariance_batch_and_large_mean(rng):
    x = rng.standard_normal((2, 50, 3))
    got = prob.covariance(x.astype(np.float32))
    assert got.shape == (2, 3, 3)
    for i in range(2):
        assert_close(got[i], np.cov(x[i], rowvar=False), rtol=1e-5)
    big = (1e4 + x[0]).astype(np.float32)
    assert_close(prob.covariance(big), np.cov(big.astype(np.float64), rowvar=False), rtol=1e-3)


def test_correlation_constant_feature_is_nan():
    x = jnp.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]])
    c = prob.correlation(x)
    assert np.isnan(c[0, 0]) and np.isnan(c[0, 1]) and c[1, 1] == 1.0


def test_bad_input():
    x = jnp.ones((3, 4))
    with pytest.raises(ValueError, match="out of range"):
        prob.mean(x, axis=2)
    with pytest.raises(ValueError, match="repeated axis"):
        prob.var(x, axis=(0, 0))
    with pytest.raises(TypeError, match="ddof must be a Python int"):
        prob.var(x, ddof=1.5)
    with pytest.raises(ValueError, match=r"x must be a \[\.\.\., m, n\] matrix"):
        prob.covariance(jnp.ones(3))
    with pytest.raises(ValueError, match="at least one sample"):
        prob.correlation(jnp.ones((0, 3)))
    with pytest.raises(TypeError, match="expected a real array"):
        prob.mean(jnp.ones(3, jnp.complex64))


@pytest.mark.x64
def test_float64_large_mean(rng):
    x = 1e9 + rng.standard_normal(10_000)
    assert_close(prob.var(x), np.var(x), rtol=1e-6)
    assert prob.var(x).dtype == jnp.float64


def test_bad_types_name_the_argument():
    for fn in (prob.mean, prob.var, prob.std, prob.covariance, prob.correlation):
        with pytest.raises(TypeError, match=r"x: expected a numeric array, got str"):
            fn("abc")
        with pytest.raises(TypeError, match=r"x: expected a numeric array, got NoneType"):
            fn(None)
    with pytest.raises(TypeError, match=r"ddof must be a Python int"):
        prob.std(jnp.ones(3), ddof=1.5)
    with pytest.raises(TypeError, match=r"ddof must be a Python int"):
        prob.covariance(jnp.ones((3, 2)), ddof="1")
    with pytest.raises(TypeError, match=r"axis must be a static Python value"):
        prob.var(jnp.ones((3, 2)), axis=jnp.array(0))
    with pytest.raises(ValueError, match=r"validation under jit|out of range"):
        jax.jit(lambda a: prob.var(a, axis=3))(jnp.ones((2, 2)))


def test_axis_list_and_tuple_agree(rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    assert_close(prob.var(x, axis=[0, 2]), np.var(x.astype(np.float64), axis=(0, 2)), rtol=1e-5)
    assert_close(prob.mean(x, axis=[2, 0]), np.mean(x.astype(np.float64), axis=(0, 2)), rtol=1e-5)


@pytest.mark.parametrize("blocks", [1, 2, 3, 4])
@pytest.mark.parametrize("d", [1, 7, 64])
def test_gram_blocks_equal_one_product_and_are_symmetric(rng, blocks, d):
    x = rng.standard_normal((2, 300, d)).astype(np.float32)
    g = jax.jit(lambda a: _gram.gram(a, blocks=blocks))(x)
    x64 = x.astype(np.float64)
    assert_close(g, np.swapaxes(x64, -1, -2) @ x64, rtol=1e-5, name="gram")
    assert np.array_equal(np.asarray(g), np.swapaxes(np.asarray(g), -1, -2))
    y = rng.standard_normal((2, 300, 3)).astype(np.float32)
    assert_close(_gram.gram(x, y), np.swapaxes(x64, -1, -2) @ y, rtol=1e-5, name="cross")


def test_gram_default_blocks_by_width():
    assert _gram.default_blocks(100) == 1
    assert _gram.default_blocks(256) == 3
    assert _gram.default_blocks(256, on_mesh=True) == 1  # one all-reduce, not six
    assert _gram.default_blocks(1024) >= 2
    assert _gram.default_blocks(8192) >= _gram.default_blocks(1024)
    for d in range(144, 1024):  # never the 64-wide blocks XLA's CPU dot runs slowly
        b = _gram.default_blocks(d)
        assert 2 <= b <= 4 and -(-d // b) != 64, d


def test_gram_chunked_triangular_blocks_match_numpy(rng):
    x = rng.standard_normal((32_000, 160)).astype(np.float32)  # 20 MB: 2 row chunks
    assert _gram.row_chunks(jnp.asarray(x), 160) > 1 and _gram.default_blocks(160) == 2
    g = np.asarray(jax.jit(_gram.gram)(x))
    np.testing.assert_array_equal(g, g.T)
    x64 = x.astype(np.float64)
    assert_close(g, x64.T @ x64, rtol=1e-5, name="gram")


@pytest.mark.parametrize("loc", [0.0, 0.5, 3.0, 1e4])
def test_centred_gram_both_routes_match_numpy(rng, loc):
    # loc 0 and 0.5 take the one-pass route (mean within sqrt(3) std), 3 and 1e4 the two-pass
    x = (loc + rng.standard_normal((2000, 5))).astype(np.float32)
    x64 = x.astype(np.float64)
    res = jax.jit(_gram.centred_gram)(x)
    assert_close(res.mean, x64.mean(0), rtol=1e-6, atol=1e-6 * max(loc, 1.0), name="mean")
    want = np.cov(x64, rowvar=False, ddof=0) * x.shape[0]
    assert_close(res.gram, want, rtol=1e-5 if loc < 1e3 else 1e-3, name="gram")
    forced = jax.jit(lambda a: _gram.centred_gram(a, ratio=1.0))(x)  # two-pass always
    assert_close(forced.gram, want, rtol=1e-5 if loc < 1e3 else 1e-3, name="two-pass")


def test_centred_gram_sample_centre_off_the_mean_falls_back(rng):
    # Only the sampled rows (stride n // 1024) carry an offset of 1e3: the sample's mean is
    # 1e3 from the data's, whose spread is ~31, so the single read's sums cancel ~1000-fold
    # (float32 keeps ~4 digits); its check fails and the sums are taken again about the mean.
    n = 1 << 20
    x = rng.standard_normal((n, 3)).astype(np.float32)
    x[:: n // _gram._CENTRE_SAMPLE] += np.float32(1e3)
    res = jax.jit(_gram.centred_gram)(x)
    x64 = x.astype(np.float64)
    # Without the second read: mean off by 4e-5, the gram's diagonal negative (-6.6e9 for
    # 1.0e9). With it, the gram is as accurate as float32 sums of these rows allow (1024
    # rows of 1e6 among 1e6 of 1: 1.7e-3, the earlier two-pass route 0.9e-3).
    assert_close(res.mean, x64.mean(0), rtol=1e-6, name="mean")
    assert_close(res.gram, np.cov(x64, rowvar=False, ddof=0) * n, rtol=5e-3, name="gram")


def test_covariance_nan_inf_vmap_grad_on_each_route(rng):
    x = rng.standard_normal((40, 3)).astype(np.float32)
    for data in (x, x + 10.0):  # one-pass, two-pass
        bad = data.copy()
        bad[3, 1] = np.nan
        c = np.asarray(prob.covariance(bad))
        assert np.isnan(c[1]).all() and np.isnan(c[:, 1]).all()
        bad[3, 1] = np.inf
        assert not np.isfinite(np.asarray(prob.covariance(bad))[1, 1])
        batch = np.stack([data, 5.0 * data + 100.0])  # the routes differ across the batch
        got = jax.vmap(prob.covariance)(batch)
        for i in range(2):
            assert_close(got[i], np.cov(batch[i].astype(np.float64), rowvar=False), rtol=1e-4)
        check_grads(
            jax.jit(lambda a: prob.covariance(a)[0, 1]),
            (data,),
            order=1,
            modes=["rev"],
            atol=1e-2,
            rtol=1e-2,
        )


@pytest.mark.parametrize("loc", [0.0, 1e4])
def test_centred_gram_chunked_route_matches_numpy(rng, loc):
    # 4 KiB chunks force the strided scan on small data (the two-pass branch: ratio=1)
    x = (loc + rng.standard_normal((2000, 5))).astype(np.float32)
    chunks = _gram.centring_chunks(2000, 5, 4, chunk_bytes=4096)
    assert chunks > 1 and 2000 % chunks == 0 and (2000 // chunks) % 8 == 0
    res = jax.jit(lambda a: _gram.centred_gram(a, ratio=1.0, chunk_bytes=4096))(x)
    x64 = x.astype(np.float64)
    assert_close(res.mean, x64.mean(0), rtol=1e-6, atol=1e-6 * max(loc, 1.0), name="mean")
    want = np.cov(x64, rowvar=False, ddof=0) * x.shape[0]
    # the chunked route is the corrected two-pass one: as accurate at loc 1e4 as at 0
    assert_close(res.gram, want, rtol=1e-5, name="gram")
    assert np.array_equal(np.asarray(res.gram), np.asarray(res.gram).T)


@pytest.mark.parametrize("chunk_bytes", [4096, 0])
@pytest.mark.parametrize("loc", [0.0, 1e4])
def test_centred_gram_weighted_matches_numpy(rng, loc, chunk_bytes):
    # Weighted mean and scatter, chunked (4 KiB: the strided scan) and whole, far from the
    # origin too; zero weights drop rows, and weights piled on the last rows move the mean
    # far from the (unweighted) sample's: the check takes the sums again about it.
    x = (loc + rng.standard_normal((2000, 5))).astype(np.float32)
    y = (loc + rng.standard_normal((2000, 2))).astype(np.float32)
    w = rng.uniform(0.0, 3.0, 2000).astype(np.float32)
    w[:300] = 0.0
    piled = np.where(np.arange(2000) >= 1900, 1e3, 1e-3).astype(np.float32)
    fn = jax.jit(lambda a, b, v: _gram.centred_gram(a, b, weights=v, chunk_bytes=chunk_bytes))
    for weights in (w, piled):
        joined = np.concatenate([x, y], axis=1).astype(np.float64)
        mean = np.average(joined, axis=0, weights=weights)
        dev = joined - mean
        want = (dev * weights[:, None].astype(np.float64)).T @ dev
        res = fn(x, y, weights)
        assert_close(res.mean, mean, rtol=1e-6, atol=1e-6 * max(loc, 1.0), name="mean")
        assert_close(res.gram, want, rtol=1e-4, name="gram")
        assert np.array_equal(np.asarray(res.gram), np.asarray(res.gram).T)
    # a batch of data sets, each with its own weights
    xb, wb = np.stack([x[:1000], x[1000:]]), np.stack([w[:1000], w[1000:]])
    got = jax.vmap(lambda a, v: _gram.centred_gram(a, weights=v))(xb, wb)
    for i in range(2):
        mean = np.average(xb[i].astype(np.float64), axis=0, weights=wb[i])
        assert_close(got.mean[i], mean, rtol=1e-6, atol=1e-6 * max(loc, 1.0), name="batch mean")


def test_centred_gram_weighted_nan_and_mesh_refusal(rng):
    x = rng.standard_normal((64, 3)).astype(np.float32)
    x[5, 1] = np.nan
    res = _gram.centred_gram(x, weights=np.ones(64, np.float32))
    assert np.isnan(np.asarray(res.mean)[1]) and np.isnan(np.asarray(res.gram)[1]).all()
    assert np.isfinite(np.asarray(res.gram)[0, 0])
    mesh = jax.make_mesh((1,), ("rows",))
    with jax.set_mesh(mesh), pytest.raises(ValueError, match="weights are supported off a mesh"):
        _gram.centred_gram(jnp.asarray(x), weights=jnp.ones(64))


def test_centred_gram_chunked_route_nan_batch_grad(rng):
    chunked = functools.partial(_gram.centred_gram, chunk_bytes=128)
    x = (10.0 + rng.standard_normal((64, 3))).astype(np.float32)
    assert _gram.centring_chunks(64, 3, 4, chunk_bytes=128) > 1
    bad = x.copy()
    bad[5, 2] = np.nan
    g = np.asarray(jax.jit(chunked)(bad).gram)
    assert np.isnan(g[2]).all() and np.isnan(g[:, 2]).all() and np.isfinite(g[:2, :2]).all()
    batch = np.stack([x, 3.0 * x - 50.0])
    got = jax.jit(chunked)(batch).gram
    for i in range(2):
        want = np.cov(batch[i].astype(np.float64), rowvar=False, ddof=0) * 64
        assert_close(got[i], want, rtol=1e-5, name=f"batch {i}")
    check_grads(
        jax.jit(lambda a: chunked(a).gram[0, 1]), (x,), order=1, modes=["rev"], atol=1e-2, rtol=1e-2
    )


@pytest.mark.parametrize("chunk_bytes", [4096, 0])  # the chunked scan, one chunk
@pytest.mark.parametrize("loc", [0.0, 1e3])
def test_centred_gram_with_y_is_the_gram_of_the_joined_columns(rng, loc, chunk_bytes):
    # y's columns are joined to x's a chunk at a time: the same mean and gram as the
    # concatenated data (and numpy's float64 scatter matrix), batch dimensions included.
    x = (loc + rng.standard_normal((3, 2000, 5))).astype(np.float32)
    y = (2.0 * x[..., :2] - loc + 0.1 * rng.standard_normal((3, 2000, 2))).astype(np.float32)
    res = jax.jit(functools.partial(_gram.centred_gram, chunk_bytes=chunk_bytes))(x, y)
    joined = jax.jit(functools.partial(_gram.centred_gram, chunk_bytes=chunk_bytes))(
        np.concatenate([x, y], axis=-1)
    )
    assert res.mean.shape == (3, 7) and res.gram.shape == (3, 7, 7)
    np.testing.assert_allclose(res.gram, joined.gram, rtol=1e-6, atol=1e-6 * 2000)
    z = np.concatenate([x, y], axis=-1).astype(np.float64)
    for i in range(3):
        assert_close(res.mean[i], z[i].mean(0), rtol=1e-6, atol=1e-6 * max(loc, 1.0))
        want = np.cov(z[i], rowvar=False, ddof=0) * 2000
        assert_close(res.gram[i], want, rtol=1e-5, name=f"batch {i}")
    bad = y.copy()
    bad[1, 7, 0] = np.nan  # NaN in y: its row and column of the gram, nothing else
    g = np.asarray(jax.jit(_gram.centred_gram)(x, bad).gram[1])
    assert np.isnan(g[5]).all() and np.isnan(g[:, 5]).all() and np.isfinite(g[:5, :5]).all()


def test_centring_chunks_divide_the_rows_or_stay_one():
    assert _gram.centring_chunks(100_000, 256, 4) > 1
    for n in (100_000, 1_000_000, 123_456):
        b = _gram.centring_chunks(n, 100, 4)
        assert n % b == 0 and (n // b) % 8 == 0
    assert _gram.centring_chunks(99_991, 256, 4) == 1  # a prime: no whole chunks
    assert _gram.centring_chunks(4096, 6, 4) == 1  # fits in one chunk


def test_chunked_row_sum_equals_one_call_and_reads_every_row(rng):
    x = rng.standard_normal((96, 3)).astype(np.float32)
    w = rng.random(96).astype(np.float32)

    def fn(a, v):  # a pytree of row sums
        return {"gram": (a * v[:, None]).T @ a, "total": jnp.sum(v), "rows": a.shape[0] + 0.0}

    whole = fn(x, w)
    for chunks in (1, 2, 12):
        got = jax.jit(lambda a, v, c=chunks: _gram.chunked_row_sum(fn, (a, v), c))(x, w)
        assert_close(got["gram"], whole["gram"], rtol=1e-5, name=f"gram, {chunks} chunks")
        assert_close(got["total"], whole["total"], rtol=1e-6, name="total")
        assert float(got["rows"]) == 96.0  # the chunks' rows add up to all rows
    x[7, 1] = np.nan  # a NaN in any chunk reaches the sum
    got = _gram.chunked_row_sum(fn, (x, w), 12)["gram"]
    assert np.isnan(np.asarray(got)[1]).all() and np.isfinite(np.asarray(got)[0, 0])


def test_row_chunks_by_size_and_none_under_a_mesh(monkeypatch):
    want = _gram.centring_chunks(100_000, 256, 4)
    assert _gram.row_chunks(jnp.zeros((100_000, 256), jnp.float32), 256) == want
    assert _gram.row_chunks(jnp.zeros((2000, 5)), 5) == 1  # fits in one chunk
    assert _gram.row_chunks(jnp.zeros((2000, 5)), 5, chunk_bytes=4096) > 1
    monkeypatch.setattr(_gram, "CHUNK_BYTES", 4096)  # the default is read at the call
    assert _gram.row_chunks(jnp.zeros((2000, 5)), 5) > 1
    mesh = jax.make_mesh((len(jax.devices()),), ("rows",))
    with jax.set_mesh(mesh):
        assert _gram.row_chunks(jnp.zeros((2000, 5)), 5) == 1


@pytest.mark.parametrize("fn", ["var", "std", "mean", "moments"])
def test_one_dimensional_reductions_write_nothing_of_the_data_size(fn):
    # The corrected two-pass sums read x three times and write nothing of its size: a shared
    # x - m feeding two sums made XLA's CPU code write the broadcast mean (or d) out first,
    # which cost 3x the sums. Read off the compiled HLO's entry computation.
    n = 1 << 20
    f = {
        "var": prob.var,
        "std": prob.std,
        "mean": prob.mean,
        "moments": lambda a: prob.Moments.from_data(a).m2,
    }[fn]
    hlo = jax.jit(f).lower(jax.ShapeDtypeStruct((n,), jnp.float32)).compile().as_text()
    entry = hlo[hlo.index("ENTRY") :]
    produces_full = re.compile(rf"^\s*(ROOT\s+)?%\S+ = f32\[{n}\]")
    full = [
        line.strip()[:120]
        for line in entry.splitlines()
        if produces_full.match(line) and "parameter(" not in line
    ]
    assert not full, full


@pytest.mark.parametrize("axis", [0, (0, 2), 2])
def test_var_over_leading_axes_of_large_mean_data(rng, axis):
    # Reduced in place (no move of the axes to the end), still the corrected two-pass sums.
    x = (1e4 + rng.standard_normal((300, 7, 40))).astype(np.float32)
    x64 = x.astype(np.float64)
    assert_close(prob.var(x, axis), np.var(x64, axis), rtol=1e-4, name="var")
    assert_close(prob.mean(x, axis), np.mean(x64, axis), rtol=1e-7, name="mean")
    m = prob.Moments.from_data(x, axis=axis)
    assert_close(m.variance(), np.var(x64, axis), rtol=1e-4, name="Moments")


@pytest.mark.parametrize("dtype", [np.float32, pytest.param(np.float64, marks=pytest.mark.x64)])
def test_var_of_data_periodic_with_the_pilot_stride(dtype):
    # The first centre is the mean of a strided sample; data whose spikes sit exactly on the
    # sample's stride put it far off (r near 1), and the centre is then recomputed from the
    # data: the variance stays as accurate as NumPy's float64 one.
    n = 1024 * 1024
    x = np.zeros(n, dtype)
    x[::1024] = 1e6  # every sampled value a spike: sample mean 1e6, true mean 1e6 / 1024
    x += np.linspace(0, 1, n).astype(dtype)
    x64 = x.astype(np.float64)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        pytest.skip("float64 needs JAX_ENABLE_X64=1")
    assert_close(prob.var(x), np.var(x64), rtol=rtol, name="var")
    assert_close(prob.mean(x), np.mean(x64), rtol=rtol, name="mean")
    m = prob.Moments.from_data(x[None], axis=1)
    assert_close(m.variance(), np.var(x64)[None], rtol=rtol, name="Moments")
