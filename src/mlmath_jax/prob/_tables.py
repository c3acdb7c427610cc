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

from .. import _sharding, _validate
from ._special import log_gammaincc


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
      ValueError: if an axis is out of range or repeated, or a concrete ``joint`` has a
        negative entry (traced tables are not checked).

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> joint = jnp.array([[0.1, 0.2], [0.3, 0.4]])
      >>> print(prob.marginal(joint, 0), prob.marginal(joint, 1))
      [0.3 0.7] [0.4 0.6]
    """
    joint = _table(joint)
    out, negative = _marginal(joint, _axis_tuple(axes, joint.ndim, "axes"))
    _check_not_negative(negative)
    return out


def _check_not_negative(negative: jax.Array) -> None:
    """Concrete tables only: a negative entry is not a probability (or a count)."""
    if _validate.is_concrete(negative) and bool(negative):
        raise ValueError(
            "joint must have non-negative entries (a table of probabilities or counts), "
            "got a negative entry"
        )


@functools.partial(jax.jit, static_argnames=("kept",))
def _marginal(joint: jax.Array, kept: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    others = tuple(a for a in range(joint.ndim) if a not in kept)
    m = jnp.sum(joint, axis=others)
    order = sorted(range(len(kept)), key=lambda i: kept[i])  # position of each kept axis
    m = jnp.transpose(m, [order.index(i) for i in range(len(kept))]) if kept else m
    return m, jnp.any(joint < 0)


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
      ValueError: if an axis is out of range or repeated, or a concrete ``joint`` has a
        negative entry (traced tables are not checked).

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> print(prob.conditional(jnp.array([[0.1, 0.3], [0.2, 0.4]]), given=1))
      [[0.3333 0.4286]
       [0.6667 0.5714]]
    """
    joint = _table(joint)
    out, negative = _conditional(joint, _axis_tuple(given, joint.ndim, "given"))
    _check_not_negative(negative)
    return out


