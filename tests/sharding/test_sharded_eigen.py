"""eigsh on row-sharded data (8 CPU devices) gives the single-device answer without gathers.

Two cases, each on an explicit and an auto mesh: ``eigsh`` of a symmetric matrix whose rows
are sharded, and ``eigsh`` of a matvec ``v -> Xᵀ X v / N`` whose data ``X`` (an ``args``
entry) is row-sharded; also the gradient of the top eigenvalues w.r.t. the sharded ``X``.
The compiled program must hold no all-gather, all-to-all or collective-permute of
``rows / devices`` or more elements (the helpers of ``test_sharded.py``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import linalg
from tests.sharding.test_sharded import DEVICES, _mesh, _moved_elements, _shard

pytestmark = pytest.mark.skipif(
    jax.device_count() < DEVICES, reason=f"needs {DEVICES} devices (root conftest sets them)"
)

N_MATRIX = 256  # > 2 ncv: the block Krylov–Schur path
N_ROWS, D = 4096, 64  # D > 2 ncv: the single-vector Krylov–Schur path


def _symmetric(n):
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.linspace(0.0, 1.0, n)
    w[-3:] = [2.0, 2.5, 3.0]
    return ((q * w) @ q.T).astype(np.float32)


def _design():
    rng = np.random.default_rng(1)
    scales = np.linspace(0.2, 1.0, D)
    scales[-2:] = [2.0, 3.0]
    return (rng.standard_normal((N_ROWS, D)) * scales).astype(np.float32)


def _gram_matvec(v, X):
    return linalg.matvec(X.T, linalg.matvec(X, v)) / X.shape[0]


def _matrix_case(a):
    result = linalg.eigsh(a, 3)
    return result.eigenvalues, jnp.abs(result.eigenvectors)


def _matvec_case(X):
    result = linalg.eigsh(_gram_matvec, 2, (X,), n=D)
    return result.eigenvalues, jnp.abs(result.eigenvectors)


def _grad_case(X):
    return jax.grad(lambda X: jnp.sum(linalg.eigsh(_gram_matvec, 2, (X,), n=D).eigenvalues))(X)


CASES = {
    "eigsh.matrix": (_matrix_case, _symmetric(N_MATRIX)),
    "eigsh.matvec": (_matvec_case, _design()),
    "eigsh.matvec.grad": (_grad_case, _design()),
}


@pytest.mark.parametrize("kind", ["explicit", "auto"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_sharded_eigsh_gives_the_single_device_answer_without_gather(name, kind):
    fn, data = CASES[name]
    mesh = _mesh(kind)
    want = jax.jit(fn)(jnp.asarray(data))
    sharded = _shard(mesh, data)
    with jax.set_mesh(mesh):
        got = jax.jit(fn)(sharded)
        hlo = jax.jit(fn).lower(sharded).compile().as_text()
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        assert np.max(np.abs(g - w)) <= 1e-4 * np.max(np.abs(w)), name
    shard_rows = data.shape[0] // DEVICES
    big = [(op, e) for op, e in _moved_elements(hlo) if e >= shard_rows]
    assert not big, f"{name} on a {kind} mesh moves a shard's worth of data: {big}"
