"""Trace-time checks shared by every area: shapes, ranks, dtypes and static options.

Each check raises ``ValueError`` or ``TypeError`` that names the argument and what was
seen, and runs while tracing, so it fires under ``jax.jit`` too. Value-dependent problems
(singular matrices, non-convergence) are not checked here: they come back in results.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike


def as_inexact(x: ArrayLike, name: str) -> jax.Array:
    """Return ``x`` as a floating (or complex) array; integers and bools become float.

    Integer input is promoted to JAX's default float (float32, or float64 under x64),
    as ``jnp.linalg`` does.
    """
    if x is None:  # jnp.asarray(None) raises a ValueError that names no argument
        raise TypeError(f"{name}: expected a numeric array, got NoneType")
    try:
        arr = jnp.asarray(x)
    except TypeError as exc:
        dtype = getattr(x, "dtype", None)
        seen = type(x).__name__ + (f" of dtype {dtype}" if dtype is not None else "")
        raise TypeError(f"{name}: expected a numeric array, got {seen}") from exc
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        if not (jnp.issubdtype(arr.dtype, jnp.number) or arr.dtype == jnp.bool_):
            raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
        arr = arr.astype(jnp.result_type(float))
    return arr


def as_real(x: ArrayLike, name: str) -> jax.Array:
    """Like :func:`as_inexact`, but reject complex input."""
    arr = as_inexact(x, name)
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise TypeError(f"{name}: expected a real array, got dtype {arr.dtype}")
    return arr


def at_least_rank(x: jax.Array, rank: int, name: str, what: str = "array") -> jax.Array:
    """Require ``x.ndim >= rank``; ``what`` describes the expected layout in the message."""
    if x.ndim < rank:
        raise ValueError(
            f"{name} must be {what} with at least {rank} dimension(s), got shape {x.shape}"
        )
    return x


def vector(x: ArrayLike, name: str, *, real: bool = False) -> jax.Array:
    """An inexact ``[..., n]`` array (at least 1-D); with ``real``, complex is a TypeError."""
    x = as_real(x, name) if real else as_inexact(x, name)
    return at_least_rank(x, 1, name, "a [..., n] vector")


def matrix(a: ArrayLike, name: str, *, real: bool = False) -> jax.Array:
    """An inexact ``[..., m, n]`` array (at least 2-D); with ``real``, complex is a TypeError."""
    a = as_real(a, name) if real else as_inexact(a, name)
    return at_least_rank(a, 2, name, "a [..., m, n] matrix")


def square(a: ArrayLike, name: str) -> jax.Array:
    """An inexact ``[..., n, n]`` array."""
    a = matrix(a, name)
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name} must be square [..., n, n], got shape {a.shape}")
    return a


def batch_shape(shapes: Sequence[tuple[int, ...]], names: Sequence[str]) -> tuple[int, ...]:
    """Broadcast leading batch shapes, raising ``ValueError`` naming the arguments."""
    try:
        return tuple(jnp.broadcast_shapes(*shapes))
    except ValueError as exc:
        seen = ", ".join(f"{n} batch {s}" for n, s in zip(names, shapes, strict=True))
        raise ValueError(f"batch dimensions do not broadcast: {seen}") from exc


def same_dim(
    size_a: int,
    size_b: int,
    names: tuple[str, str],
    shapes: tuple[Any, Any],
    what: str,
    hint: str = "",
) -> None:
    """Require two dimensions to agree (``what`` names them, e.g. 'inner dimensions')."""
    if size_a != size_b:
        raise ValueError(
            f"{what} of {names[0]} and {names[1]} do not match: "
            f"{names[0]} has shape {shapes[0]}, {names[1]} has shape {shapes[1]}"
            + (f" ({hint})" if hint else "")
        )


def one_of(value: Any, choices: Iterable[Any], name: str) -> Any:
    """Require a static option to be one of ``choices``."""
    choices = tuple(choices)
    try:
        ok = value in choices
    except (TypeError, ValueError):  # e.g. an array passed where a static option belongs
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {choices!r}, got {value!r}")
    return value


def static_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Require a Python integer (not a traced value), optionally ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a Python int, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def is_concrete(x: Any) -> bool:
    """True when no leaf of ``x`` is a tracer, so value checks can run now."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def _concrete_values(x: Any) -> Any:
    """``x`` as a host NumPy array when that needs no device work, else ``None``.

    Python numbers and NumPy arrays are checked on the host at once; a ``jax.Array``
    needs a device-to-host copy, so callers keep such checks off hot paths.
    """
    if isinstance(x, numbers.Number) or isinstance(x, np.ndarray | np.generic):
        try:
            return np.asarray(x)
        except (TypeError, ValueError):
            return None
    return None


