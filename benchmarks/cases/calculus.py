"""calculus cases: hvp vs forming the Hessian; Hessian spectra at 10^6 parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mlmath_jax import calculus

from ..harness import Case, Contender


def _lse_quartic(x):
    """logsumexp(x) + Σ x⁴/4: Hessian diag(p) - ppᵀ + diag(3x²), dense, known in closed form."""
    return jax.nn.logsumexp(x) + 0.25 * jnp.sum(x**4)


def _hvp_reference(x, v):
    x, v = np.asarray(x, np.float64), np.asarray(v, np.float64)
    p = np.exp(x - x.max())
    p /= p.sum()
    return p * v - p * (p @ v) + 3 * x**2 * v


def _vectors(n):
    def setup(rng):
        return (
            rng.standard_normal(n).astype(np.float32) * 0.5,
            rng.standard_normal(n).astype(np.float32),
        )

    return setup


def _hvp_cases(quick: bool) -> list[Case]:
    out = []
    for n in [1000] if quick else [1000, 3000, 10000]:
        params = {"n": n, "dtype": "float32", "hessian_bytes": 4 * n * n, "hvp_bytes": 4 * n}
        out.append(
            Case(
                "calculus.hvp",
                params,
                _vectors(n),
                [
                    Contender("mlmath_jax", lambda x, v: calculus.hvp(_lse_quartic, x, v)),
                    Contender(
                        "jax.hessian @ v",
                        lambda x, v: jnp.dot(
                            jax.hessian(_lse_quartic)(x), v, precision=jax.lax.Precision.HIGHEST
                        ),
                    ),
                ],
                reference=_hvp_reference,
                tol=1e-4,
            )
        )
    return out


# f(x) = ½ Σ d_i x_i² + c Σ log cosh x_i + ½ (uᵀx)²: Hessian diag(d + c sech² x) + uuᵀ, whose
# top eigenvalue solves the secular equation 1 = Σ u_i² / (λ - D_i) (a host reference).
_C = 0.5


def _separable_plus_rank_one(x, d, u):
    return 0.5 * jnp.sum(d * x**2) + _C * jnp.sum(jnp.log(jnp.cosh(x))) + 0.5 * jnp.dot(u, x) ** 2


def _big_setup(n):
    def setup(rng):
        x = rng.standard_normal(n).astype(np.float32)
        d = rng.uniform(0.0, 1.0, n).astype(np.float32)
        u = rng.standard_normal(n)
        u = (u * np.sqrt(3.0 / (u @ u))).astype(np.float32)  # ‖u‖² = 3: a separated top
        return x, d, u

    return setup


def _diag(x, d):
    x, d = np.asarray(x, np.float64), np.asarray(d, np.float64)
    return d + _C / np.cosh(x) ** 2


def _top_eig_reference(x, d, u):
    from scipy.optimize import brentq

    diag, u = _diag(x, d), np.asarray(u, np.float64)
    top = diag.max()
    secular = lambda lam: 1.0 - np.sum(u**2 / (lam - diag))  # noqa: E731
    return np.array([brentq(secular, top + 1e-12, top + u @ u + 1.0, xtol=1e-14)])


def _top_eig(x, d, u):
    # The data travel in args: one compiled program serves every call.
    result = calculus.hessian_eigsh(_separable_plus_rank_one, x, 1, (d, u), v0=jnp.ones_like(x))
    return result.eigenvalues


def _trace(x, d, u):
    est = calculus.hessian_trace(_separable_plus_rank_one, x, jax.random.key(0), 10, (d, u))
    return jnp.reshape(est.estimate, (1,))


def _trace_reference(x, d, u):
    return np.array([_diag(x, d).sum() + np.sum(np.asarray(u, np.float64) ** 2)])


_GRID = jnp.linspace(-0.5, 5.0, 221)


def _density(x, d, u):
    dens = calculus.hessian_spectral_density(
        _separable_plus_rank_one,
        x,
        jax.random.key(0),
        (d, u),
        num_probes=4,
        num_iters=40,
        grid=_GRID,
    )
    # compare the mean eigenvalue ∫ λ φ(λ) dλ with tr(H)/n
    return jnp.reshape(jnp.trapezoid(_GRID * dens, _GRID), (1,))


def _spectrum_cases(quick: bool) -> list[Case]:
    n = 10**6
    params = {"n": n, "dtype": "float32", "hessian_bytes_if_formed": 4 * n * n}
    return [
        Case(
            "calculus.hessian_top_eigenvalue",
            params,
            _big_setup(n),
            [Contender("mlmath_jax", _top_eig)],
            reference=_top_eig_reference,
            tol=1e-4,
            quick=False,
        ),
        Case(
            "calculus.hessian_trace",
            {**params, "num_samples": 10},
            _big_setup(n),
            [Contender("mlmath_jax", _trace)],
            reference=_trace_reference,
            tol=1e-3,
            quick=False,
        ),
        Case(
            "calculus.hessian_spectral_density",
            {**params, "num_probes": 4, "num_iters": 40, "grid": 221},
            _big_setup(n),
            [Contender("mlmath_jax", _density)],
            reference=lambda x, d, u: _trace_reference(x, d, u) / n,
            tol=2e-2,
            quick=False,
        ),
    ]


def cases(quick: bool) -> list[Case]:
    return _hvp_cases(quick) + ([] if quick else _spectrum_cases(quick))
