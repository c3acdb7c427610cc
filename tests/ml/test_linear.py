import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from sklearn import linear_model

from mlmath_jax import ml
from tests.conftest import assert_close
from tests.ml._linear_data import regression

SETS = ["diabetes", "breast_cancer", "wine", "synthetic", "wide", "collinear"]


def _check_model(model, ref, X, *, rtol):
    assert_close(model.coef, ref.coef_, rtol=rtol, name="coef")
    scale = max(abs(ref.intercept_), np.max(np.abs(X @ ref.coef_)), 1.0)
    assert_close(model.intercept, ref.intercept_, rtol=0, atol=rtol * scale, name="intercept")


@pytest.mark.x64
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("name", SETS)
def test_least_squares_matches_sklearn_x64(name, fit_intercept):
    X, y = regression(name)
    ref = linear_model.LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    model = ml.least_squares(X, y, fit_intercept=fit_intercept)
    assert model.coef.dtype == jnp.float64
    _check_model(model, ref, X, rtol=1e-6)
    assert_close(model.predict(X), ref.predict(X), rtol=1e-6, name="predict")


@pytest.mark.x64
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("name", SETS)
def test_ridge_matches_sklearn_x64(name, fit_intercept):
    X, y = regression(name)
    for alpha in (0.01, 1.5, 100.0):
        ref = linear_model.Ridge(alpha, fit_intercept=fit_intercept, solver="svd").fit(X, y)
        model = ml.ridge(X, y, alpha, fit_intercept=fit_intercept)
        _check_model(model, ref, X, rtol=1e-6)


@pytest.mark.parametrize("name", ["diabetes", "synthetic", "wide", "collinear"])
def test_least_squares_and_ridge_float32(name):
    X, y = regression(name)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    model = ml.least_squares(X32, y32)
    assert model.coef.dtype == jnp.float32 and model.intercept.dtype == jnp.float32
    ref = linear_model.LinearRegression().fit(X, y)
    # float32 error grows with the condition number; compare fitted values, which are stable.
    assert_close(model.predict(X32), ref.predict(X), rtol=2e-3, name="predict")
    ref = linear_model.Ridge(1.0).fit(X, y)
    model = ml.ridge(X32, y32, 1.0)
    assert model.coef.dtype == jnp.float32
    assert_close(model.predict(X32), ref.predict(X), rtol=2e-3, name="ridge predict")


def test_well_conditioned_float32_coefficients(rng):
    X = rng.standard_normal((500, 6))
    y = X @ rng.standard_normal(6) + 1.0 + 0.1 * rng.standard_normal(500)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    for fit in (ml.least_squares, lambda X, y: ml.ridge(X, y, 3.0)):
        model = fit(X32, y32)
        ref = (
            linear_model.LinearRegression().fit(X, y)
            if fit is ml.least_squares
            else linear_model.Ridge(3.0).fit(X, y)
        )
        _check_model(model, ref, X, rtol=1e-4)


def test_jit_with_traced_alpha_and_static_options():
    X, y = regression("diabetes")
    X, y = X.astype(np.float32), y.astype(np.float32)
    fit = jax.jit(ml.ridge, static_argnames="fit_intercept")
    for fi in (True, False):
        eager = ml.ridge(X, y, 0.5, fit_intercept=fi)
        jitted = fit(X, y, jnp.float32(0.5), fit_intercept=fi)
        assert_close(jitted.coef, eager.coef, rtol=1e-5, name="coef")
        assert_close(jitted.intercept, eager.intercept, rtol=1e-5, name="intercept")
    ls = jax.jit(ml.least_squares)(X, y)
    assert_close(ls.coef, ml.least_squares(X, y).coef, rtol=1e-5, name="ls coef")


