import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import linear_model

from mlmath_jax import ml
from tests.conftest import assert_close
from tests.ml._linear_data import classification


def _objective(X, y, C, coef, intercept):
    coef = np.asarray(coef, np.float64)
    z = X @ coef + float(intercept)
    return C * np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * coef @ coef


def _sklearn(X, y, C, fit_intercept=True):
    return linear_model.LogisticRegression(
        C=C, fit_intercept=fit_intercept, solver="newton-cholesky", tol=1e-12, max_iter=1000
    ).fit(X, y)


@pytest.mark.x64
@pytest.mark.parametrize(
    ("name", "C", "fit_intercept"),
    [
        ("breast_cancer", 1.0, True),
        ("breast_cancer", 100.0, False),
        ("wine", 0.05, True),
        ("wine", 1.0, False),
        ("synthetic", 1.0, True),
        ("synthetic", 100.0, True),
        ("wide", 1.0, True),
        ("wide", 0.05, False),
    ],
)
def test_objective_matches_sklearn_x64(name, C, fit_intercept):
    X, y = classification(name)
    ref = _sklearn(X, y, C, fit_intercept)
    model = ml.logistic_regression(X, y, C=C, fit_intercept=fit_intercept, tol=1e-10)
    assert bool(model.converged) and model.coef.dtype == jnp.float64
    ours = _objective(X, y, C, model.coef, model.intercept)
    theirs = _objective(X, y, C, ref.coef_[0], ref.intercept_[0])
    assert abs(ours - theirs) <= 1e-6 * abs(theirs), (ours, theirs)
    assert_close(model.coef, ref.coef_[0], rtol=1e-5, name="coef")
    assert_close(model.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-6, name="proba")
    assert np.array_equal(np.asarray(model.predict(X)), ref.predict(X))


@pytest.mark.parametrize("name", ["breast_cancer", "synthetic"])
def test_float32(name):
    X, y = classification(name)
    C = 1.0
    model = ml.logistic_regression(X.astype(np.float32), y, C=C)
    assert model.coef.dtype == jnp.float32 and bool(model.converged)
    ref = _sklearn(X, y, C)
    ours = _objective(X, y, C, model.coef, model.intercept)
    theirs = _objective(X, y, C, ref.coef_[0], ref.intercept_[0])
    assert abs(ours - theirs) <= 1e-5 * abs(theirs), (ours, theirs)
    proba = model.predict_proba(X.astype(np.float32))
    assert proba.shape == (len(y), 2) and proba.dtype == jnp.float32
    assert_close(proba, ref.predict_proba(X), rtol=0, atol=1e-3, name="proba")
    assert model.predict(X.astype(np.float32)).dtype == jnp.int32


def test_labels_accept_bool_and_float():
    X, y = classification("synthetic")
    X = X.astype(np.float32)
    a = ml.logistic_regression(X, y)
    b = ml.logistic_regression(X, y.astype(bool))
    c = ml.logistic_regression(X, y.astype(np.float32))
    assert_close(b.coef, a.coef, rtol=1e-6, name="bool labels")
    assert_close(c.coef, a.coef, rtol=1e-6, name="float labels")


def test_vmap_over_C_equals_loop_and_jit():
    X, y = classification("synthetic")
    X = X.astype(np.float32)
    Cs = np.array([0.01, 0.3, 10.0], np.float32)
    batch = jax.jit(jax.vmap(lambda c: ml.logistic_regression(X, y, C=c)))(Cs)
    for i, c in enumerate(Cs):
        one = ml.logistic_regression(X, y, C=c)
        assert_close(batch.coef[i], one.coef, rtol=1e-4, name=f"coef[{i}]")
        assert_close(batch.intercept[i], one.intercept, rtol=1e-4, atol=1e-6, name="b")
    assert batch.predict_proba(X).shape == (3, len(y), 2)


def test_no_intercept_and_convergence_info():
    X, y = classification("breast_cancer")
    model = ml.logistic_regression(X.astype(np.float32), y, fit_intercept=False)
    assert float(model.intercept) == 0.0 and 0 < int(model.n_iter) < 20
    capped = ml.logistic_regression(X.astype(np.float32), y, C=100.0, max_iter=1)
    assert int(capped.n_iter) == 1 and not bool(capped.converged)


def test_bad_input():
    X = np.ones((4, 2), np.float32)
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="X must be a 2-D"):
        ml.logistic_regression(np.ones(4), y)
    with pytest.raises(ValueError, match="lengths of X and y"):
        ml.logistic_regression(X, y[:3])
    with pytest.raises(ValueError, match="y must hold labels 0 and 1"):
        ml.logistic_regression(X, np.array([0, 1, 2, 1]), n_classes=2)
    with pytest.raises(ValueError, match=r"y must hold labels 0, ..., 2"):
        ml.logistic_regression(X, np.array([0, 1, 2, 1.5]))
    with pytest.raises(ValueError, match="C must be > 0"):
        ml.logistic_regression(X, y, C=0.0)
    with pytest.raises(ValueError, match="C must be > 0"):
        ml.logistic_regression(X, y, C=-1.0)
    with pytest.raises(ValueError, match="C must be a scalar"):
        ml.logistic_regression(X, y, C=np.ones(2))


