"""Block Krylov–Schur: a few extreme eigenpairs of a dense symmetric matrix.

The dense-matrix path of :func:`mlmath_jax.linalg.eigsh`. A single-vector Lanczos method
reads the whole matrix once per basis vector, so for a dense ``n x n`` matrix it is bound
by memory bandwidth; a block of ``b`` vectors is multiplied in one pass over the matrix
(a matrix-matrix product), which costs little more than one matrix-vector product for
small ``b``. The method is the single-vector Krylov–Schur of ``_lanczos.py`` with blocks:
extend an orthonormal basis ``V`` block by block (``W = A V_j``, two passes of block
Gram–Schmidt against all of ``V``, then Cholesky QR twice inside the block), take an
explicit Rayleigh–Ritz step ``H = Vᵀ A V`` from the stored images, keep the ``p`` most
wanted Ritz vectors and the last block, and extend again. Blocks also make repeated
eigenvalues easy to find: a block of ``b`` vectors sees up to ``b`` copies at once.

Sizes: block 4 and a subspace of 64 were the fastest in the ``linalg.eigsh.top10``
benchmark. The subspace stays small also because a CPU LAPACK ``eigh`` of a larger
projected matrix starts OpenBLAS worker threads that then compete with the XLA products.
Vectors are columns here (a block is a contiguous slice); the matvec path of
``_lanczos.py`` keeps rows, where writing one vector of a row-major basis is contiguous.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from .. import _sharding

_HIGHEST = lax.Precision.HIGHEST

BLOCK = 4  # block size of the dense path (see the module docstring)
DEFAULT_NCV = 64  # default subspace dimension of the dense path


def block_sizes(n: int, k: int, ncv: int | None) -> tuple[int, int, int]:
    """``(b, m, p)``: block size, subspace dimension (a multiple of ``b``), Ritz vectors kept.

    ``ncv`` (validated by the caller to satisfy ``k < ncv <= n``) is rounded up to a
    multiple of the block size, and to at least one block beyond ``k``.
    """
    b = BLOCK
    m = max(DEFAULT_NCV, 2 * k + 2 * b) if ncv is None else ncv
    m = max(-(-m // b) * b, -(-k // b) * b + b)
    # Keep about half of the subspace beyond k; the rest, a whole number of blocks, is new.
    p = m - b * max(1, -(-(m - k) // (2 * b)))
    return b, m, max(p, k)


def _orthogonalise(basis: jax.Array, w: jax.Array) -> jax.Array:
    """Remove from the columns of ``w`` [n, b] their components in ``span(basis)`` [n, M].

    Two passes of block classical Gram–Schmidt; zero columns of ``basis`` are harmless.
    """
    for _ in range(2):
        w = w - jnp.dot(basis, jnp.dot(basis.T, w, precision=_HIGHEST), precision=_HIGHEST)
        w = _replicated_on_auto_mesh(w)
    return w


def _cholesky_qr(w: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``Q = W R⁻¹`` with ``R`` the Cholesky factor of ``WᵀW``; also ``diag(R)``.

    Non-finite when ``W`` is (numerically) rank deficient; the caller checks.
    """
    b = w.shape[1]
    gram = jnp.dot(w.T, w, precision=_HIGHEST)
    lower = jnp.linalg.cholesky(gram)
    eye = jnp.eye(b, dtype=w.dtype)
    inv = jax.scipy.linalg.solve_triangular(lower, eye, lower=True)
    return jnp.dot(w, inv.T, precision=_HIGHEST), jnp.diagonal(lower)


def _replicated_on_auto_mesh(x: jax.Array) -> jax.Array:
    """``x`` pinned replicated under an auto mesh (else unchanged).

    XLA's auto partitioner would otherwise shard small ``[n, b]`` blocks by rows and gather
    them back for LAPACK's QR, a gather of ``n`` rows per call.
    """
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or _sharding.replicated_if_explicit(x) is not None:
        return x
    return lax.with_sharding_constraint(x, jax.sharding.PartitionSpec())