@pytest.mark.parametrize("name", ["synthetic", "wide"])
def test_ridge_path_vmap_equals_loop(name):
    X, y = regression(name)
    X, y = X.astype(np.float32), y.astype(np.float32)
    alphas = np.logspace(-2, 3, 20).astype(np.float32)
    path = jax.jit(jax.vmap(ml.ridge, in_axes=(None, None, 0)))(X, y, alphas)
    assert path.coef.shape == (20, X.shape[1]) and path.intercept.shape == (20,)
    for i in (0, 7, 19):
        one = ml.ridge(X, y, alphas[i])
        assert_close(path.coef[i], one.coef, rtol=1e-4, name=f"coef[{i}]")
        assert_close(path.intercept[i], one.intercept, rtol=1e-4, name=f"intercept[{i}]")
    # predict broadcasts over the path's batch axis
    assert path.predict(X).shape == (20, X.shape[0])


def test_bootstrap_vmap_equals_loop(rng):
    X, y = regression("synthetic")
    X, y = jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.float32)
    idx = rng.integers(0, X.shape[0], size=(4, X.shape[0]))
    boot = jax.vmap(lambda i: ml.least_squares(X[i], y[i]))(jnp.asarray(idx))
    for b in range(4):
        one = ml.least_squares(X[idx[b]], y[idx[b]])
        assert_close(boot.coef[b], one.coef, rtol=1e-4, name=f"coef[{b}]")


@pytest.mark.x64
def test_ridge_gradient_in_alpha_x64():
    X, y = regression("synthetic")
    check_grads(lambda a: ml.ridge(X, y, a).coef, (0.7,), order=1, modes=["rev", "fwd"])
    # d coef / d alpha = -(XᵀX + alpha I)^{-1} coef on centred data
    Xc = X - X.mean(0)
    coef = ml.ridge(X, y, 0.7).coef
    expect = -np.linalg.solve(Xc.T @ Xc + 0.7 * np.eye(X.shape[1]), np.asarray(coef))
    got = jax.jacfwd(lambda a: ml.ridge(X, y, a).coef)(0.7)
    assert_close(got, expect, rtol=1e-8, name="dcoef/dalpha")


def test_model_is_pytree_and_fields():
    X, y = regression("synthetic")
    model = ml.least_squares(X.astype(np.float32), y.astype(np.float32))
    leaves = jax.tree.leaves(model)
    assert len(leaves) == 4
    assert bool(model.converged) and int(model.n_iter) == 0
    mapped = jax.tree.map(lambda a: a, model)
    assert isinstance(mapped, ml.LinearModel) and mapped.kind == "regression"
    manual = ml.LinearModel(jnp.array([2.0]), jnp.array(1.0))
    assert_close(manual.predict(jnp.array([[1.0], [2.0]])), np.array([3.0, 5.0]), rtol=0)


def test_bad_input():
    X = np.ones((5, 2), np.float32)
    y = np.ones(5, np.float32)
    with pytest.raises(ValueError, match="X must be a 2-D"):
        ml.least_squares(np.ones(5), y)
    with pytest.raises(ValueError, match="X must be a 2-D"):
        ml.ridge(np.ones((2, 5, 2)), y, 1.0)
    with pytest.raises(ValueError, match="lengths of X and y"):
        ml.least_squares(X, np.ones(4))
    with pytest.raises(ValueError, match="y must be a 1-D"):
        ml.ridge(X, np.ones((5, 1, 1)), 1.0)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        ml.ridge(X, y, -1.0)
    with pytest.raises(ValueError, match="alpha must be a scalar"):
        ml.ridge(X, y, np.ones(2))
    with pytest.raises(TypeError, match="X: expected a numeric array"):
        ml.least_squares(np.array([["a", "b"]]), np.ones(1))
    model = ml.ridge(X, y, 1.0)
    with pytest.raises(ValueError, match="X must have 2 columns"):
        model.predict(np.ones((3, 3)))
    with pytest.raises(ValueError, match="predict_proba needs a model from logistic"):
        model.predict_proba(X)
    # under jit the value check on alpha cannot run: a traced negative alpha is not checked,
    # but shapes still are
    with pytest.raises(ValueError, match="X must be a 2-D"):
        jax.jit(ml.ridge)(np.ones(5), y, 1.0)