def test_solver_pieces_alone():
    """init, step and stop of the logistic solver, called one at a time."""
    from mlmath_jax.ml import _logistic

    X, y = classification("synthetic")
    X = jnp.asarray(X, jnp.float32)
    n = X.shape[0]
    w = jnp.full(n, 1.0 / n, jnp.float32)
    problem = _logistic.Problem(X, jnp.asarray(y, jnp.float32), w, jnp.float32(1.0 / n))
    state = _logistic.init(problem, fit_intercept=True)
    # the start is the intercept-only fit: the intercept's gradient is zero
    assert state.theta.shape == (1, X.shape[1] + 1) and int(state.n_iter) == 0
    assert abs(float(state.grad[0, -1])) <= 1e-4 * float(jnp.max(jnp.abs(state.grad)))
    assert not bool(_logistic.stop(problem, state, jnp.float32(1e-6), 100))
    step = jax.jit(functools.partial(_logistic.step, fit_intercept=True))
    values = [float(state.value)]
    for _ in range(30):
        if bool(_logistic.stop(problem, state, jnp.float32(1e-6), 100)):
            break
        state = step(problem, state)
        values.append(float(state.value))
        # the cached scores follow theta
        want = X @ state.theta[0, :-1] + state.theta[0, -1]
        assert_close(state.z[:, 0], want, rtol=1e-4, name="z")
    assert all(b <= a * (1 + 1e-6) for a, b in zip(values, values[1:], strict=False))
    assert bool(_logistic.stop(problem, state, jnp.float32(1e-6), 100))
    model = ml.logistic_regression(X, y)
    assert int(state.n_iter) == int(model.n_iter)
    assert_close(state.theta[0, :-1], model.coef, rtol=1e-5, name="coef")


def _central(f, x, h=1e-6):
    x = np.asarray(x, np.float64)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