def _next_block(basis: jax.Array, w: jax.Array, key: jax.Array) -> jax.Array:
    """An orthonormal block spanning ``w`` [n, b] minus its part in ``span(basis)``.

    Fast path: Gram–Schmidt against the basis, then Cholesky QR twice ("CholeskyQR2",
    orthonormal to rounding when the block is well conditioned). If the block lost rank
    (an invariant subspace was reached, or ``w`` has zero columns) or Cholesky QR was not
    accurate, Householder QR finds the deficient columns and they are replaced by
    pseudo-random directions orthogonal to everything before, so the basis keeps growing.
    The replacement is made in the block itself, not in its Q factor: a Q column of a
    deficient one points along rounding noise, and dropping it would also drop the other
    columns' components along that noise (a lost part of ``A V``: the Krylov space stops
    growing there, and the Ritz pairs stagnate).
    """
    n, b = w.shape
    dtype = w.dtype
    eps = float(jnp.finfo(dtype).eps)
    thresh = 100.0 * eps * jnp.linalg.norm(w, axis=0)
    r = _replicated_on_auto_mesh(_orthogonalise(basis, w))
    q1, d1 = _cholesky_qr(r)
    q2, _ = _cholesky_qr(q1)
    loss = jnp.max(jnp.abs(jnp.dot(q2.T, q2, precision=_HIGHEST) - jnp.eye(b, dtype=dtype)))
    # Cholesky of WᵀW cannot resolve a column whose new part is below about √eps of its
    # length (the Gram matrix squares the condition number): such a pivot is rounding
    # noise, and dividing by it would undo the orthogonality to the basis. Those blocks
    # take the Householder path.
    resolved = d1 > 32.0 * eps**0.5 * jnp.linalg.norm(r, axis=0)
    ok = (
        jnp.all(d1 > thresh)
        & jnp.all(resolved)
        & (loss < 10.0 * b * eps)
        & jnp.all(jnp.isfinite(q2))
    )

    def householder(_):
        q, rr = jnp.linalg.qr(r)
        deficient = ~(jnp.abs(jnp.diagonal(rr)) > thresh)
        fresh = jax.random.normal(key, (n, b), dtype)
        filled = _orthogonalise(basis, jnp.where(deficient[None, :], fresh, r))
        q = jnp.linalg.qr(_replicated_on_auto_mesh(filled))[0]
        return jnp.linalg.qr(_replicated_on_auto_mesh(_orthogonalise(basis, q)))[0]

    return lax.cond(ok, lambda _: q2, householder, None)


