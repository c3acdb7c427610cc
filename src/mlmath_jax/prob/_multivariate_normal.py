"""The multivariate normal distribution, from a covariance, a Cholesky factor or a precision."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.linalg import solve_triangular
from jax.typing import ArrayLike

from .. import _validate
from ._distribution import Distribution, as_param, register

_HIGHEST = lax.Precision.HIGHEST  # TF32 would lose the small-eigenvalue directions on GPU
_LOG_2PI = math.log(2 * math.pi)


def _swap(a: jax.Array) -> jax.Array:
    return jnp.swapaxes(a, -1, -2)


def _diag(a: jax.Array) -> jax.Array:
    return jnp.diagonal(a, axis1=-2, axis2=-1)


def _eigh_cholesky(c: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Lower factor of a (numerically semi-definite) symmetric ``c`` via eigh and QR.

    ``c = Q diag(w) Q^T`` (eigenvalues floored at ``eps * max w``), ``B = Q diag(sqrt w)``,
    ``B^T = Q2 R`` so ``c = R^T R``: ``R^T`` (diagonal made positive) is a triangular factor
    computed by backward-stable steps even where Cholesky's pivots go negative. Clearly
    indefinite input (an eigenvalue below ``-n eps max w``) gives NaN. Also returns whether
    the floor was hit (an eigenvalue below ``eps * max w``: singular to working precision).
    """
    n = c.shape[-1]
    eps = jnp.finfo(c.dtype).eps
    w, q = jnp.linalg.eigh(c)
    top = jnp.max(jnp.abs(w), axis=-1, keepdims=True)
    indefinite = jnp.min(w, axis=-1) < -n * eps * top[..., 0]
    floored = jnp.min(w, axis=-1) < eps * top[..., 0]
    w = jnp.maximum(w, eps * top)
    b = q * jnp.sqrt(w)[..., None, :]
    r = jnp.linalg.qr(_swap(b), mode="r")
    sign = jnp.where(_diag(r) < 0, -1, 1).astype(c.dtype)
    low = _swap(r * sign[..., :, None])
    return jnp.where(indefinite[..., None, None], jnp.nan, low), floored


def robust_cholesky(a: jax.Array) -> jax.Array:
    """Lower Cholesky factor of symmetric positive (semi-)definite ``a``, robust in float32.

    Symmetrises, equilibrates by the diagonal (``D^-1/2 a D^-1/2`` has unit diagonal, which
    makes Cholesky's pivots scale-free), tries ``jnp.linalg.cholesky`` and, for batch
    members where it breaks down (NaN), falls back to :func:`_eigh_cholesky`; the choice is
    a ``lax.cond`` on the values, so the fallback costs nothing when it is not needed.
    Non-positive diagonal entries give NaN.
    """
    return _robust_cholesky(a)[0]


