"""linalg cases: matmul/matvec (with a plain Python loop), det, solve, inv, norms."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from mlmath_jax import linalg

from ..harness import Case, Contender
from ..peers import cupy_gpu, torch_cpu


def _python_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The textbook triple loop, over Python lists: what vectorisation buys."""
    a_rows, b_cols = a.tolist(), b.T.tolist()
    out = [[sum(x * y for x, y in zip(row, col, strict=True)) for col in b_cols] for row in a_rows]
    return np.asarray(out, dtype=a.dtype)


def _python_matvec(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    xs = x.tolist()
    return np.asarray(
        [sum(p * q for p, q in zip(row, xs, strict=True)) for row in a.tolist()], dtype=a.dtype
    )


def _mats(n: int, dtype=np.float32, batch: tuple[int, ...] = ()):
    def setup(rng):
        return (
            rng.standard_normal((*batch, n, n)).astype(dtype),
            rng.standard_normal((*batch, n, n)).astype(dtype),
        )

    return setup


def _well_conditioned(n: int, batch: tuple[int, ...] = (), rhs: int = 0):
    """Q diag(s) Qᵀ with s in [e^-1/2, e^1/2] and prod(s) = 1: |det| = 1 at any n."""

    def setup(rng):
        q, _ = np.linalg.qr(rng.standard_normal((*batch, n, n)))
        u = rng.uniform(-0.5, 0.5, (*batch, 1, n))
        s = np.exp(u - u.mean(axis=-1, keepdims=True))
        a = (q * s) @ np.swapaxes(q, -1, -2)
        out = (a.astype(np.float32),)
        if rhs:
            out += (rng.standard_normal((*batch, n, rhs)).astype(np.float32),)
        return out

    return setup


def _f64(fn):
    """Reference: the NumPy function on float64 copies of the inputs."""
    return lambda *xs: fn(*(np.asarray(x, np.float64) for x in xs))


def _matmul_cases(quick: bool) -> list[Case]:
    out = []
    loop_sizes = [32, 64] if quick else [32, 64, 128]
    for n in loop_sizes:
        out.append(
            Case(
                "linalg.matmul",
                {"n": n, "dtype": "float32"},
                _mats(n),
                [
                    Contender("mlmath_jax", linalg.matmul),
                    Contender("numpy", np.matmul, "host"),
                    Contender("python loop", _python_matmul, "host"),
                ],
                reference=_f64(np.matmul),
                flops=2.0 * n**3,
            )
        )
    for n in [512] if quick else [1024, 2048, 4096]:
        out.append(
            Case(
                "linalg.matmul",
                {"n": n, "dtype": "float32"},
                _mats(n),
                [
                    Contender("mlmath_jax", linalg.matmul),
                    Contender("numpy", np.matmul, "host"),
                    *torch_cpu(lambda t, a, b: a @ b),
                    *cupy_gpu(lambda cp, a, b: a @ b),
                ],
                reference=_f64(np.matmul),
                flops=2.0 * n**3,
                quick=quick,
            )
        )
    for n in [512] if quick else [2048, 4096, 8192]:
        tf32 = functools.partial(linalg.matmul, precision="tensorfloat32")
        out.append(
            Case(
                "linalg.matmul_tf32",
                {"n": n, "dtype": "float32", "precision": "tf32"},
                _mats(n),
                [Contender("mlmath_jax", tf32)],
                reference=_f64(np.matmul),
                tol=1e-2,
                flops=2.0 * n**3,
                precision="tf32",
            )
        )
        out.append(
            Case(
                "linalg.matmul_bf16",
                {"n": n, "dtype": "bfloat16"},
                _mats(n),
                [
                    Contender(
                        "mlmath_jax",
                        lambda a, b: linalg.matmul(
                            a.astype(jnp.bfloat16), b.astype(jnp.bfloat16), precision="default"
                        ),
                    )
                ],
                reference=_f64(np.matmul),
                tol=5e-2,
                flops=2.0 * n**3,
                precision="bf16",
            )
        )
    return out


def _matvec_cases(quick: bool) -> list[Case]:
    out = []
    for n in [256] if quick else [256, 1024]:
        out.append(
            Case(
                "linalg.matvec",
                {"n": n, "dtype": "float32"},
                lambda rng, n=n: (
                    rng.standard_normal((n, n)).astype(np.float32),
                    rng.standard_normal(n).astype(np.float32),
                ),
                [
                    Contender("mlmath_jax", linalg.matvec),
                    Contender("numpy", np.matmul, "host"),
                    Contender("python loop", _python_matvec, "host"),
                ],
                reference=_f64(np.matmul),
                bytes=4.0 * (n * n + 2 * n),
            )
        )
    for n in [] if quick else [8192, 16384]:
        out.append(
            Case(
                "linalg.matvec",
                {"n": n, "dtype": "float32"},
                lambda rng, n=n: (
                    rng.standard_normal((n, n)).astype(np.float32),
                    rng.standard_normal(n).astype(np.float32),
                ),
                [Contender("mlmath_jax", linalg.matvec), Contender("numpy", np.matmul, "host")],
                reference=_f64(np.matmul),
                bytes=4.0 * (n * n + 2 * n),
            )
        )
    return out


def _solver_cases(quick: bool) -> list[Case]:
    out = []
    sizes = [(256, ())] + ([(8, (1000,))] if quick else [(1024, ()), (4096, ()), (8, (100000,))])
    for n, batch in sizes:
        params = {"n": n, "batch": batch[0] if batch else 1, "dtype": "float32"}
        count = int(np.prod(batch)) if batch else 1
        lu = count * 2.0 / 3.0 * n**3
        out.append(
            Case(
                "linalg.det",
                params,
                _well_conditioned(n, batch),
                [Contender("mlmath_jax", linalg.det), Contender("numpy", np.linalg.det, "host")],
                reference=_f64(np.linalg.det),
                tol=1e-3,
                flops=lu,
            )
        )
        out.append(
            Case(
                "linalg.solve",
                {**params, "rhs": 16},
                _well_conditioned(n, batch, 16),
                [
                    Contender("mlmath_jax", linalg.solve),
                    Contender("numpy", np.linalg.solve, "host"),
                ],
                reference=_f64(np.linalg.solve),
                tol=1e-3,
                flops=lu + count * 4.0 * n * n * 16,
            )
        )
        out.append(
            Case(
                "linalg.inv",
                params,
                _well_conditioned(n, batch),
                [Contender("mlmath_jax", linalg.inv), Contender("numpy", np.linalg.inv, "host")],
                reference=_f64(np.linalg.inv),
                tol=1e-3,
                flops=count * 2.0 * n**3,
            )
        )
    return out


def _norm_cases(quick: bool) -> list[Case]:
    out = []
    n = 10**6 if quick else 10**8
    vec = lambda rng: (rng.standard_normal(n).astype(np.float32),)  # noqa: E731
    for ord in (1, 2, np.inf):
        out.append(
            Case(
                "linalg.vector_norm",
                {"n": n, "ord": str(ord), "dtype": "float32"},
                vec,
                [
                    Contender("mlmath_jax", functools.partial(linalg.vector_norm, ord=ord)),
                    Contender("numpy", functools.partial(np.linalg.norm, ord=ord), "host"),
                ],
                reference=_f64(functools.partial(np.linalg.norm, ord=ord)),
                bytes=4.0 * n,
            )
        )
    m = 256 if quick else 2048
    for ord, np_ord in (("fro", "fro"), ("spectral", 2), ("nuc", "nuc")):
        out.append(
            Case(
                "linalg.matrix_norm",
                {"n": m, "ord": ord, "dtype": "float32"},
                lambda rng, m=m: (rng.standard_normal((m, m)).astype(np.float32),),
                [
                    Contender("mlmath_jax", functools.partial(linalg.matrix_norm, ord=ord)),
                    Contender(
                        "numpy", functools.partial(np.linalg.matrix_norm, ord=np_ord), "host"
                    ),
                ],
                reference=_f64(functools.partial(np.linalg.matrix_norm, ord=np_ord)),
                bytes=4.0 * m * m if ord == "fro" else None,
            )
        )
    return out


def cases(quick: bool) -> list[Case]:
    """All linalg cases; ``quick`` keeps sizes small."""
    return _matmul_cases(quick) + _matvec_cases(quick) + _solver_cases(quick) + _norm_cases(quick)
