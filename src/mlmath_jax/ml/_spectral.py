"""Spectral clustering (Ng–Jordan–Weiss) with a seeded, restarted k-means, all in JAX."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _validate, linalg
from ._data import HI, real, scalar

_KMEANS_MAX_ITERS = 300
# Status codes of a degenerate input (0: none).
_NONFINITE, _ISOLATED, _IDENTICAL = 1, 2, 3
_MESSAGES = {
    _NONFINITE: "X must be finite (it holds NaN or inf)",
    _ISOLATED: "the RBF affinity exp(-gamma ||x - y||^2) underflows to 0 for some points "
    "(isolated: no neighbours at this gamma); use a smaller gamma or rescale X",
    _IDENTICAL: "all points of X are identical: they cannot be split into n_clusters > 1",
}
# linalg.eigsh on a matrix multiplies blocks of 4 vectors, so it sees up to 4 copies of a
# repeated eigenvalue at once (its docstring): the largest cluster count it is used for.
_EIGSH_BLOCK = 4


def _sq_distances(x: jax.Array, y: jax.Array) -> jax.Array:
    """``[n, m]`` squared Euclidean distances between rows, clamped at 0."""
    xx = jnp.sum(x * x, axis=-1)[:, None]
    yy = jnp.sum(y * y, axis=-1)[None, :]
    return jnp.maximum(xx + yy - 2 * jnp.matmul(x, y.T, precision=HI), 0)


def _kmeans_plus_plus(key: jax.Array, y: jax.Array, k: int) -> jax.Array:
    """k-means++ seeding: each new centre drawn with probability ∝ D(x)²."""
    n = y.shape[0]
    keys = jax.random.split(key, k)
    first = jax.random.randint(keys[0], (), 0, n)
    centres = jnp.zeros((k, y.shape[1]), y.dtype).at[0].set(y[first])
    nearest = jnp.sum((y - y[first]) ** 2, axis=-1)

    def body(j, carry):
        centres, nearest = carry
        total = jnp.sum(nearest)
        # All points already on a centre (fewer distinct points than k): draw uniformly.
        logits = jnp.where(total > 0, jnp.log(nearest), 0.0)
        idx = jax.random.categorical(keys[j], logits)
        centres = centres.at[j].set(y[idx])
        nearest = jnp.minimum(nearest, jnp.sum((y - y[idx]) ** 2, axis=-1))
        return centres, nearest

    centres, _ = lax.fori_loop(1, k, body, (centres, nearest))
    return centres


def _lloyd(y: jax.Array, centres: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Lloyd iterations until the labels stop changing; returns (labels, inertia)."""
    k = centres.shape[0]

    def assign(centres):
        dist = _sq_distances(y, centres)
        labels = jnp.argmin(dist, axis=-1).astype(jnp.int32)
        return labels, jnp.sum(jnp.min(dist, axis=-1))

    def update(labels, centres):
        onehot = jax.nn.one_hot(labels, k, dtype=y.dtype)
        counts = jnp.sum(onehot, axis=0)
        sums = jnp.matmul(onehot.T, y, precision=HI)
        # An empty cluster keeps its centre.
        return jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1)[:, None], centres)

    def cond(state):
        i, _, _, changed = state
        return changed & (i < _KMEANS_MAX_ITERS)

    def body(state):
        i, centres, labels, _ = state
        centres = update(labels, centres)
        new_labels, _ = assign(centres)
        return i + 1, centres, new_labels, jnp.any(new_labels != labels)

    labels, _ = assign(centres)
    _, centres, labels, _ = lax.while_loop(cond, body, (0, centres, labels, jnp.array(True)))
    labels, inertia = assign(centres)
    return labels, inertia


def _kmeans(key: jax.Array, y: jax.Array, k: int, n_init: int) -> jax.Array:
    """Best of ``n_init`` seeded k-means runs (lowest inertia), as scikit-learn's KMeans."""

    def run(key):
        return _lloyd(y, _kmeans_plus_plus(key, y, k))

    labels, inertia = jax.vmap(run)(jax.random.split(key, n_init))
    return labels[jnp.argmin(inertia)]


def _top_eigenvectors(m: jax.Array, start: jax.Array, k: int) -> jax.Array:
    """The ``k`` top eigenvectors ``[n, k]`` of the normalised affinity ``m``.

    With ``k`` well-separated clusters the top ``k`` eigenvalues are all nearly 1, and a
    single-vector Krylov method can miss some of them. The block method of
    :func:`linalg.eigsh` on a matrix sees up to a block's worth of such copies at once, so
    it is used for ``k`` up to the block size; beyond that, or if it did not converge, a
    dense :func:`linalg.eigh`. ``start`` is ``D^(1/2) 1``, the exact eigenvector for
    eigenvalue 1.
    """
    n = m.shape[0]

    def dense(_):
        return linalg.eigh(m).eigenvectors[:, n - k :]

    if k > _EIGSH_BLOCK:
        return dense(None)
    res = linalg.eigsh(m, k, v0=start, which="LA")
    return lax.cond(jnp.all(res.converged), lambda _: res.eigenvectors, dense, None)