# --- contract v2 / issue 16: weights, several targets, flags, NaN, rank deficiency -----------
@pytest.mark.x64
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("name", ["diabetes", "synthetic", "wide", "collinear"])
def test_sample_weight_matches_sklearn_x64(name, fit_intercept, rng):
    X, y = regression(name)
    w = rng.uniform(0.1, 3.0, len(y))
    ref = linear_model.LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    model = ml.least_squares(X, y, fit_intercept=fit_intercept, sample_weight=w)
    _check_model(model, ref, X, rtol=1e-6)
    ref = linear_model.Ridge(1.5, fit_intercept=fit_intercept, solver="svd").fit(
        X, y, sample_weight=w
    )
    model = ml.ridge(X, y, 1.5, fit_intercept=fit_intercept, sample_weight=w)
    _check_model(model, ref, X, rtol=1e-6)


@pytest.mark.x64
def test_integer_weights_equal_repeated_rows_x64(rng):
    X, y = regression("synthetic")
    w = rng.integers(0, 4, len(y))
    rep = np.repeat(np.arange(len(y)), w)
    for fit in (ml.least_squares, lambda X, y, **k: ml.ridge(X, y, 2.0, **k)):
        a = fit(X, y, sample_weight=w.astype(float))
        b = fit(X[rep], y[rep])
        assert_close(a.coef, b.coef, rtol=1e-9, name="coef")
        assert_close(a.intercept, b.intercept, rtol=1e-9, name="intercept")


@pytest.mark.x64
@pytest.mark.parametrize("name", ["diabetes", "wide", "collinear"])
def test_multi_target_matches_sklearn_x64(name, rng):
    X, y = regression(name)
    Y = np.c_[y, rng.standard_normal(len(y)), 2.0 * y + 1.0]
    ref = linear_model.LinearRegression().fit(X, Y)
    model = ml.least_squares(X, Y)
    assert model.coef.shape == (3, X.shape[1]) and model.intercept.shape == (3,)
    assert_close(model.coef, ref.coef_, rtol=1e-6, name="coef")
    assert_close(model.predict(X), ref.predict(X), rtol=1e-6, name="predict")
    assert model.predict(X).shape == (len(y), 3)
    ref = linear_model.Ridge(0.7, solver="svd").fit(X, Y)
    model = ml.ridge(X, Y, 0.7)
    assert_close(model.coef, ref.coef_, rtol=1e-6, name="ridge coef")
    assert_close(model.intercept, ref.intercept_, rtol=1e-6, name="ridge intercept")


def test_multi_target_float32_and_vmap():
    X, y = regression("synthetic")
    X32 = X.astype(np.float32)
    Y = np.c_[y, -y].astype(np.float32)
    model = ml.ridge(X32, Y, 1.0)
    one = ml.ridge(X32, Y[:, 1], 1.0)
    assert_close(model.coef[1], one.coef, rtol=1e-5, name="coef")
    path = jax.vmap(lambda a: ml.ridge(X32, Y, a))(jnp.array([0.5, 2.0], jnp.float32))
    assert path.coef.shape == (2, 2, 8) and path.predict(X32).shape == (2, 200, 2)


def test_constant_column_gets_zero_like_sklearn(rng):
    # issue 16: a constant column put 0.024 on it (intercept 0.891 vs scikit-learn's 1.012)
    X = np.c_[rng.standard_normal((100, 2)), np.full(100, 3.7)]
    y = X[:, :2] @ np.array([0.5, -1.0]) + 1.012 + 0.1 * rng.standard_normal(100)
    ref = linear_model.LinearRegression().fit(X, y)
    for dtype in (np.float32, np.float64):
        model = ml.least_squares(X.astype(dtype), y.astype(dtype))
        assert float(model.coef[2]) == 0.0
        assert_close(model.coef[:2], ref.coef_[:2], rtol=1e-4, name="coef")
        assert_close(model.intercept, ref.intercept_, rtol=1e-4, name="intercept")


