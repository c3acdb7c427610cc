"""Row-sharded input on 8 CPU devices gives the single-device answer without gathering rows.

Each case runs a data-reducing function on ``jax.Array`` inputs whose rows are sharded over
a 1-D mesh ``("data",)``, once with explicit mesh axes (``jax.make_mesh``'s default) and
once with auto axes; the result must equal the unsharded call, and the compiled program
(``jax.jit(f).lower(...).compile().as_text()``) must hold no all-gather, all-to-all or
collective-permute that moves a shard's worth of values (rows / devices or more).
"""

from __future__ import annotations

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from mlmath_jax import _gram, calculus, linalg, ml, prob

DEVICES = 8
N, D = 4096, 6
pytestmark = pytest.mark.skipif(
    jax.device_count() < DEVICES, reason=f"needs {DEVICES} devices (root conftest sets them)"
)


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D)).astype(np.float32)
    w = rng.standard_normal(D).astype(np.float32)
    y = (X @ w + 0.1 * rng.standard_normal(N)).astype(np.float32)
    labels = (y > 0).astype(np.int32)
    cats = rng.integers(0, 3, size=(N, 2)).astype(np.int32)
    return {
        "X": X,
        "y": y,
        "labels": labels,
        "cats": cats,
        "pos": np.abs(X[:, 0]) + np.float32(0.5),
        "weights": rng.random(N).astype(np.float32),
    }


def _loss(w, X, y):
    return 0.5 * jnp.mean((X @ w - y) ** 2) + 0.05 * jnp.sum(w**2)


def _moments_fields(m):
    return m.count, m.mean, m.m2, m.variance(ddof=1)


def _expect_fun(v, X):
    return jnp.mean((X[:, 0] * v) ** 2)


# name -> (function of the row-sharded arrays, the names of the arrays it takes)
CASES = {
    "prob.mean": (lambda X: prob.mean(X, axis=0), ("X",)),
    "prob.var": (lambda X: prob.var(X, axis=0, ddof=1), ("X",)),
    "prob.std": (lambda X: prob.std(X, axis=0), ("X",)),
    "prob.Moments": (lambda X: _moments_fields(prob.Moments.from_data(X, axis=0)), ("X",)),
    "prob.median": (lambda X: prob.median(X, axis=0), ("X",)),
    "prob.quantile": (lambda X: prob.quantile(X, jnp.array([0.1, 0.5, 0.9]), axis=0), ("X",)),
    "prob.quantile.weights": (
        lambda y, weights: prob.quantile(y, 0.3, method="inverted_cdf", weights=weights),
        ("y", "weights"),
    ),
    "prob.covariance": (prob.covariance, ("X",)),
    "prob.correlation": (prob.correlation, ("X",)),
    "prob.joint_table": (
        lambda cats: prob.joint_table(cats[:, 0], cats[:, 1], num_categories=(3, 3)),
        ("cats",),
    ),
    "prob.chi2_independence": (
        lambda cats: tuple(
            prob.chi2_independence(
                prob.joint_table(cats[:, 0], cats[:, 1], num_categories=(3, 3), normalize=False)
            )[:2]
        ),
        ("cats",),
    ),
    "prob.expectation": (
        lambda X: tuple(
            prob.expectation(_expect_fun, prob.Normal(1.0, 0.5), jax.random.key(0), 1024, args=(X,))
        ),
        ("X",),
    ),
    "ml.PCA": (lambda X: ml.PCA.fit(X, 3).explained_variance, ("X",)),
    "ml.least_squares": (lambda X, y: ml.least_squares(X, y).coef, ("X", "y")),
    "ml.ridge": (lambda X, y: ml.ridge(X, y, 1.0).coef, ("X", "y")),
    "ml.lasso": (lambda X, y: ml.lasso(X, y, 0.05).coef, ("X", "y")),
    "ml.logistic_regression": (
        lambda X, labels: ml.logistic_regression(X, labels).coef,
        ("X", "labels"),
    ),
    "ml.GaussianNB": (
        lambda X, labels: ml.GaussianNB.fit(X, labels, 2).predict_proba(X[:8]),
        ("X", "labels"),
    ),
    "ml.fit_mle.Normal": (lambda y: ml.fit_mle(prob.Normal, y).scale, ("y",)),
    "ml.fit_mle.Gamma": (lambda pos: ml.fit_mle(prob.Gamma, pos).concentration, ("pos",)),
    "calculus.hvp": (
        lambda X, y: calculus.hvp(
            _loss, jnp.ones(D), jnp.arange(D, dtype=jnp.float32), args=(X, y)
        ),
        ("X", "y"),
    ),
    "calculus.hessian_eigsh": (
        lambda X, y: calculus.hessian_eigsh(_loss, jnp.ones(D), 2, args=(X, y)).eigenvalues,
        ("X", "y"),
    ),
    "calculus.hessian_trace": (
        lambda X, y: (
            calculus.hessian_trace(_loss, jnp.ones(D), jax.random.key(1), 16, args=(X, y)).estimate
        ),
        ("X", "y"),
    ),
    "linalg.matmul": (lambda X: linalg.matmul(X.T, X), ("X",)),
    "linalg.matvec": (lambda X, y: linalg.matvec(X.T, y), ("X", "y")),
    # the sharded axis is not contracted: the result stays row-sharded, nothing is gathered
    "linalg.matmul.rows": (lambda X: linalg.matmul(X, jnp.eye(D, 3)), ("X",)),
    "linalg.matvec.rows": (lambda X: linalg.matvec(X, jnp.ones(D)), ("X",)),
    "prob.covariance.offset": (lambda X: prob.covariance(X + 1e3), ("X",)),  # two-pass route
    "_gram.gram.blocks": (lambda X: _gram.gram(X, blocks=3), ("X",)),  # triangular blocks
    # 1 KiB chunks would take the chunked centring off a mesh; on one it is skipped
    "_gram.centred_gram.chunk": (
        lambda X: _gram.centred_gram(X + 1e3, chunk_bytes=1024).gram,
        ("X",),
    ),
    # y's columns joined to X's (off a mesh a chunk at a time; on one, on each device)
    "_gram.centred_gram.y": (
        lambda X, y: _gram.centred_gram(X + 1e3, y[:, None], chunk_bytes=1024),
        ("X", "y"),
    ),
}
TOL = {
    "ml.lasso": 1e-3,
    "ml.logistic_regression": 1e-3,
    "calculus.hessian_eigsh": 1e-4,
    "ml.fit_mle.Gamma": 1e-4,
    "prob.expectation": 1e-4,
}