@functools.partial(jax.jit, static_argnames=("n_clusters", "n_init"))
def _spectral(X, key, gamma, *, n_clusters: int, n_init: int) -> tuple[jax.Array, jax.Array]:
    n = X.shape[0]
    affinity = jnp.exp(-gamma * _sq_distances(X, X))
    affinity = affinity * (1 - jnp.eye(n, dtype=X.dtype))  # no self-loops
    degree = jnp.sum(affinity, axis=-1)
    inv_sqrt = jnp.where(degree > 0, lax.rsqrt(jnp.where(degree > 0, degree, 1)), 0)
    # The k smallest eigenvectors of L = I − D^(−1/2) W D^(−1/2) are the k largest of
    # D^(−1/2) W D^(−1/2).
    m = inv_sqrt[:, None] * affinity * inv_sqrt[None, :]
    u = _top_eigenvectors(m, jnp.sqrt(degree), n_clusters)
    norm = jnp.linalg.norm(u, axis=-1, keepdims=True)
    u = u / jnp.where(norm > 0, norm, 1)  # Ng–Jordan–Weiss: rows onto the unit sphere
    labels = _kmeans(key, u, n_clusters, n_init)
    # Degenerate input gets a documented answer, never arbitrary labels (see the docstring).
    finite = jnp.all(jnp.isfinite(X))
    isolated = degree <= jnp.finfo(X.dtype).tiny
    identical = (n_clusters > 1) & (jnp.max(_sq_distances(X, X[:1])) == 0)
    labels = jnp.where(isolated, -1, labels)
    labels = jnp.where(identical, 0, labels)
    labels = jnp.where(finite, labels, -1)
    status = jnp.where(
        ~finite,
        _NONFINITE,
        jnp.where(identical, _IDENTICAL, jnp.where(jnp.any(isolated), _ISOLATED, 0)),
    )
    return labels, status


def spectral_clustering(
    X: ArrayLike,
    n_clusters: int,
    *,
    key: jax.Array,
    gamma: float = 1.0,
    n_init: int = 10,
) -> jax.Array:
    r"""Cluster points by spectral clustering (as ``sklearn.cluster.SpectralClustering``).

    Ng–Jordan–Weiss: RBF affinity $W_{ij} = \exp(-\gamma \|x_i - x_j\|^2)$ (no self-loops,
    $\gamma$ = ``gamma``), symmetric normalised Laplacian $I - D^{-1/2} W D^{-1/2}$ ($D$ the
    diagonal of degrees), its ``n_clusters`` smallest eigenvectors (:func:`linalg.eigsh`'s
    block Krylov method for up to 4 clusters, dense :func:`linalg.eigh` for more; $O(n^2)$
    memory for the affinity matrix), rows normalised to unit length, then k-means with
    k-means++ seeding, ``n_init`` seeded restarts keeping the lowest inertia. Labels are a
    permutation-free partition: compare them with the adjusted Rand index, not entrywise.

    Args:
      X: ``[n, d]`` points, one a row.
      n_clusters: number of clusters ``k``, ``1 <= k <= n`` (static).
      key: a ``jax.random.key`` for the k-means seeding.
      gamma: RBF kernel coefficient, ``> 0``.
      n_init: number of k-means restarts (static), ``>= 1``.

    Degenerate input. Concrete input raises (below); under ``jit`` the labels say it:
    NaN or inf in ``X`` gives ``-1`` for every point; a point whose affinity to every
    other underflows to 0 (isolated at this ``gamma``) gets ``-1``; identical points
    (all of ``X`` one point) are one cluster, label 0. scikit-learn warns and returns
    arbitrary labels in the last two cases.

    Returns:
      ``[n]`` int32 labels in $\{0, \dots, k - 1\}$ (``-1`` as above).

    Raises:
      ValueError: if ``X`` is not ``[n, d]``, ``n_clusters``/``n_init`` are out of range
        or a concrete ``gamma`` is not positive; for concrete ``X`` holding NaN/inf, with
        an isolated point, or with all points identical (``n_clusters > 1``).

    References:
      A. Y. Ng, M. I. Jordan and Y. Weiss, "On spectral clustering: analysis and an
      algorithm", Advances in Neural Information Processing Systems 14 (NeurIPS), 2002.

      U. von Luxburg, "A tutorial on spectral clustering", Statistics and Computing 17(4),
      pp. 395-416, 2007.

      D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful seeding", Proc.
      18th ACM-SIAM Symposium on Discrete Algorithms (SODA), pp. 1027-1035, 2007.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from mlmath_jax import ml
      >>> X = jnp.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
      >>> labels = ml.spectral_clustering(X, 2, key=jax.random.key(0))
      >>> print(labels[0] == labels[1], labels[0] == labels[2])
      True False
    """
    X = real(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be a [n, d] matrix, got shape {X.shape}")
    n = X.shape[0]
    k = _validate.static_int(n_clusters, "n_clusters", minimum=1)
    if k > n:
        raise ValueError(f"n_clusters must be <= n_samples = {n}, got {k}")
    n_init = _validate.static_int(n_init, "n_init", minimum=1)
    _validate.positive(gamma, "gamma")
    _validate.prng_key(key, "key")
    labels, status = _spectral(X, key, scalar(gamma, "gamma", X.dtype), n_clusters=k, n_init=n_init)
    if _validate.is_concrete(status) and int(status):
        raise ValueError(f"spectral_clustering: {_MESSAGES[int(status)]}")
    return labels
