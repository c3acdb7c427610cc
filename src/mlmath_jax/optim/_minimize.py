"""``minimize``: any optax transformation, the whole loop in one ``lax.while_loop``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import optax

from .. import _trees, _validate
from .._implicit import ImplicitOptions, implicit_solution, stationarity
from ._result import OptResult, check_implicit_max_steps, check_tol, static_callable

# Built once: the optimiser is a static argument of the compiled loop, hashed by identity,
# so a fresh ``optax.lbfgs()`` per call would compile the loop again on every call.
_DEFAULT_OPTIMIZER = optax.lbfgs()


class MinimizeState(NamedTuple):
    """Loop state of :func:`minimize`: the iterate, the optimiser's state, value and gradient."""

    x: Any
    opt_state: Any
    value: jax.Array
    grad: Any
    num_steps: jax.Array


def _with_extra_args(optimizer: optax.GradientTransformation) -> Any:
    if isinstance(optimizer, optax.GradientTransformationExtraArgs):
        return optimizer
    return optax.with_extra_args_support(optimizer)


def _value_and_grad(
    fun: Callable[..., jax.Array], optimizer: Any, x: Any, args: tuple
) -> Callable[[Any, Any], tuple[jax.Array, Any]]:
    """``(x, opt_state) -> (value, grad)`` of ``fun(x, *args)``.

    Line-search optimisers (``optax.lbfgs``) store the value and gradient at the iterate
    they accept; those are reused (``optax.value_and_grad_from_state``) instead of being
    computed a second time.
    """

    def value_fn(z):
        return fun(z, *args)

    plain = jax.value_and_grad(value_fn)
    # optax types the value as ArrayLike; it is value_fn's jax.Array.
    stored = cast(Callable[..., tuple[jax.Array, Any]], optax.value_and_grad_from_state(value_fn))
    state_shape = jax.eval_shape(optimizer.init, x)
    try:
        jax.eval_shape(lambda z, s: stored(z, state=s), x, state_shape)
    except (ValueError, KeyError, TypeError):
        return lambda z, state: plain(z)
    return lambda z, state: stored(z, state=state)


def minimize_init(
    fun: Callable[..., jax.Array], optimizer: Any, x0: Any, args: tuple
) -> MinimizeState:
    """The state before the first step: value, gradient and optimiser state at ``x0``."""
    value, grad = jax.value_and_grad(fun)(x0, *args)
    zero = jnp.zeros((), jnp.int32)
    return MinimizeState(x0, optimizer.init(x0), value, grad, zero)


def minimize_step(
    fun: Callable[..., jax.Array], optimizer: Any, state: MinimizeState, args: tuple
) -> MinimizeState:
    """One optimiser update; ``optimizer`` must take optax's extra arguments."""
    x, opt_state = state.x, state.opt_state

    def value_fn(z):
        return fun(z, *args)

    updates, opt_state = optimizer.update(
        state.grad, opt_state, x, value=state.value, grad=state.grad, value_fn=value_fn
    )
    x_new = optax.tree.cast_like(optax.apply_updates(x, updates), x)
    value, grad = _value_and_grad(fun, optimizer, x, args)(x_new, opt_state)
    return MinimizeState(
        x_new, opt_state, value.astype(state.value.dtype), grad, state.num_steps + 1
    )


def minimize_keep_going(state: MinimizeState, tol: jax.Array, max_steps: int) -> jax.Array:
    """Whether to take another step: under the cap, gradient above ``tol``, value finite."""
    grad_norm = optax.tree.norm(state.grad)
    return (state.num_steps < max_steps) & (grad_norm > tol) & jnp.isfinite(state.value)


def minimize_solve(
    fun: Callable[..., jax.Array], optimizer: Any, max_steps: int, args: tuple, data: tuple
) -> tuple[Any, tuple]:
    """The loop from ``data = (x0, tol)``: ``x`` and ``(grad_norm, num_steps, converged)``."""
    x0, tol = data
    state = minimize_init(fun, optimizer, x0, args)
    gtol = jnp.asarray(tol, state.value.dtype)
    state = jax.lax.while_loop(
        lambda s: minimize_keep_going(s, gtol, max_steps),
        lambda s: minimize_step(fun, optimizer, s, args),
        state,
    )
    grad_norm = optax.tree.norm(state.grad).astype(state.value.dtype)
    return state.x, (grad_norm, state.num_steps, grad_norm <= gtol)


@functools.partial(jax.jit, static_argnames=("fun", "optimizer", "max_steps", "implicit_max_steps"))
def _minimize(fun, optimizer, max_steps, implicit_max_steps, x0, args, tol):
    x0 = _trees.inexact_tree(x0, "x0")
    out = _trees.scalar_value(fun, x0, args, "fun")
    optimizer = _with_extra_args(optimizer)
    x, (grad_norm, num_steps, converged) = implicit_solution(
        functools.partial(minimize_solve, fun, optimizer, max_steps),
        stationarity(fun),
        args,
        (x0, tol),
        ImplicitOptions(symmetric=True, max_steps=implicit_max_steps),
    )
    # Differentiable: d value / d args is the envelope theorem's ∂fun/∂args at x*.
    value = fun(x, *args).astype(out.dtype)
    return OptResult(x, value, grad_norm, num_steps, converged)