def ritz(h: jax.Array, select, p: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Rayleigh–Ritz on a projected matrix ``h`` [m, m] (symmetrised first).

    Returns all Ritz values (ascending), and the ``p`` most wanted values and their
    coordinate vectors ``[m, p]`` in ``select`` order. Shared by both eigsh loops.
    """
    theta, y = jnp.linalg.eigh(0.5 * (h + h.T))
    idx = select(theta)[:p]
    return theta, theta[idx], y[:, idx]


def thick_restart(
    extend, rayleigh_ritz, restart, basis, image, *, k: int, p: int, max_cycles: int
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """The Krylov–Schur outer loop shared by both eigsh paths (whatever their layout).

    Each cycle: ``extend(cycle, first, basis, image)`` grows the basis from position
    ``first`` (0 in the first cycle, ``p`` after a restart), ``rayleigh_ritz(basis,
    image)`` gives the ``p`` most wanted ``(θ, x, A x, converged)``, and ``restart(basis,
    x, ax)`` keeps them. Stops when the ``k`` most wanted have converged or after
    ``max_cycles``. Returns the last basis (the Ritz vectors first), ``θ``, the converged
    mask and the number of cycles.
    """

    def cond(state):
        cycle, done = state[0], state[1]
        return (~done) & (cycle < max_cycles)

    def body(state):
        cycle, _, basis, image, _, _ = state
        first = jnp.where(cycle == 0, 0, p)
        basis, image = extend(cycle, first, basis, image)
        theta_p, x, ax, ok = rayleigh_ritz(basis, image)
        basis, image = restart(basis, x, ax)
        return cycle + 1, jnp.all(ok[:k]), basis, image, theta_p, ok

    init = (
        jnp.asarray(0, jnp.int32),
        jnp.asarray(False),
        basis,
        image,
        jnp.zeros((p,), basis.dtype),
        jnp.zeros((p,), bool),
    )
    cycles, _, basis, _, theta_p, ok = lax.while_loop(cond, body, init)
    return basis, theta_p, ok, cycles


def block_product(a: jax.Array):
    """``Q -> A Q`` for the symmetric ``a`` [n, n], in the form that suits its placement.

    On one device ``a @ Q`` (XLA's fastest form on CPU, 3-4x faster than ``Aᵀ Q``). Under a
    mesh the rows of ``a`` may be sharded: then ``Aᵀ Q`` (equal, ``a`` being symmetric)
    contracts the sharded axis, which XLA computes as per-device partial products and one
    all-reduce of the ``[n, b]`` result (replicated on explicit meshes), so neither ``Q``
    nor ``A Q`` is gathered and the basis stays replicated.
    """
    replicated = _sharding.replicated_if_explicit(a)
    if replicated is not None:
        return lambda q: _sharding.contract("rc,rb->cb", a, q)
    if jax.sharding.get_abstract_mesh().empty:
        return lambda q: jnp.dot(a, q, precision=_HIGHEST)

    def on_auto_mesh(q):  # left alone, XLA reduce-scatters the product and gathers it back
        w = _sharding.contract("rc,rb->cb", a, q)
        return lax.with_sharding_constraint(w, jax.sharding.PartitionSpec())

    return on_auto_mesh


def _block_extend(a, key, b: int, m: int, cycle, first, basis, image):
    """Grow the basis block by block from column ``first`` to ``m``, storing ``A Q``."""
    product = block_product(a)

    def step(j, carry):
        basis, image = carry
        offset = first + j * b
        q = lax.dynamic_slice_in_dim(basis, offset, b, axis=1)
        w = product(q)
        image = lax.dynamic_update_slice_in_dim(image, w, offset, axis=1)
        basis, image = _replicated_on_auto_mesh(basis), _replicated_on_auto_mesh(image)
        q_next = _next_block(basis, w, jax.random.fold_in(key, 2 + cycle * (m + 1) + j))
        basis = lax.dynamic_update_slice_in_dim(basis, q_next, offset + b, axis=1)
        return basis, image

    return lax.fori_loop(0, (m - first) // b, step, (basis, image))


def _block_rayleigh_ritz(select, m: int, p: int, tol, basis, image):
    """The ``p`` most wanted Ritz pairs ``(θ, x, A x)`` (as columns) and which converged."""
    h = jnp.dot(basis[:, :m].T, image, precision=_HIGHEST)
    theta, theta_p, y_p = ritz(h, select, p)
    x = jnp.dot(basis[:, :m], y_p, precision=_HIGHEST)
    ax = jnp.dot(image, y_p, precision=_HIGHEST)
    res = jnp.linalg.norm(ax - theta_p[None, :] * x, axis=0)
    return theta_p, x, ax, res <= tol * jnp.max(jnp.abs(theta))


def _block_restart(m: int, p: int, b: int, basis, x, ax):
    """Krylov–Schur restart: keep the Ritz vectors, then the last block, then room for more.

    The last block is orthogonal to the kept Ritz vectors, and their residuals lie in its span.
    """
    last = basis[:, m:]
    n = basis.shape[0]
    basis = jnp.zeros_like(basis).at[:, :p].set(x).at[:, p : p + b].set(last)
    return basis, jnp.zeros((n, m), basis.dtype).at[:, :p].set(ax)


def block_krylov_schur(
    a: jax.Array,
    v0: jax.Array,
    *,
    k: int,
    select,
    block: int,
    m: int,
    p: int,
    max_cycles: int,
    tol,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Block thick-restart Lanczos on a dense symmetric ``a`` [n, n].

    ``select(theta)`` orders Ritz values from most to least wanted. The starting block is
    ``v0`` and ``block - 1`` fixed pseudo-random vectors (deterministic). Returns the ``k``
    most wanted Ritz values and vectors ``[n, k]`` (in ``select`` order), a converged
    mask (``||A x − θ x|| <= tol · max|θ|``) and the number of restart cycles.
    """
    n, dtype, b = a.shape[-1], a.dtype, block
    key = jax.random.key(0x5EED)
    start = jnp.concatenate([v0[:, None], jax.random.normal(key, (n, b - 1), dtype)], axis=1)
    basis = jnp.zeros((n, m + b), dtype)
    basis = basis.at[:, :b].set(_next_block(basis, start, jax.random.fold_in(key, 1)))
    basis, theta_p, ok, cycles = thick_restart(
        functools.partial(_block_extend, a, key, b, m),
        functools.partial(_block_rayleigh_ritz, select, m, p, tol),
        functools.partial(_block_restart, m, p, b),
        basis,
        jnp.zeros((n, m), dtype),
        k=k,
        p=p,
        max_cycles=max_cycles,
    )
    return theta_p[:k], basis[:, :k], ok[:k], cycles
