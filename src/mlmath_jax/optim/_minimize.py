"""``minimize``: any optax transformation, the whole loop in one ``lax.while_loop``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import _validate


class OptResult(NamedTuple):
    """Result of an optimiser run.

    Attributes:
      x: the final iterate, with ``x0``'s pytree structure.
      value: objective at ``x`` (for :func:`proximal_gradient`, the smooth part only).
      grad_norm: 2-norm of the gradient at ``x`` (the gradient mapping for
        :func:`proximal_gradient`), over all leaves.
      num_steps: number of steps taken (the history length), an integer array.
      converged: whether ``grad_norm <= tol`` was reached within ``max_steps``.
    """

    x: Any
    value: jax.Array
    grad_norm: jax.Array
    num_steps: jax.Array
    converged: jax.Array


def tree_norm(tree: Any) -> jax.Array:
    """2-norm of all leaves of ``tree`` together."""
    leaves = jax.tree.leaves(tree)
    return jnp.sqrt(sum(jnp.sum(jnp.abs(leaf) ** 2) for leaf in leaves))


def check_fun(fun: Any, name: str) -> None:
    """Raise ``TypeError`` unless ``fun`` is callable."""
    if not callable(fun):
        raise TypeError(f"{name} must be callable, got {type(fun).__name__}")


def inexact_tree(x0: Any, name: str) -> Any:
    """Every leaf of ``x0`` as a real floating array (integers promoted); needs >= 1 leaf."""
    leaves = jax.tree.leaves(x0)
    if not leaves:
        raise ValueError(f"{name} must be an array or a pytree with at least one array leaf")
    return jax.tree.map(lambda leaf: _validate.as_real(leaf, name), x0)


def scalar_value(fun: Callable[..., Any], x: Any, name: str) -> jax.ShapeDtypeStruct:
    """Trace ``fun(x)`` and require a real scalar; return its abstract value."""
    out = jax.eval_shape(fun, x)
    if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != ():
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"{name} must return a scalar, got {shape}")
    return out


def check_tol(tol: Any, name: str = "tol") -> None:
    """Require a known ``tol`` to be >= 0 (also under ``jit``; traced values are skipped)."""
    _validate.nonnegative(tol, name)


def minimize(
    fun: Callable[[Any], jax.Array],
    x0: Any,
    *,
    optimizer: optax.GradientTransformation | None = None,
    max_steps: int = 1000,
    tol: float = 1e-6,
) -> OptResult:
    """Minimise ``fun`` from ``x0`` with an optax optimiser, the loop on the device.

    The iteration ``updates, state = optimizer.update(grad, state, x, value=..., grad=...,
    value_fn=fun)``; ``x = optax.apply_updates(x, updates)`` runs inside one
    ``jax.lax.while_loop`` until the gradient's 2-norm (over all leaves) is at most ``tol``,
    the value becomes non-finite, or ``max_steps`` steps were taken. Transformations that
    take extra arguments (``optax.lbfgs``, line searches) get ``value``, ``grad`` and
    ``value_fn`` as optax documents, and the value and gradient they store in their state
    are reused (``optax.value_and_grad_from_state``); plain transformations are wrapped with
    ``optax.with_extra_args_support``. Works under ``jax.jit`` and ``jax.vmap`` (over
    starting points: each keeps its own step count). The analogue of
    ``scipy.optimize.minimize(fun, x0, jac=True)``.

    Args:
      fun: ``x -> scalar`` objective, differentiable with ``jax.grad``.
      x0: starting point, an array or a pytree of arrays (integers are promoted to float).
      optimizer: an optax ``GradientTransformation``; default ``optax.lbfgs()`` (quasi-Newton
        with a zoom line search, good for smooth deterministic objectives).
      max_steps: largest number of steps (static, >= 0).
      tol: absolute tolerance on the gradient's 2-norm. float32 gradients carry rounding
        of about ``1e-7 * |fun|`` per coordinate, so ask float32 runs for a tolerance the
        precision can reach (``converged`` says whether it was).

    Returns:
      :class:`OptResult` ``(x, value, grad_norm, num_steps, converged)``.

    Raises:
      TypeError: if ``fun`` is not callable or ``optimizer`` is not an optax transformation.
      ValueError: if ``fun`` does not return a scalar, or ``max_steps``/``tol`` are negative.

    Example:
      >>> import optax
      >>> fun = lambda x: jnp.sum((x - 3.0) ** 2)
      >>> res = optim.minimize(fun, jnp.zeros(2), optimizer=optax.sgd(0.1), tol=1e-4)
      >>> print(res.x, res.converged)
      [3. 3.] True
    """
    check_fun(fun, "fun")
    if optimizer is None:
        optimizer = optax.lbfgs()
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            f"optimizer must be an optax GradientTransformation, got {type(optimizer).__name__}"
        )
    max_steps = _validate.static_int(max_steps, "max_steps", minimum=0)
    check_tol(tol)
    x0 = inexact_tree(x0, "x0")
    scalar_value(fun, x0, "fun")
    if not isinstance(optimizer, optax.GradientTransformationExtraArgs):
        optimizer = optax.with_extra_args_support(optimizer)

    plain_vg = jax.value_and_grad(fun)
    stored_vg = optax.value_and_grad_from_state(fun)
    state_shape = jax.eval_shape(optimizer.init, x0)
    try:  # line-search optimisers store the value and gradient at the accepted iterate
        jax.eval_shape(lambda x, s: stored_vg(x, state=s), x0, state_shape)
        uses_stored = True
    except (ValueError, KeyError, TypeError):
        uses_stored = False

    def value_and_grad(x, state):
        return stored_vg(x, state=state) if uses_stored else plain_vg(x)

    def run(x0):
        value0, grad0 = plain_vg(x0)
        state0 = optimizer.init(x0)
        gtol = jnp.asarray(tol, value0.dtype)

        def cond(carry):
            _, _, value, grad, step = carry
            return (step < max_steps) & (tree_norm(grad) > gtol) & jnp.isfinite(value)

        def body(carry):
            x, state, value, grad, step = carry
            updates, state = optimizer.update(grad, state, x, value=value, grad=grad, value_fn=fun)
            x = optax.apply_updates(x, updates)
            x = jax.tree.map(lambda new, old: new.astype(old.dtype), x, x0)
            value, grad = value_and_grad(x, state)
            return x, state, value.astype(value0.dtype), grad, step + 1

        init = (x0, state0, value0, grad0, jnp.asarray(0, jnp.int32))
        x, _, value, grad, step = jax.lax.while_loop(cond, body, init)
        grad_norm = tree_norm(grad)
        return OptResult(x, value, grad_norm, step, grad_norm <= gtol)

    # One compiled program: tracing op by op outside jit costs more than compiling.
    return jax.jit(run)(x0)
