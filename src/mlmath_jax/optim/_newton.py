"""Damped Newton's method with a backtracking (Armijo) line search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .. import _validate
from ._minimize import OptResult, check_fun, check_tol, inexact_tree, scalar_value

# Above this many parameters the "auto" solver switches from a dense Hessian (n² memory,
# n³ work) to conjugate gradients on Hessian-vector products (memory linear in n).
DENSE_MAX_PARAMS = 2000
_ARMIJO_C = 1e-4
_MAX_HALVINGS = 40


def _dense_direction(f: Callable, x: jax.Array, g: jax.Array, _: int) -> jax.Array:
    h = jax.hessian(f)(x)
    h = 0.5 * (h + h.T)
    chol = jnp.linalg.cholesky(h)
    return -jax.scipy.linalg.cho_solve((chol, True), g)


def _cg_direction(f: Callable, x: jax.Array, g: jax.Array, max_iters: int) -> jax.Array:
    """Truncated CG on ``H d = -g`` (Steihaug: stops at negative curvature).

    The forcing tolerance ``min(0.5, |g|) |g|`` keeps Newton's quadratic convergence.
    """
    grad_f = jax.grad(f)

    def matvec(v):
        return jax.jvp(grad_f, (x,), (v,))[1]

    gnorm = jnp.linalg.norm(g)
    target = jnp.minimum(0.5, gnorm) * gnorm
    tiny = jnp.finfo(g.dtype).tiny

    def cond(carry):
        _, r, _, i, done = carry
        return (i < max_iters) & ~done & (jnp.linalg.norm(r) > target)

    def body(carry):
        d, r, p, i, _ = carry
        hp = matvec(p)
        curv = jnp.vdot(p, hp)
        rr = jnp.vdot(r, r)
        negative = curv <= tiny * jnp.maximum(jnp.vdot(p, p), tiny)
        alpha = rr / jnp.where(negative, 1.0, curv)
        d_new = d + alpha * p
        r_new = r - alpha * hp
        p_new = r_new + (jnp.vdot(r_new, r_new) / jnp.maximum(rr, tiny)) * p
        keep = lambda old, new: jnp.where(negative, old, new)  # noqa: E731
        return keep(d, d_new), keep(r, r_new), keep(p, p_new), i + 1, negative

    init = (jnp.zeros_like(g), -g, -g, jnp.asarray(0, jnp.int32), jnp.asarray(False))
    d, *_ = jax.lax.while_loop(cond, body, init)
    return d


def newton(
    fun: Callable[[Any], jax.Array],
    x0: Any,
    *,
    max_steps: int = 50,
    tol: float = 1e-8,
    solver: str = "auto",
    max_cg_iters: int | None = None,
) -> OptResult:
    """Minimise ``fun`` by damped Newton steps with a backtracking line search.

    Each step solves ``H d = -g`` for the Newton direction, either with the dense Hessian
    (``jax.hessian`` and a Cholesky factorisation) or with truncated conjugate gradients on
    Hessian-vector products (forward-over-reverse, never forming ``H``; forcing tolerance
    ``min(0.5, |g|)``, so convergence stays quadratic). Where the Hessian is not positive
    definite, or the direction is not a descent direction, the step falls back to the
    steepest-descent direction ``-g``. The step length ``t`` starts at 1 and halves until
    Armijo's condition ``f(x + t d) <= f(x) + 1e-4 t gᵀd`` holds (with a slack of one
    rounding unit of ``|f(x)|``, so steps at the precision's floor are not refused). Close
    to a minimum with a positive-definite Hessian the full step is taken and convergence is
    quadratic. The whole loop is one ``lax.while_loop``; works under ``jit`` and ``vmap``.
    ``scipy.optimize.minimize(method="Newton-CG")`` is the nearest SciPy equivalent.

    Args:
      fun: ``x -> scalar``, twice differentiable.
      x0: starting point, an array or pytree (flattened with
        ``jax.flatten_util.ravel_pytree`` internally).
      max_steps: largest number of Newton steps (static, >= 0).
      tol: absolute tolerance on the gradient's 2-norm (in float32, ask for what the
        precision can reach, e.g. ``1e-4`` for ``|fun|`` near 1).
      solver: ``"dense"``, ``"cg"`` or ``"auto"`` (dense up to 2000 parameters); static.
      max_cg_iters: CG iterations per step (static); default ``min(n, 200)``.

    Returns:
      :class:`OptResult`; ``converged`` is ``grad_norm <= tol``.

    Raises:
      TypeError: if ``fun`` is not callable.
      ValueError: if ``fun`` does not return a scalar, ``solver`` is unknown, or
        ``max_steps``/``tol``/``max_cg_iters`` are out of range.

    Example:
      >>> fun = lambda x: jnp.sum(jnp.exp(x) - 2.0 * x)
      >>> res = optim.newton(fun, jnp.zeros(2), tol=1e-5)
      >>> print(res.x, res.converged)
      [0.693 0.693] True
    """
    check_fun(fun, "fun")
    max_steps = _validate.static_int(max_steps, "max_steps", minimum=0)
    check_tol(tol)
    _validate.one_of(solver, ("auto", "dense", "cg"), "solver")
    x0 = inexact_tree(x0, "x0")
    scalar_value(fun, x0, "fun")
    x_flat, unravel = ravel_pytree(x0)
    n = x_flat.size
    if max_cg_iters is None:
        max_cg_iters = min(n, 200)
    max_cg_iters = _validate.static_int(max_cg_iters, "max_cg_iters", minimum=1)
    if solver == "auto":
        solver = "dense" if n <= DENSE_MAX_PARAMS else "cg"
    direction = _dense_direction if solver == "dense" else _cg_direction

    def f(z):
        return fun(unravel(z)).astype(x_flat.dtype)

    def run(x_flat):
        value_and_grad = jax.value_and_grad(f)
        eps = jnp.finfo(x_flat.dtype).eps
        value0, grad0 = value_and_grad(x_flat)
        gtol = jnp.asarray(tol, x_flat.dtype)

        def cond(carry):
            _, value, grad, step, stalled = carry
            return (step < max_steps) & (jnp.linalg.norm(grad) > gtol) & ~stalled

        def body(carry):
            x, value, grad, step, _ = carry
            d = direction(f, x, grad, max_cg_iters)
            slope = jnp.vdot(grad, d)
            descent = jnp.all(jnp.isfinite(d)) & (slope < 0)
            d = jnp.where(descent, d, -grad)
            slope = jnp.where(descent, slope, -jnp.vdot(grad, grad))
            slack = eps * jnp.abs(value)

            def ls_cond(c):
                t, f_new, k = c
                ok = f_new <= value + _ARMIJO_C * t * slope + slack
                return ~ok & (k < _MAX_HALVINGS)

            def ls_body(c):
                t, _, k = c
                t = 0.5 * t
                return t, f(x + t * d), k + 1

            one = jnp.asarray(1.0, x.dtype)
            t, f_new, k = jax.lax.while_loop(ls_cond, ls_body, (one, f(x + d), 0))
            accepted = f_new <= value + _ARMIJO_C * t * slope + slack
            x_new = jnp.where(accepted, x + t * d, x)
            value_new, grad_new = value_and_grad(x_new)
            return x_new, value_new, grad_new, step + 1, ~accepted

        init = (x_flat, value0, grad0, jnp.asarray(0, jnp.int32), jnp.asarray(False))
        x, value, grad, step, _ = jax.lax.while_loop(cond, body, init)
        grad_norm = jnp.linalg.norm(grad)
        return OptResult(unravel(x), value, grad_norm, step, grad_norm <= gtol)

    # One compiled program: tracing op by op outside jit costs more than compiling.
    return jax.jit(run)(x_flat)
