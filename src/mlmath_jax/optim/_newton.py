"""Damped Newton's method with a backtracking (Armijo) line search."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from .. import _linesearch, _trees, _validate
from .._implicit import ImplicitOptions, implicit_solution, stationarity
from ._result import OptResult, check_implicit_max_steps, check_tol, static_callable

# Above this many parameters the "auto" solver switches from a dense Hessian (n² memory,
# n³ work) to conjugate gradients on Hessian-vector products (memory linear in n).
DENSE_MAX_PARAMS = 2000
_MAX_HALVINGS = 40


class NewtonState(NamedTuple):
    """Loop state of :func:`newton` on the flattened parameters."""

    x: jax.Array
    value: jax.Array
    grad: jax.Array
    num_steps: jax.Array
    stalled: jax.Array


def dense_direction(f: Callable, x: jax.Array, g: jax.Array, args: tuple, _: int) -> jax.Array:
    """``-H⁻¹ g`` from the dense Hessian of ``f(·, *args)`` (Cholesky; NaN if not PD)."""
    h = jax.hessian(f)(x, *args)
    h = 0.5 * (h + h.T)
    chol = jnp.linalg.cholesky(h)
    return -jax.scipy.linalg.cho_solve((chol, True), g)


def cg_direction(
    f: Callable, x: jax.Array, g: jax.Array, args: tuple, max_cg_steps: int
) -> jax.Array:
    """Truncated CG on ``H d = -g`` (Steihaug: stops at negative curvature).

    The forcing tolerance ``min(0.5, |g|) |g|`` keeps Newton's quadratic convergence.
    """

    def grad_f(z):
        return jax.grad(f)(z, *args)

    def matvec(v):
        return jax.jvp(grad_f, (x,), (v,))[1]

    gnorm = jnp.linalg.norm(g)
    target = jnp.minimum(0.5, gnorm) * gnorm
    tiny = jnp.finfo(g.dtype).tiny

    def cond(carry):
        _, r, _, i, done = carry
        return (i < max_cg_steps) & ~done & (jnp.linalg.norm(r) > target)

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


def newton_init(f: Callable, x: jax.Array, args: tuple) -> NewtonState:
    """The state at the flat starting point ``x``."""
    value, grad = jax.value_and_grad(f)(x, *args)
    return NewtonState(x, value, grad, jnp.zeros((), jnp.int32), jnp.zeros((), bool))


def newton_step(
    f: Callable, state: NewtonState, args: tuple, *, solver: str, max_cg_steps: int
) -> NewtonState:
    """One damped Newton step from ``state`` (``solver`` is ``"dense"`` or ``"cg"``).

    A direction that is not finite or not a descent direction (the Hessian is not positive
    definite there) is replaced by ``-g``. The Armijo search (``_linesearch.backtrack``)
    allows a slack of one rounding unit of ``|f(x)|``; when it backtracks, the full step is
    taken anyway if it halves the gradient's norm (see :func:`newton`); when no step is
    accepted, ``x`` stays and ``stalled`` is set.
    """
    x, value, grad = state.x, state.value, state.grad
    direction = dense_direction if solver == "dense" else cg_direction
    d = direction(f, x, grad, args, max_cg_steps)
    slope = jnp.vdot(grad, d)
    descent = jnp.all(jnp.isfinite(d)) & (slope < 0)
    d = jnp.where(descent, d, -grad)
    slope = jnp.where(descent, slope, -jnp.vdot(grad, grad))
    eps = jnp.finfo(x.dtype).eps
    search = _linesearch.backtrack(
        lambda t: f(x + t * d, *args),
        value,
        slope,
        slack=eps * jnp.abs(value),
        max_halvings=_MAX_HALVINGS,
    )
    x_new = jnp.where(search.accepted, x + search.step * d, x)
    value_new, grad_new = jax.value_and_grad(f)(x_new, *args)
    # At f's rounding floor (an f that cancels: terms far larger than |f|), the full Newton
    # step can raise the computed f by an ulp of its terms while it zeroes the gradient; the
    # search then backtracks to a step that leaves x as it is, for good. The full step is
    # taken instead when it halves the gradient's norm and raises f by at most sqrt(eps)|f|.
    norm = jnp.linalg.norm(grad)

    def full_step():
        v, g = jax.value_and_grad(f)(x + d, *args)
        good = jnp.isfinite(v) & (v <= value + jnp.sqrt(eps) * jnp.abs(value))
        good = good & descent & (jnp.linalg.norm(g) <= 0.5 * norm)
        return good, v.astype(value.dtype), g

    def keep():
        return jnp.zeros((), bool), value_new, grad_new

    backtracked = ~search.accepted | (search.step < 1)
    use_full, v_full, g_full = lax.cond(backtracked, full_step, keep)
    x_new = jnp.where(use_full, x + d, x_new)
    value_new = jnp.where(use_full, v_full, value_new)
    grad_new = jnp.where(use_full, g_full, grad_new)
    stalled = ~search.accepted & ~use_full
    return NewtonState(x_new, value_new, grad_new, state.num_steps + 1, stalled)


def newton_keep_going(state: NewtonState, tol: jax.Array, max_steps: int) -> jax.Array:
    """Whether to take another step: under the cap, gradient above ``tol``, not stalled."""
    return (state.num_steps < max_steps) & (jnp.linalg.norm(state.grad) > tol) & ~state.stalled


def newton_solve(
    f: Callable, max_steps: int, solver: str, max_cg_steps: int, args: tuple, data: tuple
) -> tuple[jax.Array, tuple]:
    """The loop from flat ``data = (x0, tol)``: ``x`` and ``(grad_norm, num_steps, converged)``."""
    x, tol = data
    state = newton_init(f, x, args)
    gtol = jnp.asarray(tol, x.dtype)
    state = jax.lax.while_loop(
        lambda s: newton_keep_going(s, gtol, max_steps),
        lambda s: newton_step(f, s, args, solver=solver, max_cg_steps=max_cg_steps),
        state,
    )
    grad_norm = jnp.linalg.norm(state.grad)
    return state.x, (grad_norm, state.num_steps, grad_norm <= gtol)


@functools.partial(
    jax.jit,
    static_argnames=("fun", "max_steps", "solver", "max_cg_steps", "implicit_max_steps"),
)
def _newton(fun, max_steps, solver, max_cg_steps, implicit_max_steps, x0, args, tol):
    x0 = _trees.inexact_tree(x0, "x0")
    _trees.scalar_value(fun, x0, args, "fun")
    flat, x = _trees.flat_fun(fun, x0)
    unravel = ravel_pytree(x0)[1]
    n = x.size
    if max_cg_steps is None:
        max_cg_steps = max(1, min(n, 200))
    if solver == "auto":
        solver = "dense" if n <= DENSE_MAX_PARAMS else "cg"

    def f(z, *args):
        return flat(z, *args).astype(x.dtype)

    x, (grad_norm, num_steps, converged) = implicit_solution(
        functools.partial(newton_solve, f, max_steps, solver, max_cg_steps),
        stationarity(f),
        args,
        (x, tol),
        ImplicitOptions(symmetric=True, max_steps=implicit_max_steps, dense=solver == "dense"),
    )
    # Differentiable: d value / d args is the envelope theorem's ∂fun/∂args at x*.
    value = f(x, *args)
    return OptResult(unravel(x), value, grad_norm, num_steps, converged)


def newton(
    fun: Callable[..., jax.Array],
    x0: Any,
    args: tuple = (),
    *,
    max_steps: int = 50,
    tol: float = 1e-8,
    solver: str = "auto",
    max_cg_steps: int | None = None,
    implicit_max_steps: int | None = None,
) -> OptResult:
    r"""Minimise ``fun(x, *args)`` by damped Newton steps with a backtracking line search.

    Each step solves $H d = -g$ for the Newton direction, either with the dense Hessian
    (``jax.hessian`` and a Cholesky factorisation) or with truncated conjugate gradients on
    Hessian-vector products (forward-over-reverse, never forming $H$; forcing tolerance
    $\min(0.5, \|g\|)$, so convergence stays quadratic). Where the Hessian is not positive
    definite, or the direction is not a descent direction, the step falls back to the
    steepest-descent direction $-g$. The step length $t$ starts at 1 and halves until
    Armijo's condition $f(x + t d) \le f(x) + 10^{-4} \, t \, g^\top d$ holds (with a slack
    of one rounding unit of $|f(x)|$, so steps at the precision's floor are not refused).
    When the search backtracks, the full Newton step is still taken if it halves
    $\|g\|$ and raises $f$ by at most $\sqrt{\varepsilon} |f(x)|$: where $f$ cancels (terms
    far larger than $|f|$) its rounding can hide the last steps' decrease. Close to a
    minimum with a positive-definite Hessian the full step is taken and convergence is
    quadratic. The whole loop is one ``lax.while_loop``, compiled once per
    (``fun``, static options, shapes and dtypes of ``x0`` and ``args``); works under ``jit``
    and ``vmap``. ``scipy.optimize.minimize(fun, x0, args, method="Newton-CG")`` is the
    nearest SciPy equivalent.

    Differentiable (``jax.grad``, ``jax.jvp``, under ``jit`` and ``vmap``) in ``args``, by
    implicit differentiation of $\nabla_x f(x^*, \text{args}) = 0$ ($f$ = ``fun``), never
    through the loop: ``jax.grad`` costs one linear solve with the Hessian at $x^*$ (with
    ``solver="cg"`` by conjugate gradients on Hessian-vector products; with the dense solver
    by an LU of the Hessian formed as the forward pass forms it), then one VJP of
    $\nabla_x f$ in ``args``. It is the derivative of the exact minimiser (it assumes
    convergence to a minimum with a positive-definite Hessian). ``x0`` gets a zero
    derivative; ``value`` is differentiable (the envelope theorem); ``grad_norm``,
    ``num_steps`` and ``converged`` carry none.

    Args:
      fun: ``(x, *args) -> scalar``, twice differentiable in ``x``.
      x0: starting point, an array or pytree (flattened with
        ``jax.flatten_util.ravel_pytree`` internally).
      args: tuple of extra arguments of ``fun`` (traced: new values do not compile again).
      max_steps: largest number of Newton steps (static, >= 0).
      tol: absolute tolerance on the gradient's 2-norm (traced; in float32, ask for what
        the precision can reach, e.g. ``1e-4`` for ``|fun|`` near 1).
      solver: ``"dense"``, ``"cg"`` or ``"auto"`` (dense up to 2000 parameters); static.
      max_cg_steps: largest number of CG steps per Newton step (static, >= 1); default
        ``min(n, 200)``.
      implicit_max_steps: cap on CG steps of the derivative's linear solve with
        ``solver="cg"`` (static, >= 1); default ``min(10 n, 1000)``; it stops earlier at a
        relative residual of ``eps^(2/3)`` of the dtype.

    Returns:
      :class:`OptResult`; ``converged`` is ``grad_norm <= tol``.

    Raises:
      TypeError: if ``fun`` is not callable or ``args`` is not a tuple.
      ValueError: if ``fun`` does not return a scalar, ``solver`` is unknown, or
        ``max_steps``/``tol``/``max_cg_steps``/``implicit_max_steps`` are out of range.

    References:
      J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006.

      L. Armijo, "Minimization of functions having Lipschitz continuous first partial
      derivatives", Pacific J. Math. 16(1), pp. 1-3, 1966.

      M. Blondel, Q. Berthet, M. Cuturi, R. Frostig, S. Hoyer, F. Llinares-López,
      F. Pedregosa and J.-P. Vert, "Efficient and modular implicit differentiation", Advances
      in Neural Information Processing Systems 35 (NeurIPS), 2022.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import optim
      >>> def fun(x, c):
      ...     return jnp.sum(jnp.exp(x) - c * x)
      >>> res = optim.newton(fun, jnp.zeros(2), (2.0,), tol=1e-5)
      >>> print(res.x, res.converged)
      [0.693 0.693] True

      The minimiser ``log c`` has derivative ``1/c`` in ``c``:

      >>> import jax
      >>> print(jax.grad(lambda c: optim.newton(fun, jnp.zeros(2), (c,), tol=1e-5).x[0])(2.0))
      0.5
    """
    fun = static_callable(fun, "fun")
    args = _trees.check_args(args)
    max_steps = _validate.static_int(max_steps, "max_steps", minimum=0)
    check_tol(tol)
    _validate.one_of(solver, ("auto", "dense", "cg"), "solver")
    if max_cg_steps is not None:
        max_cg_steps = _validate.static_int(max_cg_steps, "max_cg_steps", minimum=1)
    return _validate.call(
        _newton,
        {"x0": x0},
        fun,  # positional: JAX < 0.9 rejects a keyword named fun (an internal clash)
        max_steps=max_steps,
        solver=solver,
        max_cg_steps=max_cg_steps,
        implicit_max_steps=check_implicit_max_steps(implicit_max_steps),
        x0=x0,
        args=args,
        tol=tol,
    )