def _mesh(kind: str):
    types = (AxisType.Explicit,) if kind == "explicit" else (AxisType.Auto,)
    return jax.make_mesh((DEVICES,), ("data",), axis_types=types)


def _shard(mesh, arr):
    spec = P("data", *([None] * (arr.ndim - 1)))
    return jax.device_put(arr, NamedSharding(mesh, spec))


_REDUCE = re.compile(r"=\s*(\(?[a-z0-9]+\[[^=]*?)\s+(all-reduce|reduce-scatter)(-start)?\(")
_BIG = re.compile(
    r"=\s*(\(?[a-z0-9]+\[[^=]*?)\s+(all-gather|all-to-all|collective-permute)"
    r"(-start)?\("
)


def _lines(hlo: str) -> list[str]:
    # Tuple shapes carry /*index=5*/ comments, whose "=" would end a shape list early.
    return re.sub(r"/\*.*?\*/", "", hlo).splitlines()


def _moved_elements(hlo: str) -> list[tuple[str, int]]:
    """``(op, elements of its result)`` for every data-moving collective in ``hlo``."""
    out = []
    for line in _lines(hlo):
        match = _BIG.search(line)
        if not match:
            continue
        shapes = re.findall(r"[a-z0-9]+\[([0-9,]*)\]", match.group(1))
        elements = sum(math.prod(int(s) for s in dims.split(",") if s) for dims in shapes)
        out.append((match.group(2), elements))
    return out


def _reduced_elements(hlo: str) -> int:
    """Elements of the results of every all-reduce / reduce-scatter in ``hlo``, summed."""
    total = 0
    for line in _lines(hlo):
        match = _REDUCE.search(line)
        if match:
            shapes = re.findall(r"[a-z0-9]+\[([0-9,]*)\]", match.group(1))
            total += sum(math.prod(int(s) for s in dims.split(",") if s) for dims in shapes)
    return total


@pytest.fixture(scope="module")
def data():
    return _data()


