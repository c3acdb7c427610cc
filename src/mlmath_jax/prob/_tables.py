"""Joint probability tables: marginals, conditionals, independence, mutual information, chi².

A joint table has one axis per discrete variable; ``joint[i, j, k] = P(X0=i, X1=j, X2=k)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .. import _validate


def _table(joint: ArrayLike, name: str = "joint") -> jax.Array:
    return _validate.at_least_rank(
        _validate.as_real(joint, name), 1, name, "a table with one axis per variable"
    )


def _axis_tuple(axes: int | Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    if isinstance(axes, (tuple, list)):
        out = tuple(_validate.axis(a, ndim, name) for a in axes)
    else:
        out = (_validate.axis(axes, ndim, name),)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} contains a repeated axis: {axes}")
    return out


def marginal(joint: ArrayLike, axes: int | Sequence[int]) -> jax.Array:
    """Marginal distribution of the variables on ``axes`` (sum over all other axes).

    Equivalent to ``joint.sum(axis=<the other axes>)`` in NumPy, with the kept axes put in
    the order given.

    Args:
      joint: a table with one axis per variable.
      axes: the axis (int) or axes (tuple) kept, in the order wanted in the result.

    Returns:
      The table ``P(X_axes)`` with ``len(axes)`` dimensions (``joint.shape[a]`` for each).

    Raises:
      ValueError: if an axis is out of range or repeated.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> joint = jnp.array([[0.1, 0.2], [0.3, 0.4]])
      >>> print(prob.marginal(joint, 0), prob.marginal(joint, 1))
      [0.3 0.7] [0.4 0.6]
    """
    joint = _table(joint)
    return _marginal(joint, _axis_tuple(axes, joint.ndim, "axes"))


@functools.partial(jax.jit, static_argnames=("kept",))
def _marginal(joint: jax.Array, kept: tuple[int, ...]) -> jax.Array:
    others = tuple(a for a in range(joint.ndim) if a not in kept)
    m = jnp.sum(joint, axis=others)
    order = sorted(range(len(kept)), key=lambda i: kept[i])  # position of each kept axis
    return jnp.transpose(m, [order.index(i) for i in range(len(kept))]) if kept else m


def conditional(joint: ArrayLike, given: int | Sequence[int]) -> jax.Array:
    """Conditional distribution ``P(rest | given)``, same shape as ``joint``.

    ``out[idx] = joint[idx] / P(X_given = idx_given)``; for every fixed value of the given
    variables the remaining entries sum to 1. Computed as in NumPy by
    ``joint / joint.sum(axis=<rest>, keepdims=True)``.

    Args:
      joint: a table with one axis per variable.
      given: the axis or axes conditioned on.

    Returns:
      An array with ``joint``'s shape. Where ``P(given) = 0`` the conditional is undefined
      and the entries are NaN.

    Raises:
      ValueError: if an axis is out of range or repeated.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> print(prob.conditional(jnp.array([[0.1, 0.3], [0.2, 0.4]]), given=1))
      [[0.3333 0.4286]
       [0.6667 0.5714]]
    """
    joint = _table(joint)
    return _conditional(joint, _axis_tuple(given, joint.ndim, "given"))


@functools.partial(jax.jit, static_argnames=("cond",))
def _conditional(joint: jax.Array, cond: tuple[int, ...]) -> jax.Array:
    rest = tuple(a for a in range(joint.ndim) if a not in cond)
    p_given = jnp.sum(joint, axis=rest, keepdims=True)
    safe = jnp.where(p_given > 0, p_given, 1)
    return jnp.where(p_given > 0, joint / safe, jnp.nan)


def _normalised(joint: jax.Array) -> jax.Array:
    return joint / jnp.sum(joint)


def _product_of_marginals(p: jax.Array) -> jax.Array:
    prod = jnp.ones_like(p)
    for a in range(p.ndim):
        others = tuple(b for b in range(p.ndim) if b != a)
        prod = prod * jnp.sum(p, axis=others, keepdims=True)
    return prod


def are_independent(joint: ArrayLike, *, atol: float = 1e-6) -> jax.Array:
    """Whether the variables are mutually independent: ``P(x) = Π_i P(x_i)`` within ``atol``.

    For two variables this is ordinary independence; for more it is mutual independence
    (the joint equals the product of all one-variable marginals, which is stronger than
    pairwise independence). The table is normalised by its total first, so counts work too.
    No direct NumPy equivalent (compare ``numpy.allclose(joint, outer(marginals))``).

    Args:
      joint: a table with one axis per variable.
      atol: absolute tolerance on each entry.

    Returns:
      A boolean scalar array (``bool(...)`` gives a Python bool outside ``jit``).

    Raises:
      ValueError: if ``joint`` is 0-D.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> px, py = jnp.array([0.2, 0.8]), jnp.array([0.5, 0.25, 0.25])
      >>> print(prob.are_independent(px[:, None] * py[None, :]))
      True
      >>> print(prob.are_independent(jnp.array([[0.5, 0.0], [0.0, 0.5]])))
      False
    """
    return _are_independent(_table(joint), atol)


@jax.jit
def _are_independent(joint: jax.Array, atol: Any) -> jax.Array:
    p = _normalised(joint)
    return jnp.all(jnp.abs(p - _product_of_marginals(p)) <= atol)


def mutual_information(joint: ArrayLike) -> jax.Array:
    """Mutual information ``Σ p log(p / Π p_i)`` in nats, with ``0 log 0 = 0``.

    For two variables this is ``I(X; Y)`` (as ``sklearn.metrics.mutual_info_score`` on the
    underlying labels); for more variables it is the total correlation (multi-information),
    ``KL(P || Π_i P_i)``. The table is normalised by its total first, so counts work too.

    Args:
      joint: a table with one axis per variable, non-negative entries.

    Returns:
      A scalar, ``>= 0`` up to rounding.

    Raises:
      ValueError: if ``joint`` is 0-D.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> print(prob.mutual_information(jnp.array([[0.5, 0.0], [0.0, 0.5]])))
      0.6931472
    """
    return _mutual_information(_table(joint))


@jax.jit
def _mutual_information(joint: jax.Array) -> jax.Array:
    p = _normalised(joint)
    q = _product_of_marginals(p)
    positive = p > 0
    ratio = jnp.where(positive, p, 1) / jnp.where(positive, q, 1)
    return jnp.sum(jnp.where(positive, p * jnp.log(ratio), 0))


class Chi2Result(NamedTuple):
    """Result of :func:`chi2_independence`.

    Attributes:
      statistic: Pearson's chi² statistic, shape = the batch shape.
      p_value: upper-tail probability of the chi² distribution with ``dof`` degrees.
      dof: degrees of freedom (a Python int, the same for every table of a batch).
    """

    statistic: jax.Array
    p_value: jax.Array
    dof: int


def chi2_independence(counts: ArrayLike, *, table_ndim: int | None = None) -> Chi2Result:
    """Pearson's chi² test of independence (as ``scipy.stats.chi2_contingency(correction=False)``).

    The expected frequencies are the product of the one-variable marginals (mutual
    independence for tables of more than two variables, as SciPy), and
    ``dof = size - Σ shape + ndim - 1``. A table with ``dof = 0`` gives statistic 0 and
    p-value 1 (as SciPy).

    Args:
      counts: observed frequencies; the last ``table_ndim`` axes are the table, any axes
        before them are batch dimensions (a batch of independent tables).
      table_ndim: number of table axes (a Python int ``>= 1``); default all of them (no
        batch), as SciPy.

    Returns:
      ``Chi2Result(statistic, p_value, dof)``; ``statistic`` and ``p_value`` have the batch
      shape. A table with a zero expected frequency (an empty row or column) has no valid
      statistic: SciPy raises, here it raises ``ValueError`` on concrete input and gives
      NaN under ``jit``.

    Raises:
      ValueError: for negative counts or a zero expected frequency (concrete input only),
        or ``table_ndim`` out of range.

    Example:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> res = prob.chi2_independence(jnp.array([[10.0, 20.0], [30.0, 40.0]]))
      >>> print(res.statistic, res.p_value, res.dof)
      0.79365 0.37300 1
    """
    arr = _validate.as_real(counts, "counts")
    nd = arr.ndim if table_ndim is None else _validate.static_int(table_ndim, "table_ndim")
    if not 1 <= nd <= arr.ndim:
        raise ValueError(
            f"table_ndim must be in [1, counts.ndim={arr.ndim}], got {nd} (shape {arr.shape})"
        )
    _validate.nonnegative(arr, "counts")
    tshape = arr.shape[arr.ndim - nd :]
    dof = math.prod(tshape) - sum(tshape) + nd - 1
    stat, p, zero_expected = _chi2(arr, nd, dof)
    if _validate.is_concrete(zero_expected) and bool(zero_expected):
        raise ValueError(
            "counts: the table of expected frequencies has a zero element (an empty row, "
            "column or slice), so the chi² statistic is undefined"
        )
    return Chi2Result(stat, p, dof)


@functools.partial(jax.jit, static_argnames=("nd", "dof"))
def _chi2(arr: jax.Array, nd: int, dof: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    table_axes = tuple(range(arr.ndim - nd, arr.ndim))
    total = jnp.sum(arr, axis=table_axes, keepdims=True)
    expected = jnp.ones_like(arr)
    for a in table_axes:
        others = tuple(b for b in table_axes if b != a)
        expected = expected * (jnp.sum(arr, axis=others, keepdims=True) / total)
    expected = expected * total
    stat = jnp.sum(
        jnp.where(expected > 0, (arr - expected) ** 2 / expected, jnp.nan), axis=table_axes
    )
    zero_expected = jnp.any(expected == 0) if arr.size else jnp.bool_(False)
    if dof == 0:
        stat = jnp.where(jnp.isnan(stat), stat, 0.0)
        return stat, jnp.where(jnp.isnan(stat), stat, 1.0), zero_expected
    return stat, jax.scipy.special.gammaincc(dof / 2.0, stat / 2.0), zero_expected