def test_columns_far_from_zero_are_not_taken_for_constant():
    # A column of mean 300 and spread 1 was dropped as "constant up to rounding" once
    # n * eps exceeded 1/300 (40,000 float32 rows): coefficients 0, intercept the mean of y.
    rng = np.random.default_rng(5)
    X = (rng.standard_normal((40_000, 12)) + 300.0).astype(np.float32)
    X64 = X.astype(np.float64)
    y = (X64[:, :4].sum(1) + rng.standard_normal(40_000)).astype(np.float32)
    w = rng.uniform(0.2, 3.0, 40_000).astype(np.float32)
    for sw in (None, w):
        ref = linear_model.LinearRegression().fit(X64, y.astype(np.float64), sample_weight=sw)
        model = ml.least_squares(X, y, sample_weight=sw)
        assert_close(model.coef, ref.coef_, rtol=1e-4, name="coef")
        assert_close(model.intercept, ref.intercept_, rtol=1e-4, name="intercept")


def test_constant_column_at_a_million_weighted_rows_gets_zero():
    # A float32 weighted mean of a million rows is off by hundreds of ulps in one pass; the
    # corrected mean centres a constant column to rounding, so it is still seen as constant.
    rng = np.random.default_rng(6)
    n = 1_000_000
    X = np.c_[rng.standard_normal((n, 2)), np.full(n, 314159.27)].astype(np.float32)
    y = (X[:, 0] - 2.0 * X[:, 1] + 0.5 + 0.1 * rng.standard_normal(n)).astype(np.float32)
    w = rng.uniform(0.1, 3.0, n).astype(np.float32)
    for sw in (None, w):
        model = ml.least_squares(X, y, sample_weight=sw)
        assert float(model.coef[2]) == 0.0
        assert_close(model.coef[:2], [1.0, -2.0], rtol=1e-3, name="coef")
        assert_close(model.intercept, 0.5, rtol=1e-2, name="intercept")


def test_collinear_least_squares_factors_in_row_chunks_like_sklearn(rng):
    # 96,000 x 64 float32 (25 MB) is past one 12 MB chunk, so the rank-deficient fallback
    # updates its R factor a chunk at a time; the minimum-norm answer is scikit-learn's.
    n = 96_000
    base = (rng.standard_normal((n, 62)) + 300.0).astype(np.float32)
    X = np.c_[base, 2.0 * base[:, 0], base[:, 3]]  # collinear exactly, in float32 too
    X64 = X.astype(np.float64)
    Y = np.c_[X64[:, :5].sum(1), X64[:, 6] - X64[:, 7]] + rng.standard_normal((n, 2))
    Y = Y.astype(np.float32)
    w = rng.uniform(0.2, 3.0, n).astype(np.float32)
    for sw in (None, w):
        for y in (Y[:, 0], Y):
            ref = linear_model.LinearRegression().fit(X64, y.astype(np.float64), sample_weight=sw)
            model = ml.least_squares(X, y, sample_weight=sw)
            assert_close(model.coef, ref.coef_, rtol=1e-3, name="coef")
            assert_close(model.predict(X), ref.predict(X64), rtol=1e-5, name="predict")