def _close(got, want, tol):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        scale = max(np.max(np.abs(w)), 1e-30)
        assert np.max(np.abs(g - w)) <= tol * scale, np.max(np.abs(g - w)) / scale


@pytest.mark.parametrize("kind", ["explicit", "auto"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_sharded_rows_give_the_single_device_answer_without_gather(name, kind, data):
    fn, names = CASES[name]
    mesh = _mesh(kind)
    plain = [jnp.asarray(data[n]) for n in names]
    sharded = [_shard(mesh, data[n]) for n in names]
    want = jax.jit(fn)(*plain)
    with jax.set_mesh(mesh):
        got = jax.jit(fn)(*sharded)
        hlo = jax.jit(fn).lower(*sharded).compile().as_text()
    _close(got, want, TOL.get(name, 2e-5))
    shard_rows = N // DEVICES
    big = [(op, e) for op, e in _moved_elements(hlo) if e >= shard_rows]
    assert not big, f"{name} on a {kind} mesh moves a shard's worth of data: {big}"


def test_the_collective_parser_sees_a_gather():
    mesh = _mesh("auto")
    x = _shard(mesh, np.ones((N, D), np.float32))
    hlo = jax.jit(lambda a: a, out_shardings=NamedSharding(mesh, P())).lower(x).compile()
    moved = _moved_elements(hlo.as_text())
    assert moved and max(e for _, e in moved) >= N * D


@pytest.mark.parametrize("kind", ["explicit", "auto"])
@pytest.mark.parametrize(
    "name",
    [
        "prob.covariance",
        "prob.correlation",
        "prob.covariance.offset",
        "linalg.matmul",
        "_gram.gram.blocks",
        "_gram.centred_gram.chunk",
        "_gram.centred_gram.y",
    ],
)
def test_covariance_all_reduces_move_order_d_squared_values(name, kind, data):
    """The "O(d²)" promise, counted: all-reduced elements (both cond branches) <= 4·d²."""
    fn, names = CASES[name]
    mesh = _mesh(kind)
    sharded = [_shard(mesh, data[n]) for n in names]
    with jax.set_mesh(mesh):
        hlo = jax.jit(fn).lower(*sharded).compile().as_text()
    moved = _reduced_elements(hlo)
    assert 0 < moved <= 4 * D * D, f"{name} on a {kind} mesh all-reduces {moved} elements"


def test_the_reduce_parser_counts_an_all_reduce():
    mesh = _mesh("explicit")
    x = _shard(mesh, np.ones((N, D), np.float32))
    with jax.set_mesh(mesh):
        hlo = jax.jit(lambda a: jnp.sum(a, axis=0)).lower(x).compile().as_text()
    assert _reduced_elements(hlo) == D


@pytest.mark.parametrize("kind", ["explicit", "auto"])
def test_large_sharded_median_keeps_to_counts(kind):
    """Above the bracket path's size, sharded rows still exchange only counts."""
    n = 2**17
    x = np.random.default_rng(5).standard_normal((n, 2)).astype(np.float32)
    mesh = _mesh(kind)
    xs = _shard(mesh, x)

    def fn(a):
        return prob.quantile(a, jnp.array([0.25, 0.5]), axis=0)

    with jax.set_mesh(mesh):
        got = jax.jit(fn)(xs)
        hlo = jax.jit(fn).lower(xs).compile().as_text()
    want = np.stack([np.quantile(x, q, axis=0) for q in (0.25, 0.5)])  # float32, as ours
    np.testing.assert_array_equal(np.asarray(got), want)
    big = [(op, e) for op, e in _moved_elements(hlo) if e >= n // DEVICES]
    assert not big


def test_quantile_inside_a_mesh_then_outside():
    """A quantile plan made under ``jax.set_mesh`` does not leak into unsharded calls."""
    mesh = _mesh("explicit")
    x = np.random.default_rng(6).standard_normal((N, 3)).astype(np.float32)
    q = jnp.array([0.1, 0.5, 0.9])
    with jax.set_mesh(mesh):
        inside = jax.jit(lambda a: prob.quantile(a, q, axis=0))(_shard(mesh, x))
    outside = jax.jit(lambda a: prob.quantile(a, q, axis=0))(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(inside), np.asarray(outside))
