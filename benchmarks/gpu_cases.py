"""The ``--gpu`` case list: sizes for one H100/H200-class GPU, in priority order.

A lent GPU slot is short (minutes, some of them spent starting up), so the list puts the
cases that tell the most first: selection at memory speed, the batched small ``eigh`` cliff
(jax#31368: n=32 against n=33) and vmapped ``eigh`` (jax#10180), then matmul at the three
precisions, eigsh, PCA, ridge, logistic regression, sampling and the 1e9 median. Run it
with a budget, e.g. ``python -m benchmarks --gpu --budget 420``. Peers are the equivalent
``jnp`` calls on the same device; references are float64 NumPy, computed on a slice where the
whole input would take minutes on the host (the error function compares the same slice).

``scale`` divides the data sizes (``--gpu --quick`` uses 1/1000) so the list can be checked
on a CPU in seconds.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mlmath_jax import linalg, ml, prob

from .harness import Case, Contender, relative_error

_SLICE = 256  # batch members (or rows) the host reference checks


def _n(size: float, scale: float) -> int:
    return max(int(size * scale), 16)


def _normal(shape, dtype=np.float32):
    def setup(rng):
        return (rng.standard_normal(shape, dtype=np.float32).astype(dtype),)

    return setup


def _median_case(n: int, priority: int) -> Case:
    return Case(
        name="gpu.median",
        params={"n": n, "dtype": "float32"},
        setup=_normal(n),
        contenders=[Contender("mlmath_jax", prob.median), Contender("jnp.median", jnp.median)],
        reference=np.median,
        tol=1e-6,
        bytes=4.0 * n,
        priority=priority,
    )


def _spd_batch(batch: int, n: int):
    def setup(rng):
        a = rng.standard_normal((batch, n, n), dtype=np.float32)
        return ((a + np.swapaxes(a, -1, -2)) / 2,)

    return setup


def _eigvalsh_slice(a):
    return np.linalg.eigvalsh(a[:_SLICE].astype(np.float64))


def _slice_error(out, ref):
    return relative_error(np.asarray(out)[:_SLICE], ref)


def _eigh_case(batch: int, n: int, priority: int) -> Case:
    return Case(
        name="gpu.eigh_batched",
        params={"batch": batch, "n": n, "dtype": "float32"},
        setup=_spd_batch(batch, n),
        contenders=[
            Contender("mlmath_jax", lambda a: linalg.eigh(a).eigenvalues),
            Contender("jnp.linalg.eigh", lambda a: jnp.linalg.eigh(a)[0]),
        ],
        reference=_eigvalsh_slice,
        error=_slice_error,
        tol=1e-4,
        flops=batch * 9.0 * n**3,
        priority=priority,
    )


def _matmul_cases(n: int, priority: int) -> list[Case]:
    def ref(a, b):
        k = min(_SLICE, a.shape[0])
        return a[:k].astype(np.float64) @ b.astype(np.float64)

    def err(out, r):
        return relative_error(np.asarray(out, np.float64)[: r.shape[0]], r)

    setup = _normal((2, n, n))

    def pair(rng):
        (ab,) = setup(rng)
        return ab[0], ab[1]

    out = []
    for label, precision, dtype, tol, peak in (
        ("f32", "highest", jnp.float32, 1e-4, "fp32"),
        ("tf32", "tensorfloat32", jnp.float32, 1e-2, "tf32"),
        ("bf16", "default", jnp.bfloat16, 5e-2, "bf16"),
    ):

        def ours(a, b, p=precision, d=dtype):
            return linalg.matmul(a.astype(d), b.astype(d), precision=p)

        out.append(
            Case(
                name=f"gpu.matmul_{label}",
                params={"n": n, "dtype": jnp.dtype(dtype).name},
                setup=pair,
                contenders=[Contender("mlmath_jax", ours)],
                reference=ref,
                error=err,
                tol=tol,
                flops=2.0 * n**3,
                precision=peak,
                priority=priority,
            )
        )
    return out


def _eigsh_case(n: int, priority: int) -> Case:
    def ours(a):
        return linalg.eigsh(a, 10, v0=jnp.ones(a.shape[-1], a.dtype))[0]

    return Case(
        name="gpu.eigsh_top10",
        params={"n": n, "k": 10, "dtype": "float32"},
        setup=_spd_batch(1, n) if n < 64 else (lambda rng: (_spd_batch(1, n)(rng)[0][0],)),
        contenders=[
            Contender("mlmath_jax", ours),
            Contender("jnp.linalg.eigh (full)", lambda a: jnp.linalg.eigvalsh(a)[-10:]),
        ],
        reference=None,
        tol=1e-4,
        priority=priority,
    )


def _design(n: int, d: int):
    def setup(rng):
        X = rng.standard_normal((n, d), dtype=np.float32)
        w = rng.standard_normal(d, dtype=np.float32) / np.sqrt(d)
        return X, X @ w + np.float32(0.1) * rng.standard_normal(n, dtype=np.float32)

    return setup


def _pca_case(n: int, d: int, priority: int) -> Case:
    def ours(X):
        return ml.PCA.fit(X, 10).explained_variance

    def peer(X):  # the same covariance route, written in plain jnp
        c = X - X.mean(0)
        return jnp.linalg.eigvalsh(c.T @ c / (X.shape[0] - 1))[::-1][:10]

    return Case(
        name="gpu.pca",
        params={"n": n, "d": d, "k": 10, "dtype": "float32"},
        setup=lambda rng: _design(n, d)(rng)[:1],
        contenders=[Contender("mlmath_jax", ours), Contender("jnp covariance+eigh", peer)],
        reference=lambda X: np.linalg.eigvalsh(np.cov(X, rowvar=False))[::-1][:10],
        tol=1e-3,
        flops=2.0 * n * d * d,
        priority=priority,
    )


def _ridge_reference(X, y, alpha=1.0):
    """Centred normal equations: the Gram product in float32 BLAS, the solve in float64."""
    mx, my = X.mean(0, dtype=np.float64), y.mean(dtype=np.float64)
    gram = (X.T @ X).astype(np.float64) - X.shape[0] * np.outer(mx, mx)
    rhs = (X.T @ y).astype(np.float64) - X.shape[0] * mx * my
    return np.linalg.solve(gram + alpha * np.eye(X.shape[1]), rhs)


def _ridge_case(n: int, d: int, priority: int) -> Case:
    return Case(
        name="gpu.ridge",
        params={"n": n, "d": d, "alpha": 1.0, "dtype": "float32"},
        setup=_design(n, d),
        contenders=[Contender("mlmath_jax", lambda X, y: ml.ridge(X, y, 1.0).coef)],
        reference=_ridge_reference,
        tol=1e-3,
        flops=2.0 * n * d * d,
        priority=priority,
    )


def _logistic_optimality(out, data):
    """Largest entry of scikit-learn's scaled gradient at our (coef, intercept)."""
    (coef, intercept), (X, y) = out, data
    z = X @ np.asarray(coef, np.float32) + np.float32(intercept)
    r = (1.0 / (1.0 + np.exp(-z.astype(np.float64)))) - y
    grad = np.concatenate([(X.T @ r.astype(np.float32)) + np.asarray(coef) / 1.0, [r.sum()]])
    return float(np.max(np.abs(grad)) / X.shape[0])