def test_ridge_alpha_zero_on_duplicated_column():
    X, y = regression("synthetic")
    X = np.c_[X, X[:, 0]]
    # a host zero is least squares: the minimum-norm solution, as scikit-learn
    ref = linear_model.LinearRegression().fit(X, y)
    model = ml.ridge(X.astype(np.float32), y.astype(np.float32), 0.0)
    assert_close(model.predict(X.astype(np.float32)), ref.predict(X), rtol=1e-4, name="pred")
    assert_close(model.coef[0], model.coef[-1], rtol=1e-3, name="split equally")
    # a traced zero solves by Cholesky: NaN on a singular Gram matrix, never arbitrary numbers
    traced = jax.jit(ml.ridge)(X.astype(np.float32), y.astype(np.float32), 0.0)
    assert np.all(np.isnan(np.asarray(traced.coef)))
    fine = jax.jit(ml.ridge)(X.astype(np.float32), y.astype(np.float32), 1e-3)
    assert np.all(np.isfinite(np.asarray(fine.coef)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("where", ["X", "y"])
def test_nan_in_gives_nan_coefficients(bad, where):
    X, y = regression("synthetic")
    X, y = X.astype(np.float32).copy(), y.astype(np.float32).copy()
    (X if where == "X" else y)[3, ...] = bad
    for name, fit in [
        ("least_squares", ml.least_squares),
        ("ridge", lambda X, y: ml.ridge(X, y, 1.0)),
        ("wide", lambda X, y: ml.least_squares(X[:5], y[:5])),
        ("ridge wide", lambda X, y: ml.ridge(X[:5], y[:5], 1.0)),
    ]:
        model = fit(X, y)
        assert np.all(np.isnan(np.asarray(model.coef))), name


def test_flags_and_batches_are_checked():
    X, y = np.ones((5, 2), np.float32), np.ones(5, np.float32)
    with pytest.raises(TypeError, match="fit_intercept must be a bool"):
        ml.least_squares(X, y, fit_intercept="no")
    with pytest.raises(TypeError, match="fit_intercept must be a bool"):
        ml.ridge(X, y, 1.0, fit_intercept=1)
    with pytest.raises(ValueError, match="use jax.vmap"):
        ml.least_squares(np.ones((3, 5, 2)), np.ones((3, 5)))
    with pytest.raises(ValueError, match="sample_weight must be a scalar or a 1-D"):
        ml.ridge(X, y, 1.0, sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        ml.least_squares(X, y, sample_weight=-np.ones(5))
    # batches of data sets: vmap, as the docstring says
    Xb = np.random.default_rng(0).standard_normal((3, 20, 2)).astype(np.float32)
    yb = Xb @ np.array([1.0, -2.0], np.float32)
    coef = jax.vmap(ml.least_squares)(Xb, yb).coef
    assert_close(coef, np.tile([1.0, -2.0], (3, 1)), rtol=1e-4, name="coef")


def _temp_bytes(fn, *args, **static):
    return fn.lower(*args, **static).compile().memory_analysis().temp_size_in_bytes


def test_linear_fits_store_no_centred_copy_of_x():
    # With an intercept (unweighted, off a mesh) X and y are read once, in cache-sized
    # chunks: the compiled fit's scratch is well under X's size (it was 2x: the centred copy
    # and its products' operands; 257 MB for this 128 MB X before, 386 MB for least squares,
    # whose rank-deficient fallback also factored a copy of [X_c, y]).
    from mlmath_jax.ml import _lasso, _linear

    X = jax.ShapeDtypeStruct((200_000, 160), jnp.float32)
    y = jax.ShapeDtypeStruct((200_000,), jnp.float32)
    s = jax.ShapeDtypeStruct((), jnp.float32)
    x_bytes = 200_000 * 160 * 4
    assert _temp_bytes(_linear._ridge, X, y, s, None, fit_intercept=True) < x_bytes / 2
    lasso = _temp_bytes(
        _lasso._lasso, X, y, s, s, None, fit_intercept=True, positive=False, max_iter=10
    )
    assert lasso < x_bytes / 2
    assert _temp_bytes(_linear._least_squares, X, y, None, fit_intercept=True) < x_bytes / 2


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_weighted_linear_fits_store_no_weighted_copy_of_x(fit_intercept):
    # Weighted fits scale cache-sized chunks by sqrt(w) where they are used: before, each
    # stored sqrt(w) (X - mean) whole (258 MB of scratch for this 128 MB X; least squares
    # 270 MB). Now 26-41 MB.
    from mlmath_jax.ml import _lasso, _linear

    X = jax.ShapeDtypeStruct((200_000, 160), jnp.float32)
    y = jax.ShapeDtypeStruct((200_000,), jnp.float32)
    w = jax.ShapeDtypeStruct((200_000,), jnp.float32)
    s = jax.ShapeDtypeStruct((), jnp.float32)
    x_bytes = 200_000 * 160 * 4
    fi = {"fit_intercept": fit_intercept}
    assert _temp_bytes(_linear._ridge, X, y, s, w, **fi) < x_bytes / 2
    lasso = _temp_bytes(_lasso._lasso, X, y, s, s, w, positive=False, max_iter=10, **fi)
    assert lasso < x_bytes / 2
    assert _temp_bytes(_linear._least_squares, X, y, w, **fi) < x_bytes / 2


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_weighted_chunked_single_read_matches_sklearn(rng, fit_intercept):
    # 40,000 x 100 float32, uneven weights with zeros: the weighted sums over strided chunks
    # are as accurate as scikit-learn's float64 fit on the weighted (centred) copy. With an
    # intercept far from the origin (|mean| = 300 std); without one near it (uncentred data
    # 300 std off are too ill-conditioned for float32 by any route: the fits before this
    # change missed by the same 2.9).
    n, d = 40_000, 100
    loc = 300.0 if fit_intercept else 0.5
    X = (loc + rng.standard_normal((n, d))).astype(np.float32)
    beta = rng.standard_normal(d)
    y = (X.astype(np.float64) @ beta + 5.0 + rng.standard_normal(n)).astype(np.float32)
    w = rng.uniform(0.0, 4.0, n).astype(np.float32)
    w[rng.random(n) < 0.1] = 0.0
    X64, y64, w64 = X.astype(np.float64), y.astype(np.float64), w.astype(np.float64)
    fi = {"fit_intercept": fit_intercept}
    ref = linear_model.LinearRegression(**fi).fit(X64, y64, sample_weight=w64)
    rtol = 2e-4
    _check_model(ml.least_squares(X, y, sample_weight=w, **fi), ref, X64, rtol=rtol)
    ref = linear_model.Ridge(alpha=10.0, solver="cholesky", **fi).fit(X64, y64, sample_weight=w64)
    _check_model(ml.ridge(X, y, 10.0, sample_weight=w, **fi), ref, X64, rtol=rtol)
    if fit_intercept:
        ref = linear_model.Lasso(alpha=0.05, tol=1e-10, max_iter=10_000).fit(
            X64, y64, sample_weight=w64
        )
        model = ml.lasso(X, y, 0.05, tol=1e-6, sample_weight=w)
        assert model.converged
        _check_model(model, ref, X64, rtol=2e-5)


@pytest.mark.parametrize("loc", [0.0, 300.0])
def test_ridge_and_lasso_chunked_single_read_match_sklearn(rng, loc):
    # 40,000 x 100 float32 (16 MB) is summed in strided chunks about a sample's mean; data far
    # from the origin (|mean| = 300 std) stay as accurate as centring first in float64.
    n, d = 40_000, 100
    X = (loc + rng.standard_normal((n, d))).astype(np.float32)
    beta = rng.standard_normal(d)
    y = (X.astype(np.float64) @ beta + 5.0 + rng.standard_normal(n)).astype(np.float32)
    X64, y64 = X.astype(np.float64), y.astype(np.float64)
    ref = linear_model.Ridge(alpha=10.0, solver="cholesky").fit(X64, y64)
    _check_model(ml.ridge(X, y, 10.0), ref, X64, rtol=2e-5)
    ref = linear_model.Lasso(alpha=0.05, tol=1e-10, max_iter=10_000).fit(X64, y64)
    model = ml.lasso(X, y, 0.05, tol=1e-6)  # 1e-8 is below float32's reach (either route)
    assert model.converged
    _check_model(model, ref, X64, rtol=2e-5)
