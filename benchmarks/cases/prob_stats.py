"""prob statistics cases: median and quantile by bracket selection, accurate variance.

Bytes moved (for the memory-bound fraction of peak): for ``n >= 2**16`` our median/quantile
reads the input twice (pass 1 counts below five pivots from a sorted strided sample, pass 2
reduces blocks of 64 to the count, minimum, maximum and key sum inside the bracket and
re-reads the few crowded blocks), then selects over the per-block arrays, ``4 / 64`` of the
data: rows of ``2**22`` values or more narrow a wide key range in 4 counting passes and one
regrouping pass over them (then the radix passes run over 1/64 of that, not counted), shorter
rows run the radix selection there (at most 16 passes of 2 bits for float32, 32 for float64,
plus one for the next order statistic): ``bytes = (2 + 5 * 4 / 64) * 4 * n`` at 1e7 and above
(float64: ``* 8 * n``), ``(2 + 17 * 4 / 64) * 4 * n`` below; the strided sample and the
crowded blocks are not counted.
A miss of the bracket (heavy ties, a sample unrepresentative of the data) adds
the exact radix selection's 17 passes. The median cases
also time ``jnp.sum`` of the same array (one read; not a median, so it is exempt from the
correctness gate), for the ratio of a selection to a sum.
``var`` reads the data twice (first mean, then centred sums): ``bytes = 2 * 4 * n``.
``jnp.median`` sorts; at 1e8 elements on a CPU-only machine it takes tens of seconds a
call, so that contender is kept at 1e8 only when a GPU is present.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from mlmath_jax import prob
from mlmath_jax.prob._select_bracket import (  # the gather block; rows narrowed first
    _BLOCK,
    _NARROW_MIN_N,
)

from ..harness import Case, Contender, interleaved, relative_error

_Q = (0.1, 0.5, 0.9)


def _has_gpu() -> bool:
    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


def _data(n: int, loc: float = 0.0, dtype: str = "float32"):
    def setup(rng):
        return ((loc + rng.standard_normal(n)).astype(dtype),)

    return setup


def _partition_median(x: np.ndarray) -> np.float32:
    n = x.size
    if n % 2:
        return np.partition(x, n // 2)[n // 2]
    part = np.partition(x, [n // 2 - 1, n // 2])
    return (part[n // 2 - 1] + part[n // 2]) / np.float32(2)


def _partition_quantile(x: np.ndarray, qs=_Q) -> np.ndarray:
    n = x.size
    idx = [(n - 1) * q for q in qs]
    lo = [int(np.floor(v)) for v in idx]
    hi = [min(i + 1, n - 1) for i in lo]
    part = np.partition(x, sorted(set(lo + hi)))
    out = [
        part[a] + (part[b] - part[a]) * np.float32(v - a)
        for a, b, v in zip(lo, hi, idx, strict=True)
    ]
    return np.asarray(out, np.float32)


def _passes(n: int, dtype: str, interpolate: bool = True, queries: int = 1) -> float:
    """Passes over the data a call: two full ones, then a selection over blocks a query.

    The selection reads the four per-block arrays (``4 / _BLOCK`` of the data) once a pass:
    4 narrowing passes and a regrouping one for long rows, else at most the radix passes.
    """
    radix = (32 if dtype == "float32" else 64) // 2 + interpolate
    selection = 5 if n >= _NARROW_MIN_N else radix
    return round(2 + queries * selection * 4 / _BLOCK, 2)


def _sum_baseline(x):
    return {"baseline_sum": jnp.sum(x)}


def _paired(setup, params: dict, ours):
    """``setup`` that also times ``ours`` and ``jnp.sum`` of the same array, interleaved.

    Both jitted, on the default device; the medians and their ratio go into ``params``.

    The machine's memory speed drifts between runs (a ``jnp.sum`` of 1e8 floats took 7.7 to
    14.8 ms on the same idle 2-core host within minutes), so the ratio of two separately
    timed medians moves with it; alternating the calls pairs them in time.
    """

    def paired_setup(rng):
        args = setup(rng)
        n = args[0].size
        x = jnp.asarray(args[0])
        calls = 15 if n >= 10**8 else 30 if n >= 10**7 else 60
        t_ours, t_sum = interleaved(jax.jit(ours), jax.jit(jnp.sum), (x,), calls)
        params.update(
            paired_ms=round(t_ours * 1e3, 3),
            paired_sum_ms=round(t_sum * 1e3, 3),
            sum_ratio=round(t_ours / t_sum, 2),
        )
        del x
        return args

    return paired_setup


def _median_error(out, ref) -> float:
    """The harness's relative error; the ``jnp.sum`` baseline is not a median (exempt)."""
    if isinstance(out, dict) and "baseline_sum" in out:
        return 0.0
    return relative_error(out, ref)


def _dtypes() -> list[str]:
    return ["float32", "float64"] if jax.config.jax_enable_x64 else ["float32"]


def _sizes(quick: bool) -> list[int]:
    return [10**5, 10**6] if quick else [10**6, 10**7, 10**8]