def minimize(
    fun: Callable[..., jax.Array],
    x0: Any,
    args: tuple = (),
    *,
    optimizer: optax.GradientTransformation | None = None,
    max_steps: int = 1000,
    tol: float = 1e-6,
    implicit_max_steps: int | None = None,
) -> OptResult:
    r"""Minimise ``fun(x, *args)`` from ``x0`` with an optax optimiser, the loop on the device.

    The iteration ``updates, state = optimizer.update(grad, state, x, value=..., grad=...,
    value_fn=...)``; ``x = optax.apply_updates(x, updates)`` runs inside one
    ``jax.lax.while_loop`` until the gradient's 2-norm (over all leaves) is at most ``tol``,
    the value becomes non-finite, or ``max_steps`` steps were taken. Transformations that
    take extra arguments (``optax.lbfgs``, line searches) get ``value``, ``grad`` and
    ``value_fn`` as optax documents, and the value and gradient they store in their state
    are reused (``optax.value_and_grad_from_state``); plain transformations are wrapped with
    ``optax.with_extra_args_support``. Works under ``jax.jit`` and ``jax.vmap`` (over
    starting points or ``args``: each keeps its own step count). The analogue of
    ``scipy.optimize.minimize(fun, x0, args, jac=True)``.

    The loop compiles once per (``fun``, ``optimizer``, ``max_steps``, shapes and dtypes of
    ``x0`` and ``args``): pass data in ``args``, not as constants captured by a new
    closure, and build the optimiser once (``optax.adam(0.1)`` written in the call is a
    new object, and a new compile, every time).

    Differentiable (``jax.grad``, ``jax.jvp``, under ``jit`` and ``vmap``) in ``args``, by
    implicit differentiation of the optimality condition $\nabla_x f(x^*, \text{args}) = 0$
    ($f$ = ``fun``), never through the loop: ``jax.grad`` costs one linear solve
    $H u = \bar g$ with the Hessian $H$ at $x^*$ and the output cotangent $\bar g$, by
    conjugate gradients on Hessian-vector products (matrix-free), then one VJP of
    $\nabla_x f$ in ``args``; ``jax.jvp`` one CG solve per tangent. This is the derivative
    of the exact minimiser, as accurate as ``x`` satisfies the condition: it assumes
    convergence to a minimum with a positive-definite Hessian. ``x0`` gets a zero
    derivative; ``value`` is differentiable ($f(x^*, \text{args})$, the envelope theorem);
    ``grad_norm``, ``num_steps`` and ``converged`` carry none.

    Args:
      fun: ``(x, *args) -> scalar`` objective, differentiable in ``x`` with ``jax.grad``.
      x0: starting point, an array or a pytree of arrays (integers are promoted to float).
      args: tuple of extra arguments of ``fun`` (arrays or pytrees; traced, so new values
        do not compile again).
      optimizer: an optax ``GradientTransformation``; default ``optax.lbfgs()`` (quasi-Newton
        with a zoom line search, good for smooth deterministic objectives).
      max_steps: largest number of steps (static, >= 0).
      tol: absolute tolerance on the gradient's 2-norm (traced). float32 gradients carry
        rounding of about ``1e-7 * |fun|`` per coordinate, so ask float32 runs for a
        tolerance the precision can reach (``converged`` says whether it was).
      implicit_max_steps: cap on CG steps of the derivative's linear solve (static,
        >= 1); default ``min(10 n, 1000)`` for ``n`` parameters. The solve stops earlier at
        a relative residual of ``eps^(2/3)`` of the dtype.

    Returns:
      :class:`OptResult` ``(x, value, grad_norm, num_steps, converged)``.

    Raises:
      TypeError: if ``fun`` is not callable, ``args`` is not a tuple, or ``optimizer`` is
        not an optax transformation.
      ValueError: if ``fun`` does not return a scalar, or ``max_steps``/``tol`` are negative.

    References:
      D. C. Liu and J. Nocedal, "On the limited memory BFGS method for large scale
      optimization", Mathematical Programming 45, pp. 503-528, 1989.

      M. Blondel, Q. Berthet, M. Cuturi, R. Frostig, S. Hoyer, F. Llinares-López,
      F. Pedregosa and J.-P. Vert, "Efficient and modular implicit differentiation", Advances
      in Neural Information Processing Systems 35 (NeurIPS), 2022.

    Examples:
      >>> import jax.numpy as jnp
      >>> import optax
      >>> from mlmath_jax import optim
      >>> def fun(x, target):
      ...     return jnp.sum((x - target) ** 2)
      >>> sgd = optax.sgd(0.1)
      >>> res = optim.minimize(fun, jnp.zeros(2), (jnp.array([3.0, 3.0]),), optimizer=sgd,
      ...                      tol=1e-4)
      >>> print(res.x, res.converged)
      [3. 3.] True

      Gradients go through the solution to its data (here ``x* = target``):

      >>> import jax
      >>> def total(target):
      ...     return optim.minimize(fun, jnp.zeros(2), (target,), optimizer=sgd, tol=1e-4).x.sum()
      >>> print(jax.grad(total)(jnp.array([3.0, 3.0])))
      [1. 1.]
    """
    fun = static_callable(fun, "fun")
    args = _trees.check_args(args)
    if optimizer is None:
        optimizer = _DEFAULT_OPTIMIZER
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            f"optimizer must be an optax GradientTransformation, got {type(optimizer).__name__}"
        )
    max_steps = _validate.static_int(max_steps, "max_steps", minimum=0)
    check_tol(tol)
    implicit_max_steps = check_implicit_max_steps(implicit_max_steps)
    return _validate.call(
        _minimize,
        {"x0": x0},
        fun,  # positional: JAX < 0.9 rejects a keyword named fun (an internal clash)
        optimizer=optimizer,
        max_steps=max_steps,
        implicit_max_steps=implicit_max_steps,
        x0=x0,
        args=args,
        tol=tol,
    )
