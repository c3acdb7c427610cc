"""Implicit differentiation of a solver's output through its optimality condition.

A solver returns ``x*(θ)`` with ``F(x*, θ) = 0``. By the implicit function theorem
``∂x*/∂θ = -(∂F/∂x)⁻¹ ∂F/∂θ``: a derivative costs one linear solve with ``∂F/∂x`` at the
solution, matrix-free (conjugate gradients when ``∂F/∂x`` is symmetric, as a Hessian is;
restarted GMRES otherwise), and one product with ``∂F/∂θ``, never a pass back through the
solver's loop (Griewank & Walther, *Evaluating Derivatives*, ch. 15; Blondel et al. 2022,
"Efficient and modular implicit differentiation", the method behind JAXopt and
``jax.lax.custom_root``).

The rule is a ``jax.custom_jvp``: forward mode is one linear solve per tangent, and reverse
mode (``jax.grad``) is its transpose, one solve with ``(∂F/∂x)ᵀ`` (the Krylov solves go
through ``jax.lax.custom_linear_solve``, so they transpose without unrolling).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

# GMRES restarts after this many Krylov vectors (memory ``restart · n``).
_GMRES_RESTART = 30
# Default cap on Krylov iterations of the backward solve: ``min(10 n, this)``.
_DEFAULT_MAX_STEPS = 1000


class ImplicitOptions(NamedTuple):
    """Static options of the backward (tangent) linear solve.

    Attributes:
      symmetric: ``∂F/∂x`` is symmetric (a Hessian): conjugate gradients; else GMRES.
      max_steps: cap on Krylov iterations, or None for ``min(10 n, 1000)``.
      dense: form ``∂F/∂x`` (``n`` JVPs in one batch) and solve it by LU instead: for
        small ``n``, where the forward pass (Newton's dense solver) forms it too.
    """

    symmetric: bool
    max_steps: int | None = None
    dense: bool = False


def default_tol(dtype: Any) -> float:
    """Relative residual of the backward solve: ``eps^(2/3)`` (float32 ~2e-5, float64 ~4e-11)."""
    return float(np.finfo(dtype).eps ** (2.0 / 3.0))


def _krylov(matvec: Callable, b: jax.Array, options: ImplicitOptions) -> jax.Array:
    """Approximate ``A⁻¹ b`` by CG or restarted GMRES (or a dense LU) on the flat ``[n]`` ``b``.

    Non-finite ``b`` gives NaN (the Krylov loops would stop at once and return 0).
    """
    n = b.size
    max_steps = options.max_steps or max(1, min(10 * n, _DEFAULT_MAX_STEPS))
    tol = default_tol(b.dtype)
    if options.dense:
        a = jax.vmap(matvec, out_axes=1)(jnp.eye(n, dtype=b.dtype))
        x = jnp.linalg.solve(a, b)
    elif options.symmetric:
        x, _ = jax.scipy.sparse.linalg.cg(matvec, b, tol=tol, atol=0.0, maxiter=max_steps)
    else:
        restart = max(1, min(n, _GMRES_RESTART, max_steps))
        x, _ = jax.scipy.sparse.linalg.gmres(
            matvec,
            b,
            tol=tol,
            atol=0.0,
            restart=restart,
            maxiter=-(-max_steps // restart),
            solve_method="incremental",
        )
    return jnp.where(jnp.all(jnp.isfinite(b)), x, jnp.nan)


def linear_solve(matvec: Callable, b: jax.Array, options: ImplicitOptions) -> jax.Array:
    """``A⁻¹ b`` for the linear ``matvec`` ``v ↦ A v`` on ``[n]``, transposable.

    ``jax.lax.custom_linear_solve`` gives the transpose (``A⁻ᵀ``, reverse mode) by the
    same Krylov method on the transposed operator.
    """

    def solve(mv: Callable, rhs: jax.Array) -> jax.Array:
        return _krylov(mv, rhs, options)

    return jax.lax.custom_linear_solve(
        matvec, b, solve=solve, transpose_solve=solve, symmetric=options.symmetric
    )


def _zero_tangent(leaf: Any) -> Any:
    leaf = jnp.asarray(leaf)
    if jnp.issubdtype(leaf.dtype, jnp.inexact):
        return jnp.zeros_like(leaf)
    return np.zeros(leaf.shape, jax.dtypes.float0)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2))
def _solution(solve: Callable, condition: Callable, options: ImplicitOptions, theta, data):
    return solve(theta, data)


@_solution.defjvp
def _solution_jvp(solve, condition, options, primals, tangents):
    theta, data = primals
    theta_dot = tangents[0]  # ``data`` (starting point, tolerances) gets no derivative
    x, aux = solve(theta, data)
    x_flat, unravel = ravel_pytree(x)

    def f_theta(th):
        return ravel_pytree(condition(x, aux, th, data))[0]

    def f_x(z):
        return ravel_pytree(condition(unravel(z), aux, theta, data))[0]

    rhs = jax.jvp(f_theta, (theta,), (theta_dot,))[1]
    residual, jac_x = jax.linearize(f_x, x_flat)
    x_dot_flat = -linear_solve(jac_x, rhs.astype(x_flat.dtype), options)
    # A non-finite condition at x (NaN data, stopped at once) is no solution: NaN derivative.
    # (A product, not a select: it transposes to a NaN cotangent in reverse mode too.)
    x_dot_flat = x_dot_flat * jnp.where(jnp.all(jnp.isfinite(residual)), 1.0, jnp.nan).astype(
        x_dot_flat.dtype
    )
    x_dot = unravel(x_dot_flat)
    x_dot = jax.tree.map(lambda t, p: t.astype(jnp.asarray(p).dtype), x_dot, x)
    return (x, aux), (x_dot, jax.tree.map(_zero_tangent, aux))


def stationarity(fun: Callable[..., jax.Array]) -> Callable:
    """The condition ``F(x, θ) = ∇ₓ fun(x, *θ)`` of a smooth minimiser (``∂F/∂x`` the Hessian)."""

    def condition(x: Any, aux: Any, args: tuple, data: Any) -> Any:
        return jax.grad(fun)(x, *args)

    return condition


def implicit_solution(
    solve: Callable[[Any, Any], tuple[Any, Any]],
    condition: Callable[[Any, Any, Any, Any], Any],
    theta: Any,
    data: Any,
    options: ImplicitOptions,
) -> tuple[Any, Any]:
    """``x, aux = solve(theta, data)``, with derivatives of ``x`` by the implicit function theorem.

    Args:
      solve: ``(theta, data) -> (x, aux)``: runs the solver (its loop is never
        differentiated). ``x`` is an array or pytree of inexact arrays; ``aux`` (step
        counts, flags, the final step size) gets zero derivatives.
      condition: ``(x, aux, theta, data) -> F``, with ``F``'s structure that of ``x`` and
        ``F(x*, aux, theta, data) = 0`` at the solver's answer; ``aux`` and ``data`` enter
        as constants.
      theta: pytree of the differentiable inputs (a solver's ``args``, hyperparameters).
      data: pytree of inputs without derivatives (starting point, tolerances): their
        derivative is zero.
      options: :class:`ImplicitOptions` (static).

    Returns:
      ``(x, aux)``. ``jax.jvp`` costs one linear solve with ``∂F/∂x`` per tangent;
      ``jax.grad`` one solve with ``(∂F/∂x)ᵀ`` and one VJP of ``F`` in ``theta``. The
      derivative is that of the exact solution: it is as accurate as the solver's answer
      satisfies ``F = 0``.
    """
    return _solution(solve, condition, options, theta, data)