def describe(value: Any) -> str:
    """``value`` as the user wrote it, for an error message.

    Python numbers print as given (``-0.1``, not the float32 ``-0.10000000149011612``);
    arrays print through NumPy (shortest round-trip digits for their dtype, summarised
    when large). Only call this on an error path: a ``jax.Array`` is copied to the host.
    """
    if isinstance(value, bool | str | numbers.Number) and not isinstance(value, np.generic):
        return repr(value) if isinstance(value, str) else str(value)
    try:
        host = np.asarray(value)
    except Exception:  # noqa: BLE001 - describing must never raise
        return type(value).__name__
    if host.dtype == object:
        return type(value).__name__
    return np.array2string(host, threshold=20, separator=", ")


def _bad_value(x: Any, ok, name: str) -> tuple[bool, Any]:
    host = _concrete_values(x)
    if host is not None and host.dtype.kind in "biuf":
        return bool(host.size) and not bool(np.all(ok(host))), host
    if not isinstance(x, jax.Array):
        x = as_inexact(x, name)  # str, None, objects: a TypeError naming the argument
    # Under jit, jnp operations on constants are staged: evaluate this check eagerly.
    with jax.ensure_compile_time_eval():
        arr = jnp.asarray(x)
        return bool(arr.size) and not bool(jnp.all(ok(arr))), arr


def nonnegative(x: Any, name: str) -> None:
    """Raise ``ValueError`` if concrete ``x`` has a negative (or NaN) entry; skip tracers.

    Python numbers and NumPy arrays are checked on the host (no device work).
    """
    if is_concrete(x):
        bad, arr = _bad_value(x, lambda v: v >= 0, name)
        if bad:
            raise ValueError(f"{name} must be >= 0, got {describe(x)}")


def positive(x: Any, name: str) -> None:
    """Raise ``ValueError`` if concrete ``x`` has an entry <= 0 (or NaN); skip tracers.

    Python numbers and NumPy arrays are checked on the host (no device work).
    """
    if is_concrete(x):
        bad, arr = _bad_value(x, lambda v: v > 0, name)
        if bad:
            raise ValueError(f"{name} must be > 0, got {describe(x)}")


def explain_call_error(arrays: dict[str, Any], statics: dict[str, Any] | None = None) -> None:
    """On the error path of a call into a jitted function: name the argument jit refused.

    Public functions call one module-level jitted function directly (the cheap dispatch
    path) and validate shapes inside it, at trace time. jit itself rejects a string or
    object where an array belongs, and an unhashable static option, with messages that
    name no argument; call this in the ``except`` clause, then re-raise: it raises a
    ``TypeError`` naming the culprit, or returns when every argument is acceptable (the
    error came from inside and already names its argument).

    Args:
      arrays: the array (or array pytree) arguments by name (``None`` values are skipped).
      statics: the static options by name; each must be hashable.
    """
    for name, value in arrays.items():
        if value is None or isinstance(value, jax.Array):
            continue
        for leaf in jax.tree.leaves(value):  # pytrees (calculus and optim points); str is a leaf
            if not isinstance(leaf, jax.Array):
                as_inexact(leaf, name)
    for name, value in (statics or {}).items():
        try:
            hash(value)
        except TypeError:
            raise TypeError(
                f"{name} must be a static Python value (a number, string, None or tuple), "
                f"got {type(value).__name__}"
            ) from None


def not_an_array(value: Any) -> bool:
    """True for what cannot become a numeric array: ``None``, strings, arbitrary objects."""
    return (
        value is None
        or isinstance(value, str | bytes)
        or not (hasattr(value, "dtype") or isinstance(value, numbers.Number | list | tuple))
    )


def matrix_or_matvec(value: Any, name: str = "a_or_matvec") -> None:
    """Reject what is neither a callable nor numeric (``None``, strings, objects), naming it."""
    if callable(value) and not hasattr(value, "shape"):
        return
    if not_an_array(value):
        raise TypeError(
            f"{name} must be a [..., n, n] matrix or a matvec function, got {type(value).__name__}"
        )