def _median_cases(quick: bool) -> list[Case]:
    out = []
    for dtype in _dtypes():
        for n in _sizes(quick):
            contenders = [
                Contender("mlmath_jax", prob.median),
                Contender("jnp.sum (same array)", _sum_baseline),
            ]
            if n < 10**8 or _has_gpu():
                contenders.append(Contender("jnp.median", jnp.median))
            contenders += [
                Contender("np.median", np.median, kind="host"),
                Contender("np.partition", _partition_median, kind="host"),
            ]
            passes = _passes(n, dtype, interpolate=n % 2 == 0)
            params = {"n": n, "dtype": dtype, "passes": passes}
            out.append(
                Case(
                    name="prob.median",
                    params=params,
                    setup=_paired(_data(n, dtype=dtype), params, prob.median),
                    contenders=contenders,
                    reference=np.median,
                    error=_median_error,
                    tol=1e-6,
                    bytes=passes * np.dtype(dtype).itemsize * n,
                )
            )
    return out


def _quantile_cases(quick: bool) -> list[Case]:
    out = []
    sizes = _sizes(quick)[:1] if quick else _sizes(quick)  # quick: the sort peer is slow
    for qs in [_Q, (0.9,)]:  # three quantiles (three brackets a pass), and one
        for n in sizes:
            ours = functools.partial(prob.quantile, q=qs)
            contenders = [Contender("mlmath_jax", ours)]
            if n < 10**8 or _has_gpu():
                contenders.append(Contender("jnp.quantile", _jnp_quantile(qs)))
            contenders += [
                Contender("np.quantile", _np_quantile(qs), "host"),
                Contender("np.partition", functools.partial(_partition_quantile, qs=qs), "host"),
            ]
            passes = _passes(n, "float32", queries=len(qs))
            params = {"n": n, "q": list(qs), "dtype": "float32", "passes": passes}
            out.append(
                Case(
                    name="prob.quantile",
                    params=params,
                    setup=_paired(_data(n), params, ours),
                    contenders=contenders,
                    reference=_np_quantile(qs),
                    tol=1e-6,
                    bytes=passes * 4.0 * n,
                )
            )
    return out


def _jnp_quantile(qs):
    return lambda x: jnp.quantile(x, jnp.array(qs))


def _np_quantile(qs):
    return lambda x: np.array([np.quantile(x, q) for q in qs], np.float32)


def _var_cases(quick: bool) -> list[Case]:
    out = []
    for n in _sizes(quick):
        out.append(
            Case(
                name="prob.var",
                params={"n": n, "dtype": "float32", "mean": 1e4, "std": 1.0},
                setup=_data(n, 1e4),
                contenders=[
                    Contender("mlmath_jax", prob.var),
                    Contender("jnp.var", jnp.var),
                    Contender("naive E[x^2]-E[x]^2", lambda x: jnp.mean(x * x) - jnp.mean(x) ** 2),
                    Contender("np.var", np.var, kind="host"),
                ],
                reference=lambda x: np.var(x.astype(np.float64)),
                tol=1e-3,
                bytes=2 * 4.0 * n,
            )
        )
    return out


def _covariance_peer_gram(x: np.ndarray) -> np.ndarray:
    """The covariance step of scikit-learn's ``PCA(svd_solver="covariance_eigh").fit``.

    As in ``sklearn/decomposition/_pca.py``: ``XᵀX`` (NumPy's matmul of a matrix with its
    own transpose calls BLAS syrk, half the flops), then ``- n m mᵀ`` and the divisor.
    """
    n = x.shape[0]
    mean = x.mean(axis=0)
    c = x.T @ x
    c -= n * np.outer(mean, mean)
    c /= n - 1
    return c


def _covariance_cases(quick: bool) -> list[Case]:
    """Covariance at the sizes of issue 13 (100,000 x 256 and 1,000,000 x 100, float32)."""
    from sklearn.decomposition import PCA

    def sk_pca(x):
        # the whole fit (Gram + eigh of d x d), returned as its covariance for the check
        return PCA(svd_solver="covariance_eigh").fit(x).get_covariance()

    out = []
    for n, d in [(10_000, 64)] if quick else [(100_000, 256), (1_000_000, 100)]:
        out.append(
            Case(
                name="prob.covariance",
                params={"n": n, "d": d, "dtype": "float32", "data": "standard normal"},
                setup=lambda rng, n=n, d=d: (rng.standard_normal((n, d)).astype(np.float32),),
                contenders=[
                    Contender("mlmath_jax", prob.covariance),
                    Contender("jnp.cov", lambda x: jnp.cov(x, rowvar=False)),
                    Contender("np.cov", lambda x: np.cov(x, rowvar=False), kind="host"),
                    Contender("sklearn PCA gram step", _covariance_peer_gram, kind="host"),
                    Contender("sklearn PCA(covariance_eigh).fit", sk_pca, kind="host"),
                ],
                reference=lambda x: np.cov(x.astype(np.float64), rowvar=False),
                # one symmetric Gram: n d (d + 1) multiply-adds
                flops=float(n) * d * (d + 1),
                tol=1e-4,
            )
        )
    return out


def cases(quick: bool) -> list[Case]:
    """Median, quantile, variance and covariance cases; ``quick`` keeps sizes small."""
    return (
        _median_cases(quick) + _quantile_cases(quick) + _var_cases(quick) + _covariance_cases(quick)
    )