@pytest.mark.x64
@pytest.mark.parametrize("n_classes", [2, 3])
def test_grad_matches_central_differences_x64(n_classes):
    """Implicit gradients in C, X (and soft binary y) against central differences."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = rng.integers(0, n_classes, 40)

    def loss(C, X, y):
        model = ml.logistic_regression(X, y, C=C, tol=1e-12)
        return jnp.sum(model.predict_proba(X[:5])[:, 1]) + jnp.sum(model.coef**2)

    gC, gX = jax.grad(loss, argnums=(0, 1))(1.0, jnp.asarray(X), jnp.asarray(y))
    fdC = _central(lambda c: loss(float(c), X, y), np.array(1.0))
    np.testing.assert_allclose(gC, fdC, rtol=1e-6)
    Xs = X[:4, :2]
    fdX = _central(lambda a: loss(1.0, np.concatenate([np.c_[a, X[:4, 2:]], X[4:]]), y), Xs)
    np.testing.assert_allclose(np.asarray(gX)[:4, :2], fdX, rtol=1e-5, atol=1e-9)
    if n_classes == 2:
        yf = y.astype(np.float64)
        yf[:3] = 0.5  # soft targets: central differences stay inside [0, 1]
        gy = jax.grad(loss, argnums=2)(1.0, jnp.asarray(X), jnp.asarray(yf))
        fdy = _central(lambda v: loss(1.0, X, np.concatenate([v, yf[3:]])), yf[:3])
        np.testing.assert_allclose(np.asarray(gy)[:3], fdy, rtol=1e-5, atol=1e-9)


def test_grad_vmap_and_jit():
    X, y = classification("synthetic")
    X = X.astype(np.float32)

    def coef0(C):
        return ml.logistic_regression(X, y, C=C).coef[0]

    Cs = jnp.array([0.1, 1.0, 10.0], jnp.float32)
    batched = jax.jit(jax.vmap(jax.grad(coef0)))(Cs)
    one = [float(jax.grad(coef0)(c)) for c in Cs]
    np.testing.assert_allclose(batched, one, rtol=1e-3)
    assert np.all(np.isfinite(np.asarray(batched)))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multinomial_lbfgs_path_reaches_sklearns_objective(monkeypatch, fit_intercept):
    """Large multinomial problems take L-BFGS; forced here on digits (K = 10, 650 parameters).

    The row count (1501) is used by no other test, so the patched size rule is what traces.
    """
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    from mlmath_jax.ml import _logistic

    monkeypatch.setattr(_logistic, "_NEWTON_MAX_WORK", 0.0)
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:1501]
    y = y[:1501]
    ref = linear_model.LogisticRegression(
        C=1.0, fit_intercept=fit_intercept, tol=1e-10, max_iter=10_000
    ).fit(X, y)
    m = ml.logistic_regression(X.astype(np.float32), y, fit_intercept=fit_intercept)
    assert bool(m.converged) and int(m.n_iter) < 100  # the gauge term once made it 100+

    def value(coef, intercept):
        z = X @ np.asarray(coef, np.float64).T + np.asarray(intercept, np.float64)
        z -= z.max(axis=1, keepdims=True)
        loss = np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]
        return loss.sum() + 0.5 * np.sum(np.asarray(coef, np.float64) ** 2)

    best = value(ref.coef_, ref.intercept_)
    assert (value(m.coef, m.intercept) - best) / best < 1e-5
    assert_close(m.coef, ref.coef_, rtol=2e-2, atol=2e-3, name="coef")
    assert np.abs(np.sum(np.asarray(m.coef), axis=0)).max() < 1e-4  # the symmetric solution


def test_traced_labels_beyond_n_classes_give_nan():
    """Under jit K cannot be read off the labels (it is 2): labels 0..2 then give NaN."""
    X, y = classification("breast_cancer")
    X, y = X[:60, :3].astype(np.float32), y[:60].astype(np.float32)
    y3 = (np.arange(60) % 3).astype(np.int32)
    coef = jax.jit(lambda a, b: ml.logistic_regression(a, b).coef)(X, y3)
    assert np.isnan(np.asarray(coef)).all()
    good = jax.jit(lambda a, b: ml.logistic_regression(a, b, n_classes=3).coef)(X, y3)
    assert np.isfinite(np.asarray(good)).all()
    assert np.isfinite(
        np.asarray(jax.jit(lambda a, b: ml.logistic_regression(a, b).coef)(X, y))
    ).all()


@pytest.mark.x64
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("chunk_bytes", [4096, 12 << 20])
def test_hessian_equals_autodiff(monkeypatch, n_classes, fit_intercept, chunk_bytes):
    """The row-chunked Hessian (block diagonal less BᵀB when multinomial) is jax.hessian's."""
    from mlmath_jax import _gram
    from mlmath_jax.ml import _logistic

    monkeypatch.setattr(_gram, "CHUNK_BYTES", chunk_bytes)  # 4 KiB: many chunks
    rng = np.random.default_rng(3)
    n, d = 2000, 7
    X = jnp.asarray(rng.standard_normal((n, d)))
    if n_classes == 2:
        Y = jnp.asarray((rng.random(n) < 0.4).astype(np.float64))
    else:
        Y = jax.nn.one_hot(rng.integers(0, n_classes, n), n_classes, dtype=jnp.float64)
    w = rng.random(n)
    problem = _logistic.Problem(X, Y, jnp.asarray(w / w.sum()), jnp.asarray(0.01))
    m = 1 if n_classes == 2 else n_classes
    theta = jnp.asarray(0.3 * rng.standard_normal((m, d + int(fit_intercept))))
    chunks = _gram.row_chunks(X, m * (d + int(fit_intercept)))
    assert (chunks > 1) == (chunk_bytes == 4096)
    z = _logistic._scores(X, theta, fit_intercept)
    got = jax.jit(_logistic._hessian, static_argnums=2)(problem, z, fit_intercept)

    def f(t):
        return _logistic.objective(t.reshape(theta.shape), problem, fit_intercept)

    want = jax.hessian(f)(theta.ravel())
    assert_close(got, want, rtol=1e-12, atol=1e-13 * float(jnp.abs(want).max()), name="H")


@pytest.mark.parametrize("n_classes", [2, 4])
def test_hessian_materialises_nothing_of_the_data_size(monkeypatch, n_classes):
    """Chunked, the weighted copies of X (and the multinomial rows p ⊗ x̃) are chunk-sized:
    the compiled Hessian holds no array of all n rows wider than X itself."""
    import re

    from mlmath_jax import _gram
    from mlmath_jax.ml import _logistic

    monkeypatch.setattr(_gram, "CHUNK_BYTES", 64 << 10)
    n, d = 4096, 15
    X = jnp.zeros((n, d), jnp.float32)
    Y = jnp.zeros((n, n_classes) if n_classes > 2 else (n,), jnp.float32)
    problem = _logistic.Problem(X, Y, jnp.full(n, 1.0 / n), jnp.float32(0.01))
    m = n_classes if n_classes > 2 else 1
    z = jnp.zeros((n, m), jnp.float32)
    assert _gram.row_chunks(X, m * (d + 1)) > 1
    hlo = jax.jit(_logistic._hessian, static_argnums=2).lower(problem, z, True).compile().as_text()
    wide = [
        s
        for s in re.findall(rf"f32\[{n},([\d,]+)\]", hlo)
        if np.prod([int(v) for v in s.split(",")]) > d
    ]
    assert not wide, f"full-size intermediates: {sorted(set(wide))}"