def call(jitted: Any, arrays: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """``jitted(*args, **kwargs)``; a ``TypeError`` raised by jit itself names the argument.

    The cheap dispatch path is untouched: :func:`explain_call_error` only runs on the
    error path, with ``arrays`` (name -> value, pytrees allowed) to blame.
    """
    try:
        return jitted(*args, **kwargs)
    except TypeError:
        explain_call_error(arrays)
        raise


def broadcast(shapes: Sequence[tuple[int, ...]], names: Sequence[str]) -> tuple[int, ...]:
    """Broadcast whole shapes, raising ``ValueError`` naming every argument and its shape."""
    try:
        return tuple(jnp.broadcast_shapes(*shapes))
    except ValueError:
        seen = ", ".join(f"{n} has shape {tuple(s)}" for n, s in zip(names, shapes, strict=True))
        raise ValueError(f"shapes of {' and '.join(names)} do not broadcast: {seen}") from None


def axis(value: Any, ndim: int, name: str = "axis") -> int:
    """Normalise a static integer axis against ``ndim``."""
    value = static_int(value, name)
    if not -ndim <= value < ndim:
        raise ValueError(f"{name}={value} is out of range for an array with {ndim} dimension(s)")
    return value % ndim


def _reject_non_numeric(value: Any, name: str) -> None:
    # The wording of as_inexact, so every "not a number at all" error reads the same.
    if value is None or isinstance(value, str | bytes) or callable(value):
        raise TypeError(f"{name}: expected a numeric array, got {type(value).__name__}")


def tolerance(
    value: Any,
    name: str,
    *,
    strict: bool = False,
    scalar: bool = True,
    allow_none: bool = False,
) -> Any:
    """Check a tolerance-like option (``tol``, ``rtol``, ``eps``, ``sigma``) and return it.

    Rejects strings, ``None`` (unless ``allow_none``), booleans and complex numbers with a
    ``TypeError``, non-scalars (when ``scalar``) with a ``ValueError``, and, for concrete
    values, negative (or, with ``strict``, non-positive) or NaN entries with a ``ValueError``
    that echoes the value as the user gave it. Traced values pass (value checks skipped).
    The value is returned unchanged, except that a list or tuple becomes a NumPy array.
    """
    what = "a positive real number" if strict else "a non-negative real number"
    if value is None:
        if allow_none:
            return None
    _reject_non_numeric(value, name)
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be {what}, got bool {value!r}")
    if isinstance(value, list | tuple):
        try:
            value = np.asarray(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be {what}, got {type(value).__name__}") from None
    dtype = getattr(value, "dtype", None)
    if dtype is None and not isinstance(value, numbers.Real):
        seen = f"complex {value}" if isinstance(value, numbers.Complex) else type(value).__name__
        raise TypeError(f"{name} must be {what}, got {seen}")
    if dtype is not None:
        prng = jnp.issubdtype(dtype, jax.dtypes.prng_key)
        kind = "V" if prng else np.dtype(dtype).kind
        if kind not in "iuf":
            raise TypeError(f"{name} must be {what}, got dtype {dtype}")
        if scalar and getattr(value, "ndim", 0) != 0:
            # value has a dtype, so it is an array (pyright keeps None and Real in its type).
            shape = value.shape  # pyright: ignore[reportAttributeAccessIssue, reportOptionalMemberAccess]
            raise ValueError(f"{name} must be a scalar, got shape {tuple(shape)}")
    (positive if strict else nonnegative)(value, name)
    return value


def bool_option(value: Any, name: str) -> bool:
    """A static boolean option: ``True``/``False`` (or a NumPy bool), never a truthy string."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool (True or False), got {value!r}")
    return bool(value)


def _raw_key_shape() -> tuple[int, ...]:
    # A flag with a context manager: read as an attribute (config.read refuses it), which
    # jax's stubs do not declare.
    impl = jax.config.jax_default_prng_impl  # pyright: ignore[reportAttributeAccessIssue]
    shape = _RAW_KEY_SHAPES.get(impl)
    if shape is None:
        shape = _RAW_KEY_SHAPES[impl] = tuple(jax.eval_shape(jax.random.PRNGKey, 0).shape)
    return shape


_RAW_KEY_SHAPES: dict[str, tuple[int, ...]] = {}


def prng_key(key: Any, name: str = "key", *, allow_none: bool = False) -> Any:
    """Check a single PRNG key (typed ``jax.random.key`` or raw ``jax.random.PRNGKey``).

    A typed key must have shape ``()``; a raw key is a ``uint32`` array of the default
    implementation's key shape (``(2,)`` for threefry). Works on tracers (shape and dtype
    only, no device work) and returns ``key`` unchanged.

    Raises:
      TypeError: naming ``name`` for anything else, with what was seen.
    """
    if key is None and allow_none:
        return None
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is not None and shape is not None:
        shape = tuple(shape)
        if jnp.issubdtype(dtype, jax.dtypes.prng_key):
            if shape == ():
                return key
        elif dtype == np.uint32 and shape == _raw_key_shape():
            return key
        seen = f"an array of shape {shape} and dtype {dtype}"
    else:
        seen = type(key).__name__ if not isinstance(key, numbers.Number) else repr(key)
    raise TypeError(
        f"{name} must be a single JAX PRNG key (jax.random.key(seed), or a raw uint32 "
        f"jax.random.PRNGKey of shape {_raw_key_shape()}), got {seen}"
    )