def _logistic_fit(X, y):
    model = ml.logistic_regression(X, y)
    return model.coef, model.intercept


def _logistic_case(n: int, d: int, priority: int) -> Case:
    def setup(rng):
        X, z = _design(n, d)(rng)
        return X, (z > 0).astype(np.float32)

    return Case(
        name="gpu.logistic",
        params={"n": n, "d": d, "C": 1.0, "dtype": "float32"},
        setup=setup,
        contenders=[Contender("mlmath_jax", _logistic_fit)],
        reference=lambda X, y: (X, y),
        error=_logistic_optimality,
        tol=1e-4,
        priority=priority,
    )


def _sampling_case(n: int, priority: int) -> Case:
    def ours(key_data):
        key = jax.random.wrap_key_data(key_data)
        return jnp.mean(prob.Normal(0.0, 1.0).sample(key, (n,)))

    def peer(key_data):
        return jnp.mean(jax.random.normal(jax.random.wrap_key_data(key_data), (n,)))

    return Case(
        name="gpu.sample_normal",
        params={"n": n, "dtype": "float32"},
        setup=lambda rng: (np.asarray(jax.random.key_data(jax.random.key(0))),),
        contenders=[Contender("mlmath_jax", ours), Contender("jax.random.normal", peer)],
        reference=lambda _: np.float64(0.0),
        error=lambda out, ref: abs(float(out) - ref),
        tol=6.0 / np.sqrt(n),
        bytes=4.0 * n,
        priority=priority,
    )


def cases(scale: float = 1.0) -> list[Case]:
    """The GPU list, most informative first; ``scale`` divides every data size."""
    n = lambda size: _n(size, scale)  # noqa: E731
    out = [_median_case(n(1e8), 1)]
    out += [
        _eigh_case(n(1e4), 32, 2),
        _eigh_case(n(1e4), 33, 2),
        _eigh_case(n(1e5), 3, 3),
        _eigh_case(n(1e4), 16, 3),
    ]
    out += _matmul_cases(max(int(8192 * scale ** (1 / 3)), 64), 4)
    out += [_eigsh_case(max(int(16384 * scale**0.5), 64), 5), _pca_case(n(1e7), 100, 6)]
    out += [_ridge_case(n(1e7), 256, 7), _logistic_case(n(1e7), 256, 8)]
    out += [_sampling_case(n(1e9), 9), _median_case(n(1e9), 10)]
    return out