def _robust_cholesky(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """:func:`robust_cholesky` and, per batch member, whether ``a`` is numerically singular.

    Singular to working precision: a Cholesky pivot of the equilibrated matrix below
    ``eps`` (every pivot is at least its smallest eigenvalue and its largest is >= 1), or,
    where the eigh fallback ran, an eigenvalue below ``eps`` times the largest.
    """
    a = 0.5 * (a + _swap(a))
    diag = _diag(a)
    good_diag = jnp.all(diag > 0, axis=-1)
    scale = jnp.sqrt(jnp.where(diag > 0, diag, 1))
    c = a / (scale[..., :, None] * scale[..., None, :])
    low = jnp.linalg.cholesky(c)
    ok = jnp.all(jnp.isfinite(low), axis=(-2, -1))
    eps = jnp.finfo(a.dtype).eps
    tiny_pivot = jnp.min(jnp.square(_diag(low)), axis=-1) < eps

    def fallback():
        low_e, floored = _eigh_cholesky(c)
        return (
            jnp.where(ok[..., None, None], low, low_e),
            jnp.where(ok, tiny_pivot, floored),
        )

    low, singular = lax.cond(jnp.all(ok), lambda: (low, tiny_pivot), fallback)
    low = low * scale[..., :, None]
    return jnp.where(good_diag[..., None, None], low, jnp.nan), singular


def _fold_apply(
    op: Callable[[jax.Array, jax.Array], jax.Array], mat: jax.Array, v: jax.Array
) -> jax.Array:
    """Apply ``op(mat [T, d, d], V [T, d, m])`` to vectors ``v [..., d]``.

    Leading dimensions of ``v`` beyond ``mat``'s batch (sample dimensions) become columns of
    one matrix right-hand side, so ``mat`` is never broadcast over samples.
    """
    nb = mat.ndim - 2
    d = v.shape[-1]
    if v.ndim - 1 < nb:
        v = v.reshape((1,) * (nb - v.ndim + 1) + v.shape)
    lead = v.shape[: v.ndim - 1 - nb]
    t = tuple(jnp.broadcast_shapes(mat.shape[:-2], v.shape[v.ndim - 1 - nb : -1]))
    v = jnp.broadcast_to(v, lead + t + (d,))
    mat = jnp.broadcast_to(mat, t + (d, d))
    nl = len(lead)
    v = jnp.moveaxis(v, tuple(range(nl)), tuple(range(v.ndim - nl, v.ndim)))
    out = op(mat, v.reshape(t + (d, math.prod(lead))))
    out = out.reshape(t + (d,) + lead)
    return jnp.moveaxis(out, tuple(range(out.ndim - nl, out.ndim)), tuple(range(nl)))


def _matmul(a, b):
    return jnp.matmul(a, b, precision=_HIGHEST)


@register
@dataclasses.dataclass(frozen=True, eq=False, init=False)
class MultivariateNormal(Distribution):
    """Multivariate normal ``N(loc, Sigma)``, as ``scipy.stats.multivariate_normal``.

    Give exactly one of ``covariance`` (``Sigma``), ``scale_tril`` (lower ``L`` with
    ``Sigma = L L^T``) or ``precision`` (``Sigma^-1``). The distribution stores one
    triangular factor and never forms an inverse:

    * ``covariance``: ``scale_tril`` = a Cholesky factor computed robustly (symmetrised,
      diagonally equilibrated, eigh+QR fallback where float32 Cholesky breaks down);
      sampling is ``loc + L z``, ``log_prob`` a triangular solve.
    * ``precision``: ``P = Lp Lp^T`` (same robust Cholesky); sampling solves
      ``Lp^T x = z``, ``log_prob`` is ``||Lp^T (x - loc)||^2``, so an ill-conditioned
      precision is never inverted.

    This stays accurate (no NaN, sane sample covariance and ``log_prob``) at hundreds of
    dimensions with condition number 1e6 in float32.

    Args:
      loc: ``[..., d]`` mean.
      covariance: ``[..., d, d]`` symmetric positive-definite covariance.
      scale_tril: ``[..., d, d]`` lower-triangular factor with positive diagonal (the upper
        triangle is ignored).
      precision: ``[..., d, d]`` symmetric positive-definite inverse covariance.

    Attributes:
      loc: ``batch_shape + (d,)`` mean.
      scale_tril: lower factor of the covariance, or ``None`` when built from a precision.
      precision_tril: lower factor of the precision, or ``None``.

    Raises:
      ValueError: not exactly one matrix given; the matrix not ``[..., d, d]`` with ``d``
        matching ``loc``; batch shapes that do not broadcast; a concrete ``covariance`` or
        ``precision`` that is not symmetric (beyond ``sqrt(eps)`` of its largest entry;
        rounding-level asymmetry is averaged away); concrete matrices that are not
        positive definite, including singular ones (``ones((5, 5))``; the float64
        eigenvalue test of SciPy, an eigenvalue below ``1e6 * eps64`` times the largest), or
        a ``scale_tril`` with a non-positive diagonal. Under tracing no error can be
        raised: an indefinite matrix gives NaN
        (``jnp.linalg.cholesky`` semantics) and a singular one is regularised by the
        eigh fallback (eigenvalues floored at ``eps`` times the largest), so ``log_prob``
        is finite but meaningless (hugely negative off the support); validate traced
        covariances yourself where that matters.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from mlmath_jax.prob import MultivariateNormal
      >>> d = MultivariateNormal(jnp.zeros(2), jnp.array([[2.0, 1.0], [1.0, 2.0]]))
      >>> d.batch_shape, d.event_shape
      ((), (2,))
      >>> d.log_prob(jnp.array([1.0, -1.0]))
      Array(-3.3871832, dtype=float32)
      >>> d.variance()
      Array([2., 2.], dtype=float32)
      >>> d.sample(jax.random.key(0), (3,)).shape
      (3, 2)
    """

    loc: Any
    scale_tril: Any
    precision_tril: Any
    _params = ("loc",)
    _event_rank = 1

    def __init__(
        self,
        loc: ArrayLike,
        covariance: ArrayLike | None = None,
        *,
        scale_tril: ArrayLike | None = None,
        precision: ArrayLike | None = None,
    ) -> None:
        # User construction only: unflattening bypasses __init__ (see _distribution.register).
        given = {"covariance": covariance, "scale_tril": scale_tril, "precision": precision}
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) != 1:
            raise ValueError(
                "MultivariateNormal needs exactly one of covariance, scale_tril or precision, "
                f"got {sorted(given) or 'none'}"
            )
        ((name, mat),) = given.items()
        with jax.ensure_compile_time_eval():
            loc = _validate.vector(as_param(loc, "loc"), "loc")
            mat = _validate.matrix(as_param(mat, name), name)
            if mat.shape[-1] != mat.shape[-2]:
                raise ValueError(f"{name} must be square [..., d, d], got shape {mat.shape}")
            _validate.same_dim(
                loc.shape[-1], mat.shape[-1], ("loc", name), (loc.shape, mat.shape), "dimensions"
            )
            dtype = jnp.result_type(loc, mat)
            batch = _validate.batch_shape([loc.shape[:-1], mat.shape[:-2]], ["loc", name])
            triangular = name == "scale_tril"
            loc, factor, good, symmetric, maybe_singular = _canonical_mvn(
                loc.astype(dtype), mat.astype(dtype), batch, triangular
            )
            if _validate.is_concrete(good):
                if not triangular and not bool(symmetric):
                    raise ValueError(
                        f"{name} must be symmetric (|{name} - {name}^T| within sqrt(eps) of "
                        f"its largest entry), as scipy.stats.multivariate_normal"
                    )
                if not bool(good):
                    what = (
                        "lower triangular with a positive diagonal"
                        if triangular
                        else "symmetric positive definite"
                    )
                    raise ValueError(f"{name} must be {what}")
                if bool(maybe_singular) and _singular_as_scipy(mat):
                    raise ValueError(
                        f"{name} must be symmetric positive definite, got a singular matrix "
                        "(an eigenvalue below 1e6 * eps * the largest in float64, where "
                        "scipy.stats.multivariate_normal raises 'singular matrix')"
                    )
        cov_side = name != "precision"
        object.__setattr__(self, "loc", loc)
        object.__setattr__(self, "scale_tril", factor if cov_side else None)
        object.__setattr__(self, "precision_tril", None if cov_side else factor)

    @property
    def _factor(self) -> jax.Array:
        return self.scale_tril if self.scale_tril is not None else self.precision_tril

    @property
    def dim(self) -> int:
        """``d``, the event dimension."""
        return self.loc.shape[-1]

    def _valid(self):
        f = self._factor
        ok = jnp.all(jnp.isfinite(f), axis=(-2, -1)) & jnp.all(_diag(f) > 0, axis=-1)
        return jnp.broadcast_to(ok, self.batch_shape)

    def _half_logdet(self) -> jax.Array:
        """``log det(Sigma) / 2``."""
        s = jnp.sum(jnp.log(_diag(self._factor)), axis=-1)
        return s if self.scale_tril is not None else -s

    def _sample(self, key, shape):
        z = jax.random.normal(key, shape + (self.dim,), self.dtype)
        if self.scale_tril is not None:
            return self.loc + _fold_apply(_matmul, self.scale_tril, z)
        solve = lambda lp, v: solve_triangular(lp, v, lower=True, trans="T")  # noqa: E731
        return self.loc + _fold_apply(solve, self.precision_tril, z)

    def _log_prob(self, x):
        diff = x - self.loc
        if self.scale_tril is not None:
            solve = lambda low, v: solve_triangular(low, v, lower=True)  # noqa: E731
            z = _fold_apply(solve, self.scale_tril, diff)
        else:
            z = _fold_apply(lambda lp, v: _matmul(_swap(lp), v), self.precision_tril, diff)
        maha = jnp.sum(z * z, axis=-1)
        return -0.5 * maha - self._half_logdet() - 0.5 * self.dim * _LOG_2PI

    def _inverse_precision_factor(self) -> jax.Array:
        """``X = Lp^-1`` so that ``Sigma = X^T X``."""
        lp = self.precision_tril
        eye = jnp.broadcast_to(jnp.eye(self.dim, dtype=lp.dtype), lp.shape)
        return solve_triangular(lp, eye, lower=True)

    def _mean(self):
        return self.loc

    def _variance(self):
        if self.scale_tril is not None:
            var = jnp.sum(jnp.square(self.scale_tril), axis=-1)
        else:
            var = jnp.sum(jnp.square(self._inverse_precision_factor()), axis=-2)
        return jnp.broadcast_to(var, self.loc.shape)

    def _entropy(self):
        return 0.5 * self.dim * (1 + _LOG_2PI) + self._half_logdet()

    def covariance(self) -> jax.Array:
        """Covariance matrix ``Sigma``, ``batch_shape + (d, d)`` (SciPy's ``cov``).

        Examples:
          >>> import jax.numpy as jnp
          >>> from mlmath_jax.prob import MultivariateNormal
          >>> d = MultivariateNormal(jnp.zeros(2), precision=jnp.array([[4.0, 0.0], [0.0, 16.0]]))
          >>> d.covariance()
          Array([[0.25  , 0.    ],
                 [0.    , 0.0625]], dtype=float32)
        """
        return _jit_covariance(self)

    def _covariance(self) -> jax.Array:
        if self.scale_tril is not None:
            low = self.scale_tril
            cov = _matmul(low, _swap(low))
        else:
            x = self._inverse_precision_factor()
            cov = _matmul(_swap(x), x)
        cov = jnp.broadcast_to(cov, self.batch_shape + (self.dim, self.dim))
        valid = self._valid()[..., None, None]
        return jnp.where(valid, cov, jnp.nan)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _canonical_mvn(
    loc: jax.Array, mat: jax.Array, batch: tuple[int, ...], triangular: bool
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """Broadcast ``loc``, factor the matrix and check it, as one compiled program.

    Returns ``loc``, the lower factor, whether the factor is finite with a positive
    diagonal, whether ``mat`` is symmetric within ``sqrt(eps)`` of its largest entry, and
    whether some batch member is singular to working precision (see ``_robust_cholesky``).
    """
    loc = jnp.broadcast_to(loc, batch + loc.shape[-1:])
    if triangular:
        factor, singular = jnp.tril(mat), jnp.bool_(False)
    else:
        factor, singular = _robust_cholesky(mat)
    good = jnp.all(jnp.isfinite(factor)) & jnp.all(_diag(factor) > 0)
    tol = jnp.sqrt(jnp.finfo(mat.dtype).eps) * jnp.max(jnp.abs(mat), axis=(-2, -1))
    asym = jnp.max(jnp.abs(mat - _swap(mat)), axis=(-2, -1))
    # NaN is left to the factor check
    return loc, factor, good, ~jnp.any(asym > tol), jnp.any(singular)


def _singular_as_scipy(mat: jax.Array) -> bool:
    """SciPy's test (``_PSD``): an eigenvalue of the float64 matrix below ``1e6 eps max|w|``.

    Run on the host, and only for a concrete matrix that the compiled check flagged as
    singular to its own working precision: float32 matrices of condition up to ~1e8 (an RBF
    kernel) are accepted, as SciPy (which works in float64) accepts them.
    """
    m = np.asarray(mat, np.float64)
    w = np.linalg.eigvalsh(0.5 * (m + np.swapaxes(m, -1, -2)))
    eps = 1e6 * np.finfo(np.float64).eps * np.max(np.abs(w), axis=-1)
    return bool(np.any(np.min(w, axis=-1) < eps))


@jax.jit
def _jit_covariance(dist: MultivariateNormal) -> jax.Array:
    return dist._covariance()
