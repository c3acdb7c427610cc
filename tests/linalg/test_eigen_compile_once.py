"""Compile once: repeated eager calls of the eigen functions with new data compile nothing.

Covers linalg.eigh, linalg.eigvalsh, linalg.eig, linalg.eigvals, linalg.charpoly,
linalg.is_psd, linalg.power_iteration and linalg.eigsh (matrix and matvec paths).
"""

import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import linalg
from tests.conftest import compiles_on_repeat


def _sym(seed, shape):
    g = np.random.default_rng(seed).standard_normal(shape)
    return jnp.asarray((g + np.swapaxes(g, -1, -2)) / 2, jnp.float32)


def _three(shape):
    return [(_sym(seed, shape),) for seed in range(3)]


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (200, 3, 3), (8, 8), (2, 17, 17)])
def test_eigh_eigvalsh(shape):
    assert compiles_on_repeat(linalg.eigh, *_three(shape)) == 0
    assert compiles_on_repeat(linalg.eigvalsh, *_three(shape)) == 0


def test_eigh_numpy_input():
    calls = [(np.asarray(a),) for (a,) in _three((6, 6))]
    assert compiles_on_repeat(linalg.eigh, *calls) == 0


@pytest.mark.parametrize("shape", [(5, 5), (3, 4, 4)])
def test_eig_eigvals_charpoly(shape):
    calls = [
        (jnp.asarray(np.random.default_rng(s).standard_normal(shape), jnp.float32),)
        for s in range(3)
    ]
    assert compiles_on_repeat(linalg.eig, *calls) == 0
    assert compiles_on_repeat(linalg.eigvals, *calls) == 0
    assert compiles_on_repeat(linalg.charpoly, *calls) == 0


def test_is_psd():
    assert compiles_on_repeat(linalg.is_psd, *_three((4, 5, 5))) == 0
    calls = [(a, t) for (a,), t in zip(_three((5, 5)), (1e-3, 2e-3, 0.5), strict=True)]
    assert compiles_on_repeat(lambda a, t: linalg.is_psd(a, rtol=t), *calls) == 0


def _matvec(v, a):
    return a @ v


def test_power_iteration():
    calls = [(a,) for (a,) in _three((6, 6))]
    assert compiles_on_repeat(linalg.power_iteration, *calls) == 0
    with_tol = [(a, t) for (a,), t in zip(calls, (1e-5, 1e-4, 1e-3), strict=True)]
    assert compiles_on_repeat(lambda a, t: linalg.power_iteration(a, tol=t), *with_tol) == 0
    v0s = [
        jnp.asarray(np.random.default_rng(10 + s).standard_normal(6), jnp.float32) for s in range(3)
    ]
    matvec_calls = [(_matvec, (a,)) for (a,) in calls]
    assert (
        compiles_on_repeat(lambda f, args: linalg.power_iteration(f, args, n=6), *matvec_calls) == 0
    )
    with_v0 = [((a,), v0) for (a,), v0 in zip(calls, v0s, strict=True)]
    assert (
        compiles_on_repeat(lambda args, v0: linalg.power_iteration(_matvec, args, v0=v0), *with_v0)
        == 0
    )


@pytest.mark.parametrize("n", [40, 300])  # dense eigh / block Krylov–Schur
def test_eigsh_matrix(n):
    assert compiles_on_repeat(lambda a: linalg.eigsh(a, 3), *_three((n, n))) == 0
    with_tol = [(a, t) for (a,), t in zip(_three((n, n)), (1e-4, 2e-4, 1e-3), strict=True)]
    assert compiles_on_repeat(lambda a, t: linalg.eigsh(a, 3, tol=t, which="SA"), *with_tol) == 0


def test_eigsh_matrix_batch():
    assert compiles_on_repeat(lambda a: linalg.eigsh(a, 2, ncv=12), *_three((2, 100, 100))) == 0


@pytest.mark.parametrize("n", [40, 300])  # dense eigh of the operator / Krylov–Schur
def test_eigsh_matvec(n):
    calls = [((a,),) for (a,) in _three((n, n))]
    assert compiles_on_repeat(lambda args: linalg.eigsh(_matvec, 3, args, n=n), *calls) == 0
    v0s = [
        jnp.asarray(np.random.default_rng(20 + s).standard_normal(n), jnp.float32) for s in range(3)
    ]
    with_v0 = [(args, v0, t) for (args,), v0, t in zip(calls, v0s, (1e-4, 1e-3, 1e-2), strict=True)]
    assert (
        compiles_on_repeat(
            lambda args, v0, t: linalg.eigsh(_matvec, 3, args, v0=v0, tol=t, which="LM"), *with_v0
        )
        == 0
    )