@functools.partial(jax.jit, static_argnames=("cond",))
def _conditional(joint: jax.Array, cond: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    rest = tuple(a for a in range(joint.ndim) if a not in cond)
    p_given = jnp.sum(joint, axis=rest, keepdims=True)
    safe = jnp.where(p_given > 0, p_given, 1)
    return jnp.where(p_given > 0, joint / safe, jnp.nan), jnp.any(joint < 0)


def _normalised(joint: jax.Array) -> jax.Array:
    return joint / jnp.sum(joint)


def _product_of_marginals(p: jax.Array) -> jax.Array:
    prod = jnp.ones_like(p)
    for a in range(p.ndim):
        others = tuple(b for b in range(p.ndim) if b != a)
        prod = prod * jnp.sum(p, axis=others, keepdims=True)
    return prod


def are_independent(joint: ArrayLike, *, atol: float = 1e-6) -> jax.Array:
    r"""Whether the variables are mutually independent: $P(x) = \prod_i P(x_i)$ within ``atol``.

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
      ValueError: if ``joint`` is 0-D, ``atol < 0``, or (concrete input) ``joint`` has a
        NaN, infinite or negative entry or sums to 0.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> px, py = jnp.array([0.2, 0.8]), jnp.array([0.5, 0.25, 0.25])
      >>> print(prob.are_independent(px[:, None] * py[None, :]))
      True
      >>> print(prob.are_independent(jnp.array([[0.5, 0.0], [0.0, 0.5]])))
      False
    """
    if isinstance(atol, str) or atol is None:
        raise TypeError(f"atol must be a number, got {type(atol).__name__}")
    if _validate.is_concrete(atol) and not float(atol) >= 0:
        raise ValueError(f"atol must be >= 0, got {atol}")
    out, bad = _are_independent(_table(joint), atol)
    _check_table(bad)
    return out


def _table_is_bad(joint: jax.Array) -> jax.Array:
    """A table that is not a distribution up to scale: non-finite, negative or all zero."""
    return ~(jnp.all(jnp.isfinite(joint)) & jnp.all(joint >= 0) & (jnp.sum(joint) > 0))


def _check_table(bad: jax.Array) -> None:
    if _validate.is_concrete(bad) and bool(bad):
        raise ValueError(
            "joint must have finite, non-negative entries with a positive sum (a table of "
            "probabilities or counts)"
        )


@jax.jit
def _are_independent(joint: jax.Array, atol: Any) -> tuple[jax.Array, jax.Array]:
    p = _normalised(joint)
    return jnp.all(jnp.abs(p - _product_of_marginals(p)) <= atol), _table_is_bad(joint)


def mutual_information(joint: ArrayLike) -> jax.Array:
    r"""Mutual information $\sum_x p(x) \log(p(x) / \prod_i p_i(x_i))$ in nats ($0 \log 0 = 0$).

    For two variables this is ``I(X; Y)`` (as ``sklearn.metrics.mutual_info_score`` on the
    underlying labels); for more variables it is the total correlation (multi-information),
    $\operatorname{KL}(P \,\|\, \prod_i P_i)$. The table is normalised by its total first,
    so counts work too.

    Args:
      joint: a table with one axis per variable, non-negative entries.

    Returns:
      A scalar, ``>= 0`` up to rounding; NaN for an invalid table under ``jit``.

    Raises:
      ValueError: if ``joint`` is 0-D, or (concrete input) has a NaN, infinite or negative
        entry or sums to 0.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> print(prob.mutual_information(jnp.array([[0.5, 0.0], [0.0, 0.5]])))
      0.6931472
    """
    out, bad = _mutual_information(_table(joint))
    _check_table(bad)
    return out


@jax.jit
def _mutual_information(joint: jax.Array) -> tuple[jax.Array, jax.Array]:
    p = _normalised(joint)
    q = _product_of_marginals(p)
    positive = p > 0
    ratio = jnp.where(positive, p, 1) / jnp.where(positive, q, 1)
    bad = _table_is_bad(joint)
    mi = jnp.sum(jnp.where(positive, p * jnp.log(ratio), 0))
    return jnp.where(bad, jnp.nan, mi), bad  # traced invalid tables: NaN


class Chi2Result(NamedTuple):
    """Result of :func:`chi2_independence`.

    Attributes:
      statistic: Pearson's chi² statistic, shape = the batch shape.
      p_value: upper-tail probability of the chi² distribution with ``dof`` degrees. In
        float32 it is 0 where the true p-value is below float32's range (about 1e-45);
        use ``log_p_value`` there.
      dof: degrees of freedom (a Python int, the same for every table of a batch).
      log_p_value: (property, computed on access) the natural log of the p-value, finite
        far below underflow: ``log_p_value`` of a 2x2 table with statistic 340.2 is -173.24
        in float32 and float64 alike, where ``p_value`` (5.8e-76) is 0 in float32. SciPy
        has no such field (``scipy.stats.chi2.logsf(statistic, dof)`` gives it).

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> res = prob.chi2_independence(jnp.array([[200.0, 10.0], [10.0, 200.0]]))
      >>> print(res.p_value, round(float(res.log_p_value), 2))
      0.0 -173.24
    """

    statistic: jax.Array
    p_value: jax.Array
    dof: int

    @property
    def log_p_value(self) -> jax.Array:
        """``log(p_value)`` without underflow (chi² log survival function)."""
        return _chi2_log_sf(jnp.asarray(self.statistic), self.dof)


@functools.partial(jax.jit, static_argnames=("dof",))
def _chi2_log_sf(stat: jax.Array, dof: int) -> jax.Array:
    if dof == 0:
        return jnp.where(jnp.isnan(stat), stat, 0.0)
    return log_gammaincc(jnp.asarray(dof / 2.0, stat.dtype), stat / 2.0)


def chi2_independence(
    counts: ArrayLike, *, correction: bool = True, table_ndim: int | None = None
) -> Chi2Result:
    r"""Pearson's $\chi^2$ test of independence, as ``scipy.stats.chi2_contingency``.

    The expected frequencies are the product of the one-variable marginals (mutual
    independence for tables of more than two variables, as SciPy), and
    $\text{dof} = \prod_k n_k - \sum_k n_k + K - 1$ for a table of shape
    $(n_1, \dots, n_K)$. With ``correction`` (SciPy's default) and ``dof == 1``, Yates'
    continuity correction moves every observed count by $\min(0.5, |E - O|)$ (expected $E$,
    observed $O$) towards its expected value. A table with ``dof = 0`` gives statistic 0 and
    p-value 1 (as SciPy). In float32 p-values below about 1e-38 underflow (SciPy computes in
    float64).

    Args:
      counts: observed frequencies; the last ``table_ndim`` axes are the table, any axes
        before them are batch dimensions (a batch of independent tables).
      correction: apply Yates' correction when ``dof == 1`` (a Python bool).
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
      TypeError: if ``correction`` is not a bool or ``table_ndim`` not an int.

    References:
      F. Yates, "Contingency tables involving small numbers and the $\chi^2$ test",
      Supplement to the Journal of the Royal Statistical Society 1(2), pp. 217-235, 1934.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> res = prob.chi2_independence(jnp.array([[10.0, 20.0], [30.0, 40.0]]))
      >>> print(res.statistic, res.p_value, res.dof)
      0.44643 0.50404 1
      >>> print(prob.chi2_independence(jnp.array([[10.0, 20.0], [30.0, 40.0]]),
      ...                              correction=False).statistic)
      0.79365
    """
    if not isinstance(correction, bool):
        raise TypeError(f"correction must be a Python bool, got {type(correction).__name__}")
    arr = _validate.as_real(counts, "counts")
    nd = arr.ndim if table_ndim is None else _validate.static_int(table_ndim, "table_ndim")
    if not 1 <= nd <= arr.ndim:
        raise ValueError(
            f"table_ndim must be in [1, counts.ndim={arr.ndim}], got {nd} (shape {arr.shape})"
        )
    _validate.nonnegative(arr, "counts")
    tshape = arr.shape[arr.ndim - nd :]
    dof = math.prod(tshape) - sum(tshape) + nd - 1
    stat, p, zero_expected = _chi2(arr, nd, dof, correction and dof == 1)
    if _validate.is_concrete(zero_expected) and bool(zero_expected):
        raise ValueError(
            "counts: the table of expected frequencies has a zero element (an empty row, "
            "column or slice), so the chi² statistic is undefined"
        )
    return Chi2Result(stat, p, dof)


@functools.partial(jax.jit, static_argnames=("nd", "dof", "yates"))
def _chi2(arr: jax.Array, nd: int, dof: int, yates: bool) -> tuple[jax.Array, jax.Array, jax.Array]:
    table_axes = tuple(range(arr.ndim - nd, arr.ndim))
    total = jnp.sum(arr, axis=table_axes, keepdims=True)
    expected = jnp.ones_like(arr)
    for a in table_axes:
        others = tuple(b for b in table_axes if b != a)
        expected = expected * (jnp.sum(arr, axis=others, keepdims=True) / total)
    expected = expected * total
    observed = arr
    if yates:  # as SciPy: move each count towards its expectation by at most 1/2
        diff = expected - observed
        observed = observed + jnp.sign(diff) * jnp.minimum(0.5, jnp.abs(diff))
    stat = jnp.sum(
        jnp.where(expected > 0, (observed - expected) ** 2 / expected, jnp.nan), axis=table_axes
    )
    zero_expected = jnp.any(expected == 0) if arr.size else jnp.bool_(False)
    if dof == 0:
        stat = jnp.where(jnp.isnan(stat), stat, 0.0)
        return stat, jnp.where(jnp.isnan(stat), stat, 1.0), zero_expected
    return stat, jax.scipy.special.gammaincc(dof / 2.0, stat / 2.0), zero_expected


def joint_table(
    *columns: ArrayLike, num_categories: int | Sequence[int], normalize: bool = True
) -> jax.Array:
    """Joint table of integer label columns: one axis per column.

    ``out[i, j, ...]`` is the fraction (or, with ``normalize=False``, the number) of rows
    whose labels are ``(i, j, ...)``; as ``numpy.histogramdd`` on integer bins, or
    ``pandas.crosstab``. The result feeds :func:`marginal`, :func:`mutual_information` and
    :func:`chi2_independence`.

    Args:
      *columns: integer labels ``[n]`` each (all the same length), column ``c`` in
        ``{0, ..., num_categories[c] - 1}``.
      num_categories: the number of categories of every column (an int for all of them,
        or one Python int per column); static, it fixes the table's shape.
      normalize: divide by ``n`` so that the entries sum to 1 (no rows gives NaN).

    Returns:
      A float array of shape ``tuple(num_categories)``.

    Raises:
      ValueError: no columns, columns of different lengths or not 1-D, a non-positive
        number of categories, or (concrete input) a label outside its range; traced
        out-of-range labels are not counted.
      TypeError: non-integer labels or ``num_categories``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from mlmath_jax import prob
      >>> x, y = jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 1, 1])
      >>> print(prob.joint_table(x, y, num_categories=2))
      [[0.25 0.25]
       [0.   0.5 ]]
    """
    if not columns:
        raise ValueError("joint_table needs at least one label column")
    if isinstance(num_categories, (tuple, list)):
        ks = tuple(_validate.static_int(k, "num_categories", minimum=1) for k in num_categories)
        if len(ks) != len(columns):
            raise ValueError(f"num_categories has {len(ks)} entries for {len(columns)} columns")
    else:
        ks = (_validate.static_int(num_categories, "num_categories", minimum=1),) * len(columns)
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be a Python bool, got {type(normalize).__name__}")
    cols = []
    for i, c in enumerate(columns):
        name = f"columns[{i}]"
        if c is None or isinstance(c, (str, bytes)):
            raise TypeError(f"{name}: expected integer labels, got {type(c).__name__}")
        c = jnp.asarray(c)
        if not jnp.issubdtype(c.dtype, jnp.integer):
            raise TypeError(f"{name}: expected integer labels, got dtype {c.dtype}")
        if c.ndim != 1 or c.shape != jnp.shape(columns[0]):
            raise ValueError(
                f"{name}: every column must be 1-D of the same length, got shapes "
                f"{[jnp.shape(x) for x in columns]}"
            )
        cols.append(c)
    table, outside = _joint_table(tuple(cols), ks, normalize)
    if _validate.is_concrete(outside) and bool(outside):
        raise ValueError(f"columns: a label lies outside its range 0..k-1 for k = {ks}")
    return table


@functools.partial(jax.jit, static_argnames=("ks", "normalize"))
def _joint_table(
    cols: tuple[jax.Array, ...], ks: tuple[int, ...], normalize: bool
) -> tuple[jax.Array, jax.Array]:
    inside = jnp.ones(cols[0].shape, bool)
    for c, k in zip(cols, ks, strict=True):
        inside = inside & (c >= 0) & (c < k)
    dtype = jnp.result_type(float)
    # Out-of-range rows go to an index past the end and are dropped by the scatter.
    idx = tuple(jnp.where(inside, c, k) for c, k in zip(cols, ks, strict=True))
    if _sharding.replicated_if_explicit(*cols) is None:
        table = jnp.zeros(ks, dtype).at[idx].add(jnp.ones(cols[0].shape, dtype), mode="drop")
    else:
        # Rows sharded on an explicit mesh: a scatter into a replicated table is refused, so
        # count by a one-hot contraction over the rows (each device counts its rows, then one
        # all-reduce of the table's prod(ks) cells).
        flat = jnp.ravel_multi_index(idx, ks, mode="clip")
        cells = math.prod(ks)
        hits = jax.nn.one_hot(jnp.where(inside, flat, cells), cells, dtype=dtype)
        table = _sharding.contract("nc->c", hits).reshape(ks)
    if normalize:
        table = table / cols[0].shape[0] if cols[0].shape[0] else table * jnp.nan
    return table, ~jnp.all(inside)
